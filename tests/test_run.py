from __future__ import annotations

import json
import textwrap
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import load_pipeline, pipeline_from_yaml
from corpusforge.engine import OutputExistsError, run_pipeline
from corpusforge.errors import StepFailed

from conftest import ROOT, read_output

runner = CliRunner()
JA = "吾輩は猫である。名前はまだ無い。"


def pipeline(tmp_path: Path, body: str, out: str = "out"):
    text = textwrap.dedent(body).replace("OUT", str(tmp_path / out)).replace("TMP", str(tmp_path))
    return pipeline_from_yaml(text)


def write_jsonl(path: Path, rows: list) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")


def test_sample_pipeline_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["run", str(ROOT / "pipelines" / "sample.yaml"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert "removed by" in r.output and "docs/s" in r.output
    stats = json.loads((tmp_path / "out/sample/stats.json").read_text())
    names = [s["name"] for s in stats["steps"]]
    assert names[0] == "read" and len(names) >= 3
    for s in stats["steps"]:
        assert s["docs_in"] == s["docs_out"] + sum(s["removed"].values()) + s["errored"], s
    out = read_output(tmp_path / "out/sample")
    assert out.num_rows == stats["docs_written"] > 0
    assert {"id", "text", "source", "url"} <= set(out.column_names)
    assert not any(c.startswith("__") for c in out.column_names)
    rej = read_output(tmp_path / "out/sample/_rejects")
    assert {"id", "step", "reason", "file", "position", "text"} <= set(rej.column_names)
    assert {"length", "dedup"} <= set(rej.column("step").to_pylist())
    r = runner.invoke(app, ["stats", str(tmp_path / "out/sample")])
    assert r.exit_code == 0 and "read" in r.output
    # in a terminal narrower than the table every figure is still shown whole, none cut to "…"
    import os
    import subprocess
    import sys

    narrow = subprocess.run([sys.executable, "-m", "corpusforge", "stats", str(tmp_path / "out/sample")],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "40"})
    assert narrow.returncode == 0, narrow.stderr
    assert "…" not in narrow.stdout and "docs/s" in narrow.stdout
    for s in stats["steps"]:
        row = next(line for line in narrow.stdout.splitlines() if line.startswith(f"│{s['name']} "))
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[1:5] == [f"{s['docs_in']:,}", f"{s['docs_out']:,}",
                              f"{sum(s['removed'].values()):,}", f"{s['errored']:,}"], row


def test_conservation_and_rejects_with_errors_across_steps(tmp_path):
    rows = [{"text": JA + "123"}, {"text": "short"}, {"text": "EXPLODE here 42 and more"}, '{"text": broken',
            {"text": "English text with digits 7 in it."}, {"text": "no digits at all, long enough"}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl, source: t}]
        steps:
          - {step: length, min_chars: 8}
          - {step: user_steps.Explode}
          - {step: user_steps.HasDigit, label: digits}
          - {step: user_steps.Upper, suffix: "!"}
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    stats = run_pipeline(p, workers=1)
    by = {s.name: s for s in stats.steps}
    assert (by["read"].docs_in, by["read"].docs_out, by["read"].errored) == (6, 5, 1)
    assert by["length"].removed == {"too_short": 1}
    assert (by["user_steps.Explode"].docs_in, by["user_steps.Explode"].errored) == (4, 1)
    assert by["digits"].removed == {"few_digits": 1}
    for s in stats.steps:
        s.check()
    out = read_output(tmp_path / "out")
    assert out.column("text").to_pylist() == [JA + "123!", "ENGLISH TEXT WITH DIGITS 7 IN IT.!"]
    errors = [orjson.loads(x) for x in (tmp_path / "out/_errors/part-00000.jsonl").read_bytes().splitlines()]
    assert [e["step"] for e in errors] == ["read", "user_steps.Explode"]
    assert errors[1]["file"] == "in.jsonl" and errors[1]["position"] > 0 and "EXPLODE" in errors[1]["snippet"]
    assert errors[1]["error"] == "ValueError"
    rejected = read_output(tmp_path / "out/_rejects")
    assert sorted(rejected.column("reason").to_pylist()) == ["few_digits", "too_short"]


