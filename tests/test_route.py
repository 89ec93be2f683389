"""route: per-branch chains chosen by a column, order kept, branch-named reasons and rejects, and
a mixed ja/en/code crawl cleaned per language exactly as each language's chain alone cleans it."""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.schema import REMOVED_REASON
from corpusforge.steps.build import build_step
from corpusforge.steps.route import BRANCH_COLUMN, Route
from corpusforge.yamlsource import ConfigError

from conftest import read_output, shared_data

JA_OK = ("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で"
         "ニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。")


def _batch() -> pa.Table:
    return pa.table({
        "id": ["a", "b", "c", "d", "e", "f", "g"],
        "text": [JA_OK, "Short English.", "短い", "def f():\n    return 1\n", "x" * 300, "Bonjour.", JA_OK],
        "source": ["web"] * 7,
        "url": ["https://example.jp/a", None, "https://example.jp/c", None, None, None, "https://example.jp/g"],
        "lang": ["ja", "en", "ja", "code", "en", "fr", None],
    })


def _ids(table: pa.Table) -> list[str]:
    return table.column("id").to_pylist()


def test_each_branch_runs_its_chain_and_rows_keep_their_order():
    step = Route(by="lang", branches={
        "ja": [{"use": "ja-web"}],
        "en": [{"step": "length", "min_chars": 100}],
    })
    r = step.apply(_batch())
    # c too short for ja-web, b for the en length rule; d, f, g have no branch and pass
    assert _ids(r.out) == ["a", "d", "e", "f", "g"]
    reasons = dict(zip(_ids(r.removed), r.removed.column(REMOVED_REASON).to_pylist()))
    assert reasons["b"] == "en/length:too_short"
    assert reasons["c"].startswith("ja/ja-web:")
    assert dict(zip(_ids(r.removed), r.removed.column(BRANCH_COLUMN).to_pylist())) == {"b": "en", "c": "ja"}


def test_unmatched_rows_are_kept_or_dropped_as_configured():
    branches = {"ja": {"values": ["ja"], "steps": []}, "code": []}
    kept = Route(by="lang", branches=branches).apply(_batch())
    assert kept.removed is None and kept.out.num_rows == 7
    dropped = Route(by="lang", branches=branches, unmatched="drop").apply(_batch())
    assert _ids(dropped.out) == ["a", "c", "d"]
    assert set(dropped.removed.column(REMOVED_REASON).to_pylist()) == {"no_branch"}
    assert _ids(dropped.removed) == ["b", "e", "f", "g"]  # a null value has no branch either


def test_a_branch_takes_several_values_and_drop_where():
    step = Route(by="lang", branches={"latin": {"values": ["en", "fr"], "steps": [{"step": "length", "min_chars": 20}],
                                                "drop_where": {"text": ["Bonjour."]}}})
    r = step.apply(_batch())
    assert _ids(r.out) == ["a", "c", "d", "e", "g"]
    assert dict(zip(_ids(r.removed), r.removed.column(REMOVED_REASON).to_pylist())) == {
        "f": "latin/text=Bonjour.", "b": "latin/length:too_short"}


def test_routing_by_any_column_and_non_string_values():
    batch = _batch().append_column("status", pa.array([200, 404, 200, 200, 500, 200, 200]))
    r = Route(by="status", branches={"ok": {"values": [200], "steps": []}}, unmatched="drop").apply(batch)
    assert _ids(r.out) == ["a", "c", "d", "f", "g"]
    r = Route(by="source", branches={"web": [{"step": "length", "min_chars": 10}]}).apply(batch)
    assert _ids(r.removed) == ["c", "f"]


def test_every_batch_has_the_columns_of_every_branch():
    # a shard keeps the columns of its first batch: a branch without rows in a batch must still
    # add its (null) columns, in the same order
    step = Route(by="lang", branches={"ja": [{"step": "length", "mode": "annotate", "label": "ja_len"}],
                                      "en": [{"step": "pii_mask"}]})
    full = step.apply(_batch()).out
    only_fr = step.apply(_batch().filter(pa.array([False] * 5 + [True, False]))).out
    assert only_fr.schema == full.schema
    assert {"ja_len_keep", "n_chars", "pii_email"} <= set(full.column_names)
    assert only_fr.column("ja_len_keep").to_pylist() == [None]


def test_bad_routes_are_refused_up_front():
    with pytest.raises(ValidationError, match="both branch"):
        Route(branches={"ja": [], "also": {"values": ["ja"]}})
    with pytest.raises(ValidationError, match=r"branches\.ja\.steps\.0\.min_chars"):
        Route(branches={"ja": [{"step": "length", "min_chars": "many"}]})
    with pytest.raises(ValidationError):
        Route(branches={})


def test_a_failing_inner_step_names_its_branch(tmp_path):
    step = Route(by="lang", branches={"ja": [{"step": "user_steps.Explode", "marker": "短い", "label": "inner"}]})
    with pytest.raises(ValueError, match="boom") as e:
        step.apply(_batch())
    assert e.value.__notes__ == ["in branch 'ja', inner step 'inner'"]
    # in a run, the failing document becomes an error record and the others go on
    rows = [{"id": r["id"], "text": r["text"], "lang": r["lang"]} for r in _batch().to_pylist()]
    _write(tmp_path / "in.jsonl", rows)
    out = _run(tmp_path, "out", tmp_path / "in.jsonl", "- {step: route, branches: {ja: "
               "[{step: user_steps.Explode, marker: 短い, label: inner}]}}\n",
               top="max_error_fraction: 0.2\n")  # one of seven documents errors
    assert _ids(out) == ["a", "b", "d", "e", "f", "g"]
    [error] = [json.loads(x) for x in (tmp_path / "out/_errors/part-00000.jsonl").read_text().splitlines()]
    assert error["id"] == "c" and error["step"] == "route"
    assert "in branch 'ja', inner step 'inner'" in error["traceback"]


