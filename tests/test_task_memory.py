"""The memory each task took: measured in its own process (a new record of the process, and a
peak below an earlier record), kept in the task markers, summed per task group into stats.json
and shown by ``corpusforge stats``; a resumed run counts the tasks an earlier run finished."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from corpusforge.accounting import RunStats
from corpusforge.cli import app
from corpusforge.executors.task_memory import measured

from conftest import JA, run

MB = 2**20


def _hold(mb: int) -> int:
    """Touch ``mb`` MB for long enough to be sampled, then free it."""
    block = np.ones(mb * MB // 8)
    time.sleep(0.2)
    total = int(block[::4096].sum())
    del block
    return total


def test_a_task_s_memory_is_measured_as_a_record_and_below_one():
    first = measured(_hold)(300)
    assert first.value > 0
    assert first.growth >= 290 * MB and first.peak >= first.growth
    # the process's record is now >= 300 MB: a 120 MB task is below it, and sampled
    second = measured(_hold)(120)
    assert 110 * MB <= second.growth < 290 * MB
    small = measured(len)("ab")
    assert small.value == 2 and small.growth < 50 * MB


def test_stats_and_markers_hold_each_task_group_s_memory(tmp_path):
    src = tmp_path / "docs.jsonl"
    rows = [{"id": f"d{i}", "text": (JA if i % 2 else f"The quick brown fox, number {i % 7}.") * 20}
            for i in range(400)]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    body = """
        inputs: [{type: jsonl, path: TMP/docs.jsonl, unit_bytes: 20000}]
        steps: [{step: length, min_chars: 10}]
        stages: [{stage: dedup, exact: {on: [text]}}]
        output: {path: OUT, format: parquet}
        report: false
        """
    stats = run(tmp_path, body)
    mem = stats.memory
    assert set(mem) == {"map", "00-dedup/sign", "00-dedup/group", "00-dedup/components", "00-dedup/members",
                        "00-dedup/clusters", "00-dedup/decide", "00-dedup/write"}
    assert mem["map"]["tasks"] == stats.units > 1
    for group, m in mem.items():
        assert m["tasks"] == sum(stats.nodes[group].values()), group
        assert 0 <= m["growth"] <= m["peak"] and m["peak"] > 20 * MB, (group, m)
    written = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert RunStats.from_dict(written).memory == mem
    state = tmp_path / "out" / "_state"
    markers = sorted(state.glob("unit-*.json")) + sorted(state.glob("stages/*/*/task-*.json"))
    assert len(markers) == sum(m["tasks"] for m in mem.values()) and all(set(json.loads(p.read_text())["memory"]) == {"peak", "growth"} for p in markers)
    shown = CliRunner().invoke(app, ["stats", str(tmp_path / "out")], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "memory per task" in shown.output and "00-dedup/components" in shown.output
    # a resume of the finished run counts what the markers say
    again = run(tmp_path, body, resume=True)
    assert again.memory == mem


@pytest.mark.parametrize("bad", [{"map": {"tasks": 1, "peak": -1, "growth": 0}},
                                 {"map": {"tasks": 1, "peak": 5}}, {"map": 3}])
def test_stats_with_a_malformed_task_memory_are_refused(bad):
    with pytest.raises(ValueError, match="task_memory"):
        RunStats.from_dict({"steps": [], "task_memory": bad})
