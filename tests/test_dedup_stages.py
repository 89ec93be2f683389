"""The global stage contract: map phase to ``_map/``, stages as resumable parallel tasks,
final output in the usual layout, accounting across the whole chain."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpusforge.accounting import StepStats
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.schema import REMOVED_REASON
from corpusforge.stages import Stage, StageConfig, StageContext
from corpusforge.yamlsource import ConfigError

from conftest import read_output


class EveryOtherConfig(StageConfig):
    #: drop documents whose global position is a multiple of this
    every: int = 2


def _every_other(item: tuple) -> dict:
    task, path, first, every, sinks = item
    table = pq.read_table(path)
    pos = pa.array(range(first, first + table.num_rows))
    drop = pc.equal(pc.bit_wise_and(pos, every - 1), 0) if every & (every - 1) == 0 else None
    assert drop is not None
    kept, removed = table.filter(pc.invert(drop)), table.filter(drop)
    w = sinks.writer(task)
    w.write(kept)
    w.commit()
    rj = sinks.rejects_writer(task)
    if rj is not None:
        removed = removed.append_column(REMOVED_REASON, pa.repeat(pa.scalar("every_other"), removed.num_rows))
        rj.write(sinks.reject_rows(removed))
        rj.commit()
    return {"in": table.num_rows, "out": kept.num_rows}


class EveryOther(Stage):
    """A global stage for the contract tests: drops every other document of the corpus."""

    name = "test_every_other"
    Config = EveryOtherConfig

    def run(self, ctx: StageContext) -> StepStats:
        firsts, n = [], 0
        for f in ctx.input_files:
            firsts.append(n)
            n += pq.ParquetFile(f).metadata.num_rows
        items = [(i, f, firsts[i], self.config.every, ctx.sinks) for i, f in enumerate(ctx.input_files)]
        results = ctx.map_tasks("drop", _every_other, items)
        st = StepStats(ctx.name, docs_in=sum(r["in"] for r in results), docs_out=sum(r["out"] for r in results))
        st.remove("every_other", st.docs_in - st.docs_out)
        return st


YAML = """
name: staged
inputs:
  - {{type: demo, docs: 300, units: 3}}
steps:
  - step: length
    min_chars: 50
stages:
  - test_dedup_stages.EveryOther: {{every: 2}}
output:
  path: {out}
  partition_by: {part}
  # the resume tests forget a finished stage, which then reads the map phase's documents again
  keep_intermediate: true
"""


def _run(tmp_path: Path, workers: int, part: str = "null", **kw):
    out = tmp_path / f"out{workers}{part}"
    pipe = pipeline_from_yaml(YAML.format(out=out, part=part))
    return out, run_pipeline(pipe, workers=workers, **kw)


def test_stage_runs_after_map_phase_with_accounting(tmp_path: Path) -> None:
    out, stats = _run(tmp_path, 1)
    names = [s.name for s in stats.steps]
    assert names == ["read", "length", "test_dedup_stages.EveryOther"]
    length, stage = stats.steps[1], stats.steps[2]
    assert stage.docs_in == length.docs_out
    assert stage.docs_out == stage.docs_in // 2
    assert stage.removed == {"every_other": stage.docs_in - stage.docs_out}
    final = read_output(out)
    assert final.num_rows == stage.docs_out
    rejects = read_output(out / "_rejects").to_pandas()
    assert set(rejects["step"]) == {"length", "test_dedup_stages.EveryOther"}
    assert (rejects["step"] == "length").sum() == sum(length.removed.values())
    assert not (out / "_map" / "_rejects").exists()
    assert (out / "stats.json").exists()


def test_last_stage_writes_the_output_partitioning(tmp_path: Path) -> None:
    # (1 vs 2 workers and Ray: tests/test_dedup_stage.py, on a real stage)
    out1, _ = _run(tmp_path, 1)
    out3, _ = _run(tmp_path, 1, part="source")
    assert [p.name for p in out3.iterdir() if p.name.startswith("source=")] == ["source=input0"]
    assert read_output(out3).num_rows == read_output(out1).num_rows
    assert not list((out3 / "_map").glob("source=*"))  # the map phase writes flat Parquet


def test_stage_resume_skips_done_tasks(tmp_path: Path) -> None:
    out, first = _run(tmp_path, 1)
    before = read_output(out)
    # forget the stage result and one task: resume reruns only what is missing
    state = out / "_state" / "stages"
    (state / "00-test_dedup_stages.EveryOther.json").unlink()
    tasks = sorted((state / "00-test_dedup_stages.EveryOther" / "drop").iterdir())
    tasks[0].unlink()
    for p in out.glob("part-00000-*"):
        p.unlink()
    again = run_pipeline(pipeline_from_yaml(YAML.format(out=out, part="null")), workers=1, resume=True)
    assert read_output(out).equals(before)
    assert again.steps[-1].to_dict() | {"seconds": 0} == first.steps[-1].to_dict() | {"seconds": 0}


def test_unknown_stage_and_bad_params_name_the_line(tmp_path: Path) -> None:
    bad = YAML.format(out=tmp_path / "x", part="null").replace("test_dedup_stages.EveryOther", "nosuchstage")
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(bad)
    assert ":9: stages[0].nosuchstage" in str(e.value)
    bad = YAML.format(out=tmp_path / "x", part="null").replace("every: 2", "evry: 2")
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(bad)
    assert "stages[0].test_dedup_stages.EveryOther.evry" in str(e.value)


def test_two_dedup_stages_in_a_row_read_back(tmp_path: Path) -> None:
    """The second stage's cluster columns replace the first one's."""
    rows = ["吾輩は猫である。名前はまだ無い。"] * 3 + [f"English text number {w} here." for w in "abcdef"]
    (tmp_path / "in.jsonl").write_text("".join(f'{{"text": "{t}"}}\n' for t in rows), encoding="utf-8")
    p = pipeline_from_yaml(f"""
inputs: [{{type: jsonl, path: {tmp_path}/in.jsonl}}]
stages:
  - dedup: {{exact: {{on: [text]}}}}
  - dedup: {{exact: {{on: [text]}}, minhash: {{threshold: 0.8}}}}
output: {{path: {tmp_path}/out}}
""")
    stats = run_pipeline(p, workers=1)
    out = read_output(tmp_path / "out")
    assert out.num_rows == stats.steps[-1].docs_out and out.column_names.count("dup_cluster_id") == 1
