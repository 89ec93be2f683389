"""Rejects carry the values their filter decided on (``reject_<signal>``), so a threshold can be
tuned from the rejects of a run without running it again."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from corpusforge.config import Pipeline
from corpusforge.engine import run_pipeline
from corpusforge.filters.gopher import GopherQuality
from corpusforge.filters.llmjp import JapaneseQuality
from corpusforge.io.output import read_output
from corpusforge.io.sinks import reject_rows
from corpusforge.langid.step import LangId
from corpusforge.schema import make_batch
from corpusforge.steps.base import Filter
from corpusforge.steps.registry import registered_steps
from corpusforge.steps.route import Route

from conftest import conserved, shared_data


def _abeja() -> list[dict]:
    data = json.loads(gzip.decompress(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    return [{"id": f"abeja-{r['sample_id']}-{len(r['text'])}", "text": r["text"], "url": r["url"]}
            for group in data.values() for r in group]


def _dolma() -> list[dict]:
    rows = []
    for f in sorted(shared_data("en", "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        rows += [json.loads(x) for x in gzip.decompress(f.read_bytes()).splitlines() if x]
    return [{"id": r["id"], "text": r["text"], "url": r["metadata"]["url"]} for r in rows]


@pytest.fixture(scope="module")
def web_batch() -> pa.Table:
    """Real Japanese and English web pages, with their language from fastText."""
    rows = _abeja()[::3] + _dolma()
    batch = make_batch([r["id"] for r in rows], [r["text"] for r in rows], "web", "pages.jsonl",
                       list(range(len(rows))), urls=[r["url"] for r in rows])
    return LangId(mode="annotate", label="lid").apply(batch).out.drop_columns(["lid_keep", "lid_reason"])


#: parameters that make a filter remove some of the pages (the others remove some by default)
STRICT = {
    "char_repetition": {"threshold": 0.05},
    "code_route": {"sources": ["web"]},
    "gopher_repetition": {"top_n_grams": [[2, 0.01]]},
    "lang_score": {"min_score": 0.99, "languages": ["ja", "en"]},
    "langid": {"keep": ["ja"]},
    "length": {"min_chars": 1000},
    "ng_words": {"words": ["の", "the"], "max_hits": 0},
    "url_filter": {"allowed_tlds": ["jp"]},
    "word_repetition": {"n": 2, "threshold": 0.05},
}
FILTERS = sorted(name for name, cls in registered_steps().items() if issubclass(cls, Filter))


def _same(a: list, b: list) -> bool:
    return all(x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
               for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_s_rejects_carry_its_signal_values(name, web_batch):
    step = registered_steps()[name](**STRICT.get(name, {}))
    if name == "langid":  # it leaves documents that have a language alone
        web_batch = web_batch.drop_columns(["lang", "lang_score"])
    result = step.apply(web_batch)
    scored = step.score(web_batch)  # every signal of every document, nothing dropped
    removed = result.removed
    assert 0 < removed.num_rows < web_batch.num_rows, name
    signals = set(scored.column_names) - set(web_batch.column_names) - {"keep", "reason"}
    signals |= step.signal_columns() or set()
    read = step.needed_columns() - {"id", "text", "source", "url"}
    rows = reject_rows(removed, name, with_text=False)
    carried = {c.removeprefix("reject_") for c in rows.column_names if c.startswith("reject_")}
    assert carried == signals | read, name
    # the values are the ones the decision was made on, document by document
    gone = pc.is_in(scored.column("id"), removed.column("id"))
    for signal in carried:
        assert _same(rows.column(f"reject_{signal}").to_pylist(),
                     scored.filter(gone).column(signal).to_pylist()), (name, signal)
    # an empty batch says which columns the rejects have, with the same types
    empty = step.apply(web_batch.slice(0, 0)).removed
    assert empty.num_rows == 0 and empty.schema == removed.schema, name


def test_lang_score_rejects_carry_the_score_and_language_they_were_cut_at(web_batch):
    # Japanese pages score 1.0 here: English is the one with scores to cut at
    removed = registered_steps()["lang_score"](min_score=0.95, languages=["en"]).apply(web_batch).removed
    rows = reject_rows(removed, "lang_score", with_text=False).to_pylist()
    assert {r["reason"] for r in rows} == {"low_lang_score", "language_not_allowed"}
    for r in rows:
        if r["reason"] == "low_lang_score":
            assert r["reject_lang"] == "en" and r["reject_lang_score"] < 0.95
        else:
            assert r["reject_lang"] == "ja" and r["reject_lang_score"] > 0.95


PIPELINE = """\
name: tune
inputs:
  - {{type: jsonl, path: {tmp}/ja.jsonl, source: abeja, url: url}}
  - {{type: jsonl, path: {tmp}/en.jsonl, source: dolma, url: url}}
