"""Progress inside a map unit: a run of one big unit (Japanese and English documents) held
half-way by a step reports documents and bytes read before the unit ends, and the command
line's units bar has moved part of the way, with a time left."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

from rich.console import Console

from corpusforge.cli.report import RunProgress
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.io.inputs import plan_units

from conftest import conserved

JA = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
EN = "A master of a house took a cat in, and the cat watched the people of the house."


def wait_for(what, done) -> None:
    """Wait until ``done()``; a guard against a hang, not a measurement."""
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_a_unit_reports_progress_before_it_ends(tmp_path: Path) -> None:
    src = tmp_path / "one.jsonl"
    rows = [{"id": f"d{i}", "text": (JA if i % 2 else EN) * (1 + i % 5)} for i in range(600)]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    hold = tmp_path / "hold"
    hold.mkdir()
    pipeline = pipeline_from_yaml(f"""
inputs: [{{type: jsonl, path: "{src}", unit_bytes: 1GB}}]
steps:
  - {{step: user_steps.Hold, folder: "{hold}", from_pos: {src.stat().st_size // 2}}}
output: {{path: "{tmp_path / 'out'}"}}
batch: {{max_docs: 40}}
""")
    units = plan_units(pipeline.inputs)
    assert len(units) == 1
    view = RunProgress(Console(file=io.StringIO(), width=200), enabled=True)
    view.plan(units)
    seen: list[tuple[int, int, bool]] = []
    ended = threading.Event()

    def on_progress(unit, docs: int, nbytes: int) -> None:
        seen.append((docs, nbytes, ended.is_set()))
        view.unit_progress(unit, docs, nbytes)

    def on_done(unit, stats) -> None:
        ended.set()
        view.unit_done(unit, stats)

    result: dict = {}
    with view:
        run = threading.Thread(target=lambda: result.update(stats=run_pipeline(
            pipeline, units=units, on_start=view.start, on_done=on_done, on_progress=on_progress)))
        run.start()
        try:
            wait_for("the unit is held", lambda: any(p.name.startswith("running-") for p in hold.iterdir()))
            wait_for("progress of the held unit", lambda: bool(seen))
            docs, nbytes, after_end = seen[-1]
            bar = view.progress.tasks[0]
            assert not after_end and 0 < docs < len(rows) and nbytes > 0
            # the bar moved within the unit, and says how long the rest takes
            assert 0 < bar.completed < 1 and bar.fields["eta"] is not None
            assert f"{docs:,} docs" == bar.fields["docs"] and "docs/s" in bar.fields["rate"]
        finally:
            (hold / "go").touch()
            run.join()
    stats = conserved(result["stats"])
    assert stats.steps[0].docs_in == len(rows) and view.progress.tasks[0].completed == 1
    assert all(not after for _, _, after in seen)  # nothing reported once the unit ended
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    assert not (tmp_path / "out" / "_state" / "progress").exists()