def test_on_error_fail_stops_the_run(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "fine"}, {"text": "EXPLODE"}])
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps: [{step: user_steps.Explode}]
        output: {path: OUT}
        on_error: fail
        """)
    with pytest.raises(StepFailed, match="boom"):
        run_pipeline(p, workers=1)


def test_annotate_mode_keeps_everything_with_signals(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "ab"}, {"text": JA}])
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps: [{step: length, min_chars: 5, mode: annotate}]
        output: {path: OUT}
        """)
    stats = run_pipeline(p, workers=1)
    assert stats.steps[1].docs_out == 2 and not stats.steps[1].removed
    out = read_output(tmp_path / "out")
    assert out.column("length_keep").to_pylist() == [False, True]
    assert out.column("length_reason").to_pylist() == ["too_short", None]
    assert out.column("n_chars").to_pylist() == [2, len(JA)]


def test_output_independent_of_worker_count_and_refuses_to_overwrite(tmp_path):
    body = """
        inputs: [{type: demo, docs: 600, units: 4}]
        steps: [{step: normalize}, {step: length, min_chars: 40}]
        output: {path: OUT, max_shard_bytes: 20kB}
        batch: {max_docs: 20}
        """
    one = run_pipeline(pipeline(tmp_path, body, "one"), workers=1)
    two = run_pipeline(pipeline(tmp_path, body, "two"), workers=2)
    files_one = sorted(p.relative_to(tmp_path / "one").as_posix() for p in (tmp_path / "one").rglob("*.parquet"))
    files_two = sorted(p.relative_to(tmp_path / "two").as_posix() for p in (tmp_path / "two").rglob("*.parquet"))
    assert files_one == files_two and len([f for f in files_one if not f.startswith("_")]) > 4  # rolled shards
    for f in files_one:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f
    assert [s.to_dict() | {"seconds": 0} for s in one.steps] == [s.to_dict() | {"seconds": 0} for s in two.steps]
    with pytest.raises(OutputExistsError):
        run_pipeline(pipeline(tmp_path, body, "one"), workers=1)


def test_partitioned_jsonl_output(tmp_path):
    import zstandard

    write_jsonl(tmp_path / "in.jsonl", [{"text": JA, "lang": "ja"}, {"text": "hello world", "lang": "en"},
                                        {"text": "no lang"}])
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl, metadata: [lang]}]
        output: {path: OUT, format: jsonl, partition_by: lang}
        """)
    run_pipeline(p, workers=1)
    parts = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jsonl.zst"))
    assert parts == ["lang=__HIVE_DEFAULT_PARTITION__/part-00000-0000.jsonl.zst",
                     "lang=en/part-00000-0000.jsonl.zst", "lang=ja/part-00000-0000.jsonl.zst"]
    ja = zstandard.decompress((tmp_path / "out" / parts[2]).read_bytes(), max_output_size=2**20)
    assert json.loads(ja)["text"] == JA


def test_ray_style_and_datasets_style_use_of_a_step():
    import pyarrow as pa
    from datasets import Dataset

    from corpusforge.filters import LengthFilter

    f = LengthFilter(min_chars=5)
    assert f(pa.table({"text": ["ab", JA]})).column("text").to_pylist() == [JA]
    ds = Dataset.from_dict({"text": ["ab", JA, "hello there"]}).map(f.for_datasets(), batched=True)
    assert ds["text"] == [JA, "hello there"]


def test_load_pipeline_from_file_keeps_lines(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(f"inputs:\n  - type: demo\noutput:\n  path: {tmp_path}/o\n")
    pipe, doc = load_pipeline(str(p))
    assert doc.lines[("output", "path")] == 4 and pipe.output.path.endswith("/o")


def test_a_reader_failure_is_an_error_record_not_a_crash(tmp_path, monkeypatch):
    from corpusforge.io import jsonl

    write_jsonl(tmp_path / "a.jsonl", [{"text": JA}])
    write_jsonl(tmp_path / "b.jsonl", [{"text": "second file"}])
    real = jsonl._blocks

    def flaky(unit, *args):
        if unit.name == "a.jsonl":
            raise ConnectionError("server went away")
        return real(unit, *args)

    monkeypatch.setattr(jsonl, "_blocks", flaky)
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: "TMP/*.jsonl"}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    stats = run_pipeline(p, workers=1)
    assert (stats.steps[0].docs_out, stats.steps[0].errored) == (1, 1)
    err = orjson.loads((tmp_path / "out/_errors/part-00000.jsonl").read_bytes())
    assert (err["error"], err["file"]) == ("ConnectionError", "a.jsonl")


def test_keep_signals_keeps_signals_but_not_the_decision(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "ab"}, {"text": JA + "1"}, {"text": JA}])
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps:
          - {step: length, min_chars: 5, keep_signals: true}
          - {step: user_steps.HasDigit}
        output: {path: OUT}
        """)
    run_pipeline(p, workers=1)
    out = read_output(tmp_path / "out")
    assert out.column("text").to_pylist() == [JA + "1"]
    assert "n_chars" in out.column_names and "keep" not in out.column_names and "reason" not in out.column_names
    rejected = read_output(tmp_path / "out/_rejects")
    assert sorted(rejected.column("reason").to_pylist()) == ["few_digits", "too_short"]


