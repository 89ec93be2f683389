"""Commands never delete or corrupt what a user has: inputs, a previous output, an index."""

from __future__ import annotations

import json
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpusforge.accounting import StepStats
from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import OutputExistsError, run_pipeline
from corpusforge.stages import Stage, StageContext
from corpusforge.yamlsource import ConfigError

from conftest import read_output

runner = CliRunner()
JA = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
EN = "It was the best of times, it was the worst of times, it was the age of wisdom."


def word(i: int) -> str:
    """A word per number: documents that differ in it are different under any dedup
    normalisation (``digits: zero`` folds digits)."""
    return "".join(chr(0x3042 + int(d)) for d in str(i))


def write_docs(path: Path, n: int, tag: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"{tag}{i}", "text": f"{JA if i % 2 else EN} {tag} {word(i)}"} for i in range(n)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def yaml_file(tmp_path: Path, body: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).replace("TMP", str(tmp_path)), encoding="utf-8")
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("output", ["TMP/data", "TMP", "TMP/data/"])
def test_overwrite_refuses_an_output_that_holds_the_input(tmp_path: Path, output: str) -> None:
    write_docs(tmp_path / "data" / "in.jsonl", 20)
    before = tree(tmp_path / "data")
    p = yaml_file(tmp_path, f"""
        inputs: [{{type: jsonl, path: TMP/data/*.jsonl}}]
        output: {{path: {output}}}
        """)
    for command in (["validate", str(p)], ["run", str(p), "--overwrite", "--workers", "1"]):
        r = runner.invoke(app, command)
        assert r.exit_code == 2, r.output
        said = " ".join(r.output.split())
        assert "p.yaml:3: output.path" in said and "holds the input file" in said
    assert tree(tmp_path / "data") == before


def test_an_output_inside_a_recursive_input_folder_is_refused(tmp_path: Path) -> None:
    """A second run would read the first one's output back as input."""
    write_docs(tmp_path / "data" / "a" / "in.jsonl", 10)
    body = """
        inputs: [{type: jsonl, path: TMP/data/**/*.jsonl}]
        output: {path: TMP/data/out, format: jsonl, compression: none}
        """
    p = yaml_file(tmp_path, body)
    assert runner.invoke(app, ["run", str(p), "--workers", "1"]).exit_code == 0  # no overlap yet
    r = runner.invoke(app, ["run", str(p), "--workers", "1", "--overwrite"])
    assert r.exit_code == 2 and "holds the input file" in " ".join(r.output.split()), r.output
    assert (tmp_path / "data" / "out" / "part-00000-0000.jsonl").exists()
    with pytest.raises(ConfigError):  # library use refuses as well
        run_pipeline(pipeline_from_yaml(p.read_text()), workers=1, overwrite=True)


def test_an_output_next_to_the_inputs_is_fine(tmp_path: Path) -> None:
    write_docs(tmp_path / "data" / "in.jsonl", 10)
    p = yaml_file(tmp_path, """
        inputs: [{type: jsonl, path: TMP/data/*.jsonl}]
        output: {path: TMP/data/out}
        """)
    assert runner.invoke(app, ["run", str(p), "--workers", "1"]).exit_code == 0
    assert runner.invoke(app, ["run", str(p), "--workers", "1", "--overwrite"]).exit_code == 0
    assert read_output(tmp_path / "data" / "out").num_rows == 10


def test_resume_refuses_inputs_that_changed_under_the_same_name(tmp_path: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 30, "old")
    p = yaml_file(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in/a.jsonl}]
        output: {path: TMP/out}
        """)
    pipe = pipeline_from_yaml(p.read_text())
    run_pipeline(pipe, workers=1)
    (tmp_path / "out" / "stats.json").unlink()
    write_docs(tmp_path / "in" / "a.jsonl", 30, "new")  # same name, same count, other bytes
    with pytest.raises(OutputExistsError, match="changed since"):
        run_pipeline(pipe, workers=1, resume=True)
    r = runner.invoke(app, ["run", str(p), "--resume", "--workers", "1"])
    assert r.exit_code == 2 and "changed since" in " ".join(r.output.split())
    assert set(read_output(tmp_path / "out").column("id").to_pylist()) == {f"old{i}" for i in range(30)}


def test_resume_with_an_empty_plan_is_refused_not_a_crash(tmp_path: Path) -> None:
    write_docs(tmp_path / "in.jsonl", 10)
    p = yaml_file(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        output: {path: TMP/out}
        """)
    run_pipeline(pipeline_from_yaml(p.read_text()), workers=1)
    (tmp_path / "out" / "_state" / "plan.json").write_bytes(b"")  # as a full disk leaves it
    r = runner.invoke(app, ["run", str(p), "--resume", "--workers", "1"])
    assert r.exit_code == 2, r.output
    assert "--overwrite" in r.output and "Traceback" not in r.output