steps:
  - {{step: langid, keep: [ja, en], threshold: 0.5}}
  - step: route
    label: quality
    by: lang
    branches:
      ja: [{{step: ja_quality, min_zlib_ratio: {zmin}, max_zlib_ratio: {zmax}}}]
      en: [{{step: gopher_quality, min_words: {min_words}, min_stop_words: {min_stop}}}]
output: {{path: {out}}}
"""


def _write_inputs(tmp: Path) -> None:
    for name, rows in (("ja", _abeja()), ("en", _dolma())):
        with (tmp / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _run(tmp: Path, out: str, **thresholds) -> tuple[set[str], pa.Table]:
    text = PIPELINE.format(tmp=tmp, out=tmp / out, **thresholds)
    conserved(run_pipeline(Pipeline.from_dict(yaml.safe_load(text)), workers=1))
    kept = set(read_output(str(tmp / out)).column("id").to_pylist())
    return kept, read_output(str(tmp / out), "_rejects")


def _signals(rows: pa.Table, step: Filter) -> dict[str, np.ndarray]:
    return {s: rows.column(f"reject_{s}").to_numpy(zero_copy_only=False) for s in step.adds}


def test_a_threshold_tuned_on_the_rejects_predicts_the_rerun_exactly(tmp_path):
    _write_inputs(tmp_path)
    strict = {"zmin": 0.40, "zmax": 0.60, "min_words": 400, "min_stop": 5}
    loose = {"zmin": 0.33, "zmax": 0.66, "min_words": 150, "min_stop": 3}
    kept, rejects = _run(tmp_path, "strict", **strict)
    quality = rejects.filter(pc.equal(rejects.column("step"), "quality"))

    # the new thresholds applied to the rejects' signal columns, branch by branch, with the
    # filters' own decision rules
    back: set[str] = set()
    for branch, step in (("ja", JapaneseQuality(min_zlib_ratio=loose["zmin"], max_zlib_ratio=loose["zmax"])),
                         ("en", GopherQuality(min_words=loose["min_words"], min_stop_words=loose["min_stop"]))):
        rows = quality.filter(pc.equal(quality.column("reject_branch"), branch))
        keep, _ = step.decide(rows, _signals(rows, step))
        again = set(rows.filter(pa.array(keep)).column("id").to_pylist())
        assert again and len(again) < rows.num_rows, branch  # some come back, not all
        back |= again

    rerun, _ = _run(tmp_path, "loose", **loose)
    assert rerun == kept | back


def test_route_rejects_have_one_schema_whichever_branch_removed_a_batch(web_batch):
    route = Route(by="lang", branches={"ja": [{"step": "ja_quality"}], "en": [{"step": "gopher_quality"}]})
    ja_only = web_batch.filter(pc.equal(web_batch.column("lang"), "ja"))
    en_only = web_batch.filter(pc.equal(web_batch.column("lang"), "en"))
    a = reject_rows(route.apply(ja_only).removed, "route", with_text=True)
    b = reject_rows(route.apply(en_only).removed, "route", with_text=True)
    assert a.num_rows and b.num_rows and a.schema == b.schema
    assert {"reject_kuten", "reject_n_words", "reject_branch"} <= set(a.column_names)
    assert all(r.startswith("en/gopher_quality:") for r in b.column("reason").to_pylist())
    assert all(r.startswith("ja/ja_quality:") for r in a.column("reason").to_pylist())
