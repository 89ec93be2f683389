"""The run log: ``OUT/_logs/run.log`` has a line per task queued and done (counts, node) and a
warning for error records; the terminal shows only what ``--log-level`` asks for."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from corpusforge.cli import app

from report_data import pipeline, write_input


def test_run_log_and_log_level(tmp_path):
    src = write_input(tmp_path / "web.jsonl")
    with src.open("a", encoding="utf-8") as f:
        f.write('{"id": "broken", "text": "壊れた行 \x1b[2J\n')  # a malformed line: an error record
    (tmp_path / "p.yaml").write_text(pipeline(src, tmp_path / "out", report=False))
    quiet = CliRunner().invoke(app, ["run", str(tmp_path / "p.yaml"), "--quiet", "--workers", "1"],
                               env={"COLUMNS": "200"})
    assert quiet.exit_code == 0, quiet.output
    assert "queued" not in quiet.output and "INFO" not in quiet.output  # quiet by default
    assert "error record" in quiet.output  # a warning is shown
    log = (tmp_path / "out" / "_logs" / "run.log").read_text(encoding="utf-8")
    queued = re.findall(r"map: task (unit-\d+) queued", log)
    done = re.findall(r"map: task (unit-\d+) done on (\S+): (\d+) docs in, (\d+) out, (\d+) removed, (\d+) errored", log)
    assert len(queued) > 1 and sorted(queued) == sorted(u for u, *_ in done)
    import json

    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert sum(int(d[2]) for d in done) == stats["steps"][0]["docs_in"]
    assert sum(int(d[3]) for d in done) == stats["steps"][-1]["docs_out"]
    assert sum(int(d[5]) for d in done) == sum(s["errored"] for s in stats["steps"]) == 1
    assert re.search(r"WARNING .*1 document\(s\) became error records", log)
    assert "\x1b" not in log
    # asked for, the terminal shows the task lines too; --overwrite starts a new log with the folder
    loud = CliRunner().invoke(app, ["run", str(tmp_path / "p.yaml"), "--quiet", "--workers", "1", "--overwrite",
                                    "--log-level", "info"], env={"COLUMNS": "200"})
    assert loud.exit_code == 0, loud.output
    assert "queued" in loud.output and "done on" in loud.output
    again = (tmp_path / "out" / "_logs" / "run.log").read_text(encoding="utf-8")
    assert len(re.findall(r"map: task unit-\d+ queued", again)) == len(queued)  # the old folder was cleared


def test_progress_has_a_bar_per_stage_task_group():
    """The records the stages' tasks log move a bar per task group (the map phase has the units)."""
    import io
    import logging

    from rich.console import Console

    from corpusforge.cli.report import RunProgress

    progress = RunProgress(Console(file=io.StringIO(), width=160), enabled=True)
    log = logging.getLogger("corpusforge.stages.context")
    log.addHandler(progress.handler)
    old = log.level
    log.setLevel(logging.INFO)
    try:
        with progress:
            log.info("x", extra={"task_group": "map", "tasks": 4, "done_earlier": 0})
            log.info("x", extra={"task_group": "00-dedup/sign", "tasks": 3, "done_earlier": 1})
            for label in ("task-00001", "task-00002"):
                log.info("x", extra={"task_group": "00-dedup/sign", "task_done": label})
    finally:
        log.removeHandler(progress.handler)
        log.setLevel(old)
    (bar,) = progress.progress.tasks
    assert bar.description == "00-dedup/sign" and (bar.completed, bar.total) == (3, 3)