def test_a_damaged_task_marker_is_run_again(tmp_path: Path) -> None:
    write_docs(tmp_path / "in.jsonl", 10)
    p = yaml_file(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        output: {path: TMP/out}
        """)
    first = run_pipeline(pipeline_from_yaml(p.read_text()), workers=1)
    (tmp_path / "out" / "_state" / "unit-00000.json").write_bytes(b'{"task": "unit-00000", "res')
    (tmp_path / "out" / "stats.json").unlink()
    again = run_pipeline(pipeline_from_yaml(p.read_text()), workers=1, resume=True)
    assert again.steps[-1].docs_out == first.steps[-1].docs_out == 10


def test_overwrite_keeps_the_old_output_when_the_executor_cannot_start(tmp_path: Path, monkeypatch) -> None:
    write_docs(tmp_path / "in.jsonl", 10)
    p = yaml_file(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        output: {path: TMP/out}
        """)
    assert runner.invoke(app, ["run", str(p), "--workers", "1"]).exit_code == 0
    before = tree(tmp_path / "out")
    # a Ray Client address with no client installed cannot be had (with the client, nobody
    # listening on port 1 is found out after Ray's 30 s of retries)
    monkeypatch.setitem(sys.modules, "grpc", None)
    r = runner.invoke(app, ["run", str(p), "--overwrite", "--executor", "ray",
                            "--ray-address", "ray://127.0.0.1:1"])
    assert r.exit_code == 1, r.output
    assert "run not started" in " ".join(r.output.split()) and "Traceback" not in r.output
    assert tree(tmp_path / "out") == before