def test_two_filters_of_one_kind_annotate_under_their_own_labels(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "ab"}, {"text": JA}, {"text": JA * 20}])
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps:
          - {step: length, min_chars: 5, mode: annotate}
          - {step: length, max_chars: 100, mode: annotate, label: not_too_long}
        output: {path: OUT}
        """)
    run_pipeline(p, workers=1)
    out = read_output(tmp_path / "out")
    assert out.column("length_reason").to_pylist() == ["too_short", None, None]
    assert out.column("not_too_long_reason").to_pylist() == [None, None, "too_long"]


def test_documents_own_keep_and_reason_fields_survive_filters(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"id": "1", "text": "long enough text", "keep": "yes", "reason": "curated"},
                                        {"id": "2", "text": "x", "keep": "no", "reason": "spam"}])
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl, metadata: [keep, reason]}]
        steps: [{step: length, min_chars: 5}]
        output: {path: OUT, format: jsonl, compression: none}
        """)
    stats = run_pipeline(p, workers=1)
    assert stats.steps[1].removed == {"too_short": 1}
    [row] = [json.loads(x) for x in (tmp_path / "out/part-00000-0000.jsonl").read_text().splitlines()]
    assert (row["keep"], row["reason"]) == ("yes", "curated")
    rejected = read_output(tmp_path / "out/_rejects")
    assert rejected.column("reason").to_pylist() == ["too_short"]


