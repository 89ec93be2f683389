"""Presets over real data, `use:` in pipelines, the `filters` command, library use."""

from __future__ import annotations

import gzip
import json
import textwrap
from collections import Counter

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.filters import JapaneseQuality
from corpusforge.filters.code import CODE_EXTENSIONS
from corpusforge.resources import available
from corpusforge.schema import REMOVED_REASON
from corpusforge.steps.presets import build_preset
from corpusforge.yamlsource import ConfigError

PRESETS = ["code", "en-web", "ja-fineweb2", "ja-swallow", "ja-web", "ja-web-strict"]


def run_chain(name: str, table: pa.Table) -> tuple[pa.Table, Counter]:
    """Apply a preset's steps in order; return the kept rows and the reasons of the others."""
    reasons: Counter = Counter()
    for step in build_preset(name):
        res = step.apply(table)
        if res.removed is not None:
            reasons.update(f"{step.name}:{r}" for r in res.removed.column(REMOVED_REASON).to_pylist())
        assert res.out.num_rows + (res.removed.num_rows if res.removed is not None else 0) == table.num_rows
        table = res.out
    return table, reasons


@pytest.fixture(scope="module")
def abeja() -> pa.Table:
    from conftest import shared_data

    data = json.loads(gzip.decompress(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    rows = [d for group in data.values() for d in group]
    return pa.table({"text": [r["text"] for r in rows], "url": [r["url"] for r in rows]})


@pytest.fixture(scope="module")
def dolma() -> pa.Table:
    from conftest import shared_data

    rows = []
    for f in sorted(shared_data("en", "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        rows += [json.loads(x) for x in gzip.decompress(f.read_bytes()).splitlines() if x]
    return pa.table({"text": [r["text"] for r in rows], "url": [r["metadata"]["url"] for r in rows]})


def test_presets_are_shipped():
    assert set(PRESETS) <= set(available(".yaml"))


def test_ja_web_keeps_most_real_japanese_web_text(abeja):
    kept, reasons = run_chain("ja-web", abeja)
    # 99 real Common Crawl pages: 86 kept; the rest fail the compression, kuten or NG-word rules
    assert kept.num_rows >= 0.8 * abeja.num_rows
    assert set(reasons) <= {"ja_quality:zlib_ratio_low", "ja_quality:zlib_ratio_high",
                            "ja_quality:rare_kuten", "ja_quality:ng_keywords"}
    assert reasons["ja_quality:zlib_ratio_low"] >= 1  # long list-like pages compress too well
    # line extraction: every kept document is Japanese lines joined without separators
    texts = kept.column("text").to_pylist()
    assert all(texts) and not any("http://" in t or "https://" in t for t in texts)
    strict, strict_reasons = run_chain("ja-web-strict", abeja)
    assert strict.num_rows < kept.num_rows
    assert strict_reasons["ja_quality:rare_kuten"] > reasons["ja_quality:rare_kuten"]


def test_ja_web_drops_english_pages(dolma):
    kept, reasons = run_chain("ja-web", dolma)
    assert kept.num_rows == 0
    assert set(reasons) <= {"ja_quality:no_kana_in_head", "ja_quality:tld_not_allowed"}
    assert reasons["ja_quality:no_kana_in_head"] >= 15


def test_en_web_keeps_most_english_and_no_japanese(dolma, abeja):
    kept, reasons = run_chain("en-web", dolma)
    # 20 CCNet-cleaned English pages: 16 kept; dropped ones are short or list-like
    assert kept.num_rows >= 0.7 * dolma.num_rows
    assert all(r.split(":")[0] in {"gopher_repetition", "gopher_quality", "c4", "fineweb"} for r in reasons)
    kept_ja, reasons_ja = run_chain("en-web", abeja)
    assert kept_ja.num_rows == 0
    assert set(reasons_ja) <= {"gopher_quality:too_few_words", "gopher_quality:long_avg_word",
                               "gopher_repetition:top_2_gram_frac", "gopher_repetition:dup_line_frac"}


def test_ja_swallow_on_real_text(abeja):
    kept, reasons = run_chain("ja-swallow", abeja)
    # the 33 ~200-character documents are all below 400 letters
    assert reasons["swallow:too_few_letters"] == 33
    assert 20 <= kept.num_rows <= 66


def test_code_preset_on_real_files():
    from conftest import shared_data

    rows = [json.loads(x) for x in gzip.decompress(shared_data("code", "code_samples.jsonl.gz").read_bytes()).splitlines()]
    table = pa.table({"text": [r["text"] for r in rows], "path": [r["path"] for r in rows]})
    kept, reasons = run_chain("code", table)
    assert kept.num_rows >= 0.7 * table.num_rows
    scored = build_preset("code")[0].score(table)
    for path, reason in zip(scored.column("path").to_pylist(), scored.column("reason").to_pylist()):
        if reason == "extension_not_allowed":
            assert path.rsplit(".", 1)[-1] not in CODE_EXTENSIONS


# --- pipelines ----------------------------------------------------------------------------


def _pipeline(tmp_path, body: str):
    return pipeline_from_yaml(textwrap.dedent(body).replace("TMP", str(tmp_path)))


def test_use_preset_in_pipeline_with_overrides_and_conservation(tmp_path, abeja, dolma):
    rows = [{"text": t, "url": u} for t, u in zip(abeja.column("text").to_pylist(), abeja.column("url").to_pylist())]
    rows += [{"text": t, "url": u} for t, u in zip(dolma.column("text").to_pylist(), dolma.column("url").to_pylist())]
    with open(tmp_path / "in.jsonl", "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            f.write(json.dumps({"id": str(i), **r}, ensure_ascii=False) + "\n")
        f.write("{broken\n")
    p = _pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl, source: web}]
        steps:
          - use: ja-web
            overrides:
              ja_quality: {variant: strict}
          - {step: pii_mask}
        output: {path: TMP/out}
        batch: {max_docs: 40}
        """)
    names = p.step_names()
    assert names == ["ja-web:ja_normalize", "ja-web:ja_quality", "ja-web:ja_lines", "pii_mask"]
    assert p.steps[1].params["variant"] == "strict"
    stats = run_pipeline(p, workers=1)
    for s in stats.steps:
        assert s.docs_in == s.docs_out + sum(s.removed.values()) + s.errored, s
    by = {s.name: s for s in stats.steps}
    assert by["read"].errored == 1
    assert by["ja-web:ja_quality"].docs_in == 119
    assert by["ja-web:ja_quality"].removed["no_kana_in_head"] >= 15
    assert stats.to_dict()["docs_written"] == by["pii_mask"].docs_out > 40
    from conftest import read_output

    out = read_output(tmp_path / "out")
    assert out.num_rows == by["pii_mask"].docs_out and "pii_email" in out.column_names


def test_use_errors_point_at_the_use_line(tmp_path):
    body = """
        inputs: [{type: demo, docs: 10}]
        steps:
          - {step: length}
          - use: no-such-preset
          - use: ja-web
            overrides: {ja_quality: {variant: extreme}}
          - use: ja-web
            overrides: {not_a_step: {}}
        output: {path: TMP/out}
        """
    with pytest.raises(ConfigError) as e:
        _pipeline(tmp_path, body)
    lines = {i.line: i.message for i in e.value.issues}
    assert "no preset named 'no-such-preset'" in lines[5]
    # a refused override is reported at the override itself
    assert "variant" in lines[7] and "ja_quality" in lines[7]
    assert "not_a_step" in lines[9]


def test_use_accepts_a_path(tmp_path):
    (tmp_path / "mine.yaml").write_text("steps:\n  - step: length\n    min_chars: 3\n", encoding="utf-8")
    p = _pipeline(tmp_path, """
        inputs: [{type: demo, docs: 10}]
        steps:
          - use: TMP/mine.yaml
        output: {path: TMP/out}
        """)
    assert p.step_names() == ["mine:length"] and p.steps[0].params == {"min_chars": 3}


# --- CLI and library use ---------------------------------------------------------------------


def test_filters_command_lists_filters_and_presets():
    runner = CliRunner()
    r = runner.invoke(app, ["filters"])
    assert r.exit_code == 0, r.output
    for name in ("gopher_quality", "ja_quality", "swallow", "pii_mask", "code_quality", *PRESETS):
        assert name in r.output
    r = runner.invoke(app, ["filters", "--json"])
    cat = json.loads(r.output)
    assert cat["filters"]["ja_quality"]["params"]["max_ads_hits"]["default"] == 10
    assert cat["filters"]["gopher_quality"]["params"]["stop_words"]["default"][0] == "the"
    assert [s["step"] for s in cat["presets"]["ja-web"]["steps"]] == ["ja_normalize", "ja_quality", "ja_lines"]
    r = runner.invoke(app, ["filters", "ja-web"])
    assert r.exit_code == 0 and "ja_quality" in r.output
    assert runner.invoke(app, ["filters", "nope"]).exit_code == 2


def test_library_use_with_datasets():
    datasets = pytest.importorskip("datasets")
    docs = ["吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 3, "English only page here."]
    ds = datasets.Dataset.from_dict({"text": docs, "url": ["https://a.jp/x", "https://b.com/y"]})
    out = ds.map(JapaneseQuality().for_datasets(), batched=True)
    assert out["text"] == docs[:1]
    annotated = ds.map(JapaneseQuality(mode="annotate").for_datasets(), batched=True)
    assert annotated["ja_quality_reason"] == [None, "no_kana_in_head"]


@pytest.mark.slow
def test_library_use_with_ray_data():
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 _node_ip_address="127.0.0.1")
    try:
        docs = ["吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 3, "English only page here."]
        ds = ray.data.from_arrow(pa.table({"text": docs}))
        kept = ds.map_batches(JapaneseQuality(), batch_format="pyarrow").take_all()
        assert [r["text"] for r in kept] == docs[:1]
    finally:
        if started:
            ray.shutdown()