def run_with_a_ray_client_address_nobody_serves(tmp_path: Path):
    write_docs(tmp_path / "in.jsonl", 10)
    p = yaml_file(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        output: {path: TMP/out}
        """)
    r = runner.invoke(app, ["run", str(p), "--executor", "ray", "--ray-address", "ray://127.0.0.1:1"],
                      env={"COLUMNS": "80"})
    return r


def test_a_ray_client_address_nobody_serves_says_why_the_run_did_not_start(tmp_path: Path) -> None:
    r = run_with_a_ray_client_address_nobody_serves(tmp_path)
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    if find_spec("grpc") is None:
        # without the Ray client (ray[client] or ray[default]): what to install
        assert lines == [
            "run not started (the output folder is untouched): ray://127.0.0.1:1 is a Ray Client "
            "address and the Ray client is not installed: pip install 'ray[client]'"]
    else:
        # with it: the real client tried, and nobody answered
        assert len(lines) == 1 and lines[0].startswith(
            "run not started (the output folder is untouched): cannot connect to the Ray cluster "
            "at ray://127.0.0.1:1: "), lines
        # and the process is out of client mode again: a later local run here still works
        from ray._private.client_mode_hook import client_mode_should_convert

        assert not client_mode_should_convert()
    assert not (tmp_path / "out").exists()


def test_ray_client_address_without_the_client_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    # as where the Ray client is not installed (the test extra installs it): no grpc to import
    monkeypatch.setitem(sys.modules, "grpc", None)
    r = run_with_a_ray_client_address_nobody_serves(tmp_path)
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines() == [
        "run not started (the output folder is untouched): ray://127.0.0.1:1 is a Ray Client "
        "address and the Ray client is not installed: pip install 'ray[client]'"]
    assert not (tmp_path / "out").exists()


DEDUP_INDEX = """
    inputs: [{type: jsonl, path: TMP/in/*.jsonl}]
    stages:
      - dedup: {exact: {on: [text]}, index: TMP/index}
    output: {path: TMP/OUT}
    """


def test_overwriting_a_run_drops_its_own_index_segment(tmp_path: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 40)
    p = pipeline_from_yaml(textwrap.dedent(DEDUP_INDEX).replace("TMP", str(tmp_path)).replace("OUT", "out"))
    first = run_pipeline(p, workers=1)
    assert first.steps[-1].docs_out == 40
    again = run_pipeline(p, workers=1, overwrite=True)
    # not deduplicated against its own earlier documents
    assert again.steps[-1].docs_out == 40
    assert read_output(tmp_path / "out").num_rows == 40
    meta = json.loads((tmp_path / "index" / "index.json").read_text())
    assert len(meta["segments"]) == 1
    assert sorted(d.name for d in (tmp_path / "index").iterdir() if d.is_dir()) == [meta["segments"][0]["name"]]
    # another output folder does dedup against the index
    other = pipeline_from_yaml(textwrap.dedent(DEDUP_INDEX).replace("TMP", str(tmp_path)).replace("OUT", "out2"))
    assert run_pipeline(other, workers=1).steps[-1].docs_out == 0


class Explode(Stage):
    """A global stage that fails: the run it is in does not succeed."""

    name = "test_explode"

    def run(self, ctx: StageContext) -> StepStats:
        raise RuntimeError("this stage always fails")


def test_an_index_segment_is_listed_only_when_the_run_succeeds(tmp_path: Path) -> None:
    write_docs(tmp_path / "in" / "a.jsonl", 40)
    body = textwrap.dedent(DEDUP_INDEX).replace("TMP", str(tmp_path)).replace("OUT", "out")
    failing = body.replace("output:", "  - test_commands_safety.Explode: {}\noutput:")
    with pytest.raises(RuntimeError, match="always fails"):
        run_pipeline(pipeline_from_yaml(failing), workers=1)
    index = tmp_path / "index" / "index.json"
    assert not index.exists() or json.loads(index.read_text())["segments"] == []
    ok = run_pipeline(pipeline_from_yaml(body), workers=1, overwrite=True)
    assert ok.steps[-1].docs_out == 40
    assert len(json.loads(index.read_text())["segments"]) == 1


def test_a_step_and_a_stage_of_one_name_keep_their_rejects_apart(tmp_path: Path) -> None:
    rows = [f"{JA} {i % 5}" for i in range(30)] + ["短い"] * 3
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in rows),
                                       encoding="utf-8")
    p = pipeline_from_yaml(textwrap.dedent("""
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps:
          - {step: length, label: dedup, min_chars: 10}
        stages:
          - dedup: {exact: {on: [text]}}
        output: {path: TMP/out}
        """).replace("TMP", str(tmp_path)))
    stats = run_pipeline(p, workers=1)
    assert [s.name for s in stats.steps] == ["read", "dedup", "dedup#2"]
    rejects = read_output(tmp_path / "out" / "_rejects")
    counted = sum(s.docs_removed for s in stats.steps)
    assert rejects.num_rows == counted == 3 + 25  # digits kept: the 30 long ones are 5 texts
    assert sorted(set(rejects.column("step").to_pylist())) == ["dedup", "dedup#2"]


def test_a_folder_input_reads_a_previous_runs_documents_only(tmp_path: Path) -> None:
    """A run's folder as the next run's input: its rejects, errors, state, scratch and stats are
    not documents."""
    rows = [f"{JA} {word(i)}" for i in range(20)] + ["短い"] * 5 + [JA] * 3
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in rows)
                                       + "{broken\n", encoding="utf-8")
    first = run_pipeline(pipeline_from_yaml(textwrap.dedent("""
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps: [{step: length, min_chars: 10}]
        stages: [{dedup: {exact: {on: [text]}}}]
        output: {path: TMP/first}
        """).replace("TMP", str(tmp_path))), workers=1)
    kept = first.steps[-1].docs_out
    assert kept == 21 and (tmp_path / "first" / "_rejects").exists() and (tmp_path / "first" / "_errors").exists()
    second = run_pipeline(pipeline_from_yaml(textwrap.dedent("""
        inputs: [{type: parquet, path: TMP/first}]
        output: {path: TMP/second}
        """).replace("TMP", str(tmp_path))), workers=1)
    assert second.steps[0].docs_in == kept and second.steps[0].errored == 0
