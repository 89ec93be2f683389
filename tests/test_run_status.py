"""``_state/status.json`` says where a run is: running, succeeded, failed, interrupted; a run
killed outright stays ``running`` with a stale lock, which the next ``--resume`` takes over."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from typer.testing import CliRunner

from corpusforge.cli import app

import held_run
from conftest import EN, JA

runner = CliRunner()


def stats_of(out: Path) -> str:
    r = runner.invoke(app, ["stats", str(out)], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    return r.output


def lock_files(out: Path) -> list[Path]:
    folder = out / "_state" / "lock"
    return sorted(folder.glob("gen-*.json")) if folder.exists() else []


def test_a_run_that_succeeds(tmp_path):
    lines = [json.dumps({"id": f"d{i}", "text": f"{JA if i % 2 else EN} {i}"}, ensure_ascii=False)
             for i in range(40)]
    lines[7] = lines[7][:15]  # one bad line: within the budget
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(f"inputs: [{{type: jsonl, path: {tmp_path}/in.jsonl}}]\n"
                                     f"steps: [{{step: length, min_chars: 30}}]\n"
                                     f"output: {{path: {tmp_path}/out}}\n")
    r = runner.invoke(app, ["run", str(tmp_path / "p.yaml"), "--workers", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    status = held_run.read_status(tmp_path / "out")
    assert (status["state"], status["exit_code"], status["last_error"]) == ("succeeded", 0, None)
    assert status["started_at"] <= status["ended_at"]
    assert status["units"] == {"total": 1, "done": 1}
    assert (status["error_records"], status["errors"]) == (1, f"{tmp_path}/out/_errors")
    final = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert [s["docs_out"] for s in status["stats"]["steps"]] == [s["docs_out"] for s in final["steps"]]
    assert (status["pid"], status["resumed"]) == (os.getpid(), False)
    assert lock_files(tmp_path / "out") == []
    shown = stats_of(tmp_path / "out")
    assert "run: succeeded (exit code 0)" in shown
    assert f"units done: 1 of 1; error records: 1 in {tmp_path}/out/_errors" in shown
    assert "(so far)" not in shown


def test_a_run_that_fails(tmp_path):
    rows = [{"id": f"d{i}", "text": f"{JA} {i}" + (" EXPLODE" if i == 5 else "")} for i in range(10)]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in rows) + "\n")
    (tmp_path / "p.yaml").write_text(f"inputs: [{{type: jsonl, path: {tmp_path}/in.jsonl}}]\n"
                                     "steps: [{step: user_steps.Explode}]\n"
                                     f"output: {{path: {tmp_path}/out}}\non_error: fail\n")
    r = runner.invoke(app, ["run", str(tmp_path / "p.yaml"), "--workers", "1", "--quiet"])
    assert r.exit_code == 1, r.output
    status = held_run.read_status(tmp_path / "out")
    assert (status["state"], status["exit_code"]) == ("failed", 1)
    assert status["last_error"] == {"type": "StepFailed", "message": "step 'user_steps.Explode' failed: "
                                    "ValueError: boom: a document this step cannot handle"}
    assert status["ended_at"] is not None and status["units"]["done"] == 0
    shown = stats_of(tmp_path / "out")
    assert "run: failed (exit code 1)" in shown
    assert "last error: StepFailed: step 'user_steps.Explode' failed" in shown
    assert "(so far)" in shown  # no stats.json: the counts come from the status


def test_running_then_ctrl_c(tmp_path):
    p, flag = held_run.write_pipeline(tmp_path)
    proc = held_run.start(tmp_path, "p.yaml", "--workers", "1")
    status = held_run.wait_running(proc, tmp_path / "out")
    assert status["units"]["total"] == 12 and status["phase"] == "map" and status["ended_at"] is None
    assert status["pid"] == proc.pid
    shown = stats_of(tmp_path / "out")
    assert "run: running" in shown and "its process is alive" in shown and "(so far)" in shown
    # as a terminal's Ctrl-C: the whole process group
    os.killpg(proc.pid, signal.SIGINT)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, out
    assert out.strip().splitlines()[-1] == "interrupted; to continue where it stopped: corpusforge run p.yaml --resume"
    status = held_run.read_status(tmp_path / "out")
    assert (status["state"], status["exit_code"], status["last_error"]) == ("interrupted", 130, None)
    assert status["units"]["done"] < 12
    assert lock_files(tmp_path / "out") == []  # released
    assert "run: interrupted (exit code 130)" in stats_of(tmp_path / "out")


def test_kill_9_leaves_running_and_a_stale_lock_that_resume_takes_over(tmp_path):
    p, flag = held_run.write_pipeline(tmp_path)
    proc = held_run.start(tmp_path, "p.yaml", "--workers", "2")
    held_run.wait_running(proc, tmp_path / "out", units=2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    status = held_run.read_status(tmp_path / "out")
    assert (status["state"], status["exit_code"], status["ended_at"]) == ("running", None, None)
    [lock] = lock_files(tmp_path / "out")
    assert json.loads(lock.read_text())["pid"] == proc.pid
    shown = stats_of(tmp_path / "out")
    assert "run: running" in shown and "no live process holds the output" in shown

    flag.unlink()  # the rest runs at full speed
    r = runner.invoke(app, ["run", str(p), "--workers", "1", "--quiet", "--resume"])
    assert r.exit_code == 0, r.output
    status = held_run.read_status(tmp_path / "out")
    assert (status["state"], status["exit_code"], status["resumed"]) == ("succeeded", 0, True)
    assert status["took_over_from"]["pid"] == proc.pid
    assert status["units"] == {"total": 12, "done": 12}
    final = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert final["steps"][0]["docs_in"] == 1200 == status["stats"]["steps"][0]["docs_in"]
    assert lock_files(tmp_path / "out") == []