def test_per_source_inner_filters_of_one_kind_annotate_separately(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "ab"}, {"text": JA * 20}])
    p = pipeline(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl, source: a}]
        steps:
          - step: per_source
            sources: [a]
            steps:
              - {step: length, min_chars: 5, mode: annotate}
              - {step: length, max_chars: 100, mode: annotate}
        output: {path: OUT}
        """)
    stats = run_pipeline(p, workers=1)
    assert stats.steps[1].errored == 0
    out = read_output(tmp_path / "out")
    assert out.column("length_reason").to_pylist() == ["too_short", None]
    assert out.column("length#2_reason").to_pylist() == [None, "too_long"]


def test_jsonl_output_of_raw_html_is_base64(tmp_path):
    import base64

    from conftest import shared_data

    warc = shared_data("warc", "resiliparse__clueweb-quirk.warc.gz")
    p = pipeline(tmp_path, f"""
        inputs: [{{type: warc, path: {warc}}}]
        output: {{path: OUT, format: jsonl, compression: none}}
        """)
    stats = run_pipeline(p, workers=1)
    rows = [json.loads(x) for x in (tmp_path / "out/part-00000-0000.jsonl").read_text().splitlines()]
    assert len(rows) == stats.steps[-1].docs_out == 29
    assert b"<html" in base64.b64decode(rows[0]["html"]).lower()


def test_resume_after_a_finished_stage_removes_its_scratch(tmp_path):
    body = """
        inputs: [{type: demo, docs: 200, units: 2}]
        stages: [{dedup: {exact: {on: [text]}}}]
        output: {path: OUT}
        """
    run_pipeline(pipeline(tmp_path, body), workers=1)
    before = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in (tmp_path / "out").rglob("*.parquet")}
    # as if killed after the stage's marker but before its scratch was removed
    (tmp_path / "out/_work/00-dedup").mkdir(parents=True)
    (tmp_path / "out/_work/00-dedup/left.npy").write_bytes(b"x")
    (tmp_path / "out/stats.json").unlink()
    run_pipeline(pipeline(tmp_path, body), workers=1, resume=True)
    assert not (tmp_path / "out/_work").exists()
    after = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in (tmp_path / "out").rglob("*.parquet")}
    assert after == before


TWO_STAGES = """
    inputs: [{type: demo, docs: 200, units: 2}]
    stages: [{dedup: {exact: {on: [text]}}}, {stage: dedup, label: again, exact: {on: [text]}}]
    output: {path: OUT%s}
    """


def _documents(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.glob("part-*.parquet")}


def test_a_finished_run_removes_its_intermediate_documents(tmp_path):
    run_pipeline(pipeline(tmp_path, TWO_STAGES % ""), workers=1)
    out = tmp_path / "out"
    assert not (out / "_map").exists() and not (out / "_stage-0").exists()
    assert _documents(out) and (out / "stats.json").exists()
    kept = tmp_path / "kept"
    run_pipeline(pipeline(tmp_path, TWO_STAGES % ", keep_intermediate: true", out="kept"), workers=1)
    assert list((kept / "_map").glob("*.parquet")) and list((kept / "_stage-0").glob("*.parquet"))


def test_resume_after_a_kill_around_the_removal_of_intermediates(tmp_path):
    body = TWO_STAGES % ""
    first = run_pipeline(pipeline(tmp_path, body), workers=1)
    out = tmp_path / "out"
    before = _documents(out)
    # killed after the removal, before stats.json: every phase is done, nothing to read again
    (out / "stats.json").unlink()
    again = run_pipeline(pipeline(tmp_path, body), workers=1, resume=True)
    assert [s.to_dict() | {"seconds": 0} for s in again.steps] == \
        [s.to_dict() | {"seconds": 0} for s in first.steps]
    assert _documents(out) == before and (out / "stats.json").exists()
    # killed half-way through the removal, after stats.json: the resume finishes it
    (out / "_map").mkdir()
    (out / "_map/part-00000-0000.parquet").write_bytes(b"left over")
    run_pipeline(pipeline(tmp_path, body), workers=1, resume=True)
    assert not (out / "_map").exists() and _documents(out) == before


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_partition_values_round_trip_through_folder_names(tmp_path, fmt):
    langs = ["en US", "en/US", "ja", "日本", None]
    write_jsonl(tmp_path / "in.jsonl", [{"text": f"doc {i}", "lang": lang} for i, lang in enumerate(langs)])
    p = pipeline(tmp_path, f"""
        inputs: [{{type: jsonl, path: TMP/in.jsonl, metadata: [lang]}}]
        output: {{path: OUT, format: {fmt}, partition_by: lang}}
        """)
    run_pipeline(p, workers=1)
    assert len([d for d in (tmp_path / "out").iterdir() if d.name.startswith("lang=")]) == 5
    out = read_output(tmp_path / "out")
    got = dict(zip(out.column("text").to_pylist(), out.column("lang").to_pylist()))
    assert got == {f"doc {i}": lang for i, lang in enumerate(langs)}
