"""One writer per output: a second run on an output a live run holds is refused (exit code 4);
a lock left by a dead run is taken over; the lock works through fsspec (tested on S3 too)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from s3server import S3Server
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.engine.lock import LockLost, OutputLock, OutputLocked, _machine
from corpusforge.io.layout import OutputLayout

import held_run

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["run", *map(str, args), "--workers", "1", "--quiet"], env={"COLUMNS": "250"})


def plant_lock(out: Path, **owner) -> Path:
    """A lock file as another run would have left it."""
    folder = out / "_state" / "lock"
    folder.mkdir(parents=True)
    record = {"host": "elsewhere", "machine": "elsewhere|0|", "pid": 4242, "pid_start": 0.0,
              "run": "r" * 32, "started_at": "2026-01-01T03:00:00+00:00", "heartbeat": time.time(),
              "heartbeat_at": "2026-01-01T03:00:00+00:00", **owner}
    (folder / "gen-00000.json").write_text(json.dumps(record))
    return folder / "gen-00000.json"


def test_a_second_run_on_a_live_runs_output_is_refused(tmp_path):
    p, flag = held_run.write_pipeline(tmp_path)
    first = held_run.start(tmp_path, "p.yaml", "--workers", "1")
    try:
        held_run.wait_running(first, tmp_path / "out")
        for flags in ([], ["--resume"], ["--overwrite"]):
            r = run(p, *flags)
            assert r.exit_code == 4, (flags, r.output)
            assert f"the output {tmp_path}/out is being written by another run (host {socket.gethostname()}, " \
                   f"pid {first.pid}, started " in r.output
            assert "one output has one writer" in r.output
        # the refused runs touched nothing: the first one still holds its output and finishes
        assert held_run.read_status(tmp_path / "out")["pid"] == first.pid
    finally:
        flag.unlink()
    assert first.wait(timeout=300) == 0, first.stdout.read()
    status = held_run.read_status(tmp_path / "out")
    assert (status["state"], status["pid"], status["units"]["done"]) == ("succeeded", first.pid, 12)


def test_a_lock_of_a_dead_process_on_this_machine_is_taken_over(tmp_path):
    p, flag = held_run.write_pipeline(tmp_path)
    flag.unlink()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    plant_lock(tmp_path / "out", host=socket.gethostname(), machine=_machine(), pid=gone.pid,
               heartbeat=time.time())
    r = run(p)
    assert r.exit_code == 0, r.output
    status = held_run.read_status(tmp_path / "out")
    assert status["took_over_from"]["pid"] == gone.pid and status["state"] == "succeeded"
    assert not (tmp_path / "out" / "_state" / "lock").exists()


def test_a_pid_now_used_by_another_process_does_not_hold_the_lock(tmp_path):
    p, flag = held_run.write_pipeline(tmp_path)
    flag.unlink()
    # this very process's pid, recorded with another start time: an earlier process that had it
    plant_lock(tmp_path / "out", host=socket.gethostname(), machine=_machine(), pid=os.getpid(),
               pid_start=1.0)
    assert run(p).exit_code == 0


def test_another_machines_lock_is_taken_over_only_once_its_heartbeat_is_old(tmp_path):
    p, flag = held_run.write_pipeline(tmp_path)
    flag.unlink()
    lock = plant_lock(tmp_path / "out", heartbeat=time.time())
    r = run(p)
    assert r.exit_code == 4, r.output
    assert "(host elsewhere, pid 4242, started 2026-01-01T03:00:00+00:00, last heartbeat 0 s ago" in r.output
    assert "after 600 s without a heartbeat from another one" in r.output
    assert not (tmp_path / "out" / "_state" / "status.json").exists()

    lock.write_text(json.dumps({**json.loads(lock.read_text()), "heartbeat": time.time() - 3600}))
    r = run(p)
    assert r.exit_code == 0, r.output
    assert held_run.read_status(tmp_path / "out")["took_over_from"]["host"] == "elsewhere"


def test_an_unreadable_lock_file_is_taken_over(tmp_path):
    p, flag = held_run.write_pipeline(tmp_path)
    flag.unlink()
    (tmp_path / "out" / "_state" / "lock").mkdir(parents=True)
    (tmp_path / "out" / "_state" / "lock" / "gen-00003.json").write_bytes(b"")  # killed while creating it
    assert run(p).exit_code == 0


def test_the_heartbeat_goes_on_and_a_takeover_is_noticed(tmp_path):
    layout = OutputLayout(str(tmp_path / "out"))
    lock = OutputLock(layout, heartbeat=0.05)
    lock.acquire()
    try:
        path = tmp_path / "out" / "_state" / "lock" / "gen-00000.json"
        first = json.loads(path.read_text())["heartbeat"]
        deadline = time.monotonic() + 60
        while json.loads(path.read_text())["heartbeat"] == first:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # the same process asks again: its own run holds the output
        with pytest.raises(OutputLocked, match="being written by another run"):
            OutputLock(layout).acquire()
        # another run took the output over (this one was thought dead)
        (path.parent / "gen-00001.json").write_text(json.dumps({"host": "elsewhere", "heartbeat": time.time()}))
        deadline = time.monotonic() + 60
        while True:
            try:
                lock.check()
            except LockLost as e:
                assert f"another run took the output {tmp_path}/out over (its lock, " in str(e)
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        lock.release()
    # the lock it lost is not its to remove
    assert (path.parent / "gen-00001.json").exists()


def test_the_lock_on_s3():
    with S3Server() as s3:
        layout = OutputLayout(f"{s3.bucket('nightly')}/ja-2026-01")
        folder = "nightly/ja-2026-01/_state/lock"
        with OutputLock(layout) as lock:
            assert s3.fs.ls(folder, detail=False) == [f"{folder}/gen-00000.json"]
            with pytest.raises(OutputLocked, match="being written by another run"):
                OutputLock(layout).acquire()
            assert lock.holder().alive
        assert not s3.fs.exists(f"{folder}/gen-00000.json")
        # a dead run's lock (another machine, an old heartbeat) is taken over: the next generation
        s3.fs.pipe(f"{folder}/gen-00000.json", json.dumps({"host": "elsewhere", "heartbeat": 0}).encode())
        with OutputLock(layout) as lock:
            assert lock.generation == 1 and lock.took_over["host"] == "elsewhere"
            assert s3.fs.ls(folder, detail=False) == [f"{folder}/gen-00001.json"]