def test_declared_columns_follow_the_branches():
    step = build_step({"step": "route", "by": "code_lang", "branches": {
        "python": [{"step": "lang_score", "languages": ["en"]}], "c": [{"step": "length", "mode": "annotate"}]}})
    assert step.needed_columns() == {"code_lang", "lang", "lang_score"}
    assert step.added_columns() == {"n_chars", "n_bytes", "length_keep", "length_reason"}


JSONL = "inputs: [{type: jsonl, path: in.jsonl, source: web}]\noutput: {path: out}\n"


def test_validate_needs_the_routing_column_and_reports_inner_errors_at_their_key():
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(JSONL + "steps:\n  - {step: route, branches: {ja: [{use: ja-web}]}}\n")
    [issue] = e.value.issues
    assert (issue.line, issue.dotted()) == (4, "steps[0]")
    assert issue.message == "route: no 'lang' column: add a langid step before it"
    pipeline_from_yaml(JSONL + "steps:\n  - step: langid\n  - {step: route, branches: {ja: [{use: ja-web}]}}\n")
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(JSONL + textwrap.dedent("""\
            steps:
              - step: langid
              - step: route
                branches:
                  ja: [{step: nosuch}]
            """))
    [issue] = e.value.issues
    # at the inner entry's own key and line (the branch is written as its list of steps)
    assert issue.dotted() == "steps[1].branches.ja.steps[0].step" and issue.line == 7
    assert "unknown step 'nosuch'" in issue.message


# --- the mixed crawl: each language cleaned as its chain alone cleans it ----------------------


def _mixed_rows() -> list[dict]:
    """Real Japanese web pages, English web pages and source files, interleaved."""
    data = json.loads(gzip.decompress(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    ja = [{"text": d["text"], "url": d["url"]} for group in data.values() for d in group]
    en = []
    for f in sorted(shared_data("en", "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        en += [{"text": r["text"], "url": r["metadata"]["url"]}
               for r in map(json.loads, gzip.decompress(f.read_bytes()).splitlines())]
    code = [{"text": r["text"], "path": r["path"]} for r in
            map(json.loads, gzip.decompress(shared_data("code", "code_samples.jsonl.gz").read_bytes()).splitlines())]
    rows, groups = [], [ja, en, code]
    for i in range(max(map(len, groups))):
        rows += [g[i] for g in groups if i < len(g)]
    return [{"id": f"doc{i:04d}", **r} for i, r in enumerate(rows)]


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _run(tmp_path: Path, name: str, inputs: Path, steps: str, top: str = "") -> pa.Table:
    head = (f"inputs: [{{type: jsonl, path: {inputs}, source: crawl, metadata: [path, lang]}}]\n"
            f"batch: {{max_docs: 64}}\noutput: {{path: {tmp_path / name}}}\n{top}steps:\n")
    run_pipeline(pipeline_from_yaml(head + textwrap.indent(steps, "  ")), workers=1)
    return read_output(tmp_path / name)


#: the preset each language is cleaned with
CHAINS = {"ja": "ja-web", "en": "en-web", "code": "code"}
FRONT = """\
- {step: code_route, path_column: path}
- step: langid
"""


def test_per_language_chains_keep_what_each_chain_alone_keeps(tmp_path):
    rows = _mixed_rows()
    _write(tmp_path / "mixed.jsonl", rows)
    branches = "".join(f"\n      {lang}: [{{use: {preset}}}]" for lang, preset in CHAINS.items())
    routed = _run(tmp_path, "routed", tmp_path / "mixed.jsonl",
                  FRONT + f"- step: route\n  by: lang\n  unmatched: drop\n  branches:{branches}\n")
    # the same documents, labelled by the same front steps, each language through its chain alone
    front = _run(tmp_path, "front", tmp_path / "mixed.jsonl", FRONT)
    langs = front.column("lang").to_pylist()
    for lang, preset in CHAINS.items():
        mine = [{"id": r["id"], "text": r["text"], "url": r["url"], "path": r["path"], "lang": lang}
                for r, lg in zip(front.to_pylist(), langs) if lg == lang]
        assert len(mine) >= 15, lang
        _write(tmp_path / f"{lang}.jsonl", mine)
        alone = _run(tmp_path, f"alone-{lang}", tmp_path / f"{lang}.jsonl", f"- use: {preset}\n")
        got = routed.filter(pa.compute.equal(routed.column("lang"), lang))
        assert 0 < alone.num_rows < len(mine), lang  # the chain removes some, keeps some
        assert _ids(got) == _ids(alone), lang
        assert got.column("text").to_pylist() == alone.column("text").to_pylist(), lang
    # rows keep their input order across languages
    assert _ids(routed) == sorted(_ids(routed))
    assert set(routed.column("lang").to_pylist()) == set(CHAINS)
