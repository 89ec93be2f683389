"""Kill -9 in the middle of a run, restart with --resume: identical output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

PIPELINE = """\
inputs:
  - {{type: demo, docs: 2400, units: 12}}
steps:
  - {{step: normalize}}
  - {{step: tests_user_steps.Slow, seconds: 0.1}}
  - {{step: length, min_chars: 40}}
output: {{path: {out}, max_shard_bytes: 50kB}}
batch: {{max_docs: 50}}
"""


def cli(*args: str, cwd: Path, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cwd), str(ROOT)]))
    return subprocess.Popen([sys.executable, "-m", "corpusforge.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **kw)


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_state" not in p.parts and "_logs" not in p.parts
            and p.name not in ("stats.json", "report.html")}


def counts(out: Path) -> list[dict]:
    steps = json.loads((out / "stats.json").read_text())["steps"]
    return [{k: v for k, v in s.items() if k != "seconds"} for s in steps]


@pytest.mark.slow
def test_kill_9_then_resume_gives_identical_output(tmp_path):
    # the step module must be importable by the CLI subprocess and its workers
    (tmp_path / "tests_user_steps.py").write_text((ROOT / "tests" / "user_steps.py").read_text())
    for name in ("full", "killed"):
        (tmp_path / f"{name}.yaml").write_text(PIPELINE.format(out=tmp_path / name))

    full = cli("run", "full.yaml", "--workers", "2", "--quiet", cwd=tmp_path)
    assert full.wait(timeout=300) == 0, full.stdout.read().decode()

    victim = cli("run", "killed.yaml", "--workers", "2", "--quiet", cwd=tmp_path)
    state = tmp_path / "killed" / "_state"
    deadline = time.time() + 120
    while time.time() < deadline:
        done = len(list(state.glob("unit-*.json"))) if state.exists() else 0
        if done >= 3:
            break
        assert victim.poll() is None, victim.stdout.read().decode()
        time.sleep(0.02)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    done = len(list(state.glob("unit-*.json")))
    assert 3 <= done < 12, "the run must be killed half-way"
    assert not (tmp_path / "killed" / "stats.json").exists()

    again = cli("run", "killed.yaml", "--workers", "2", "--quiet", cwd=tmp_path)
    assert again.wait(timeout=300) != 0  # refuses to touch a non-empty output without --resume
    resumed = cli("run", "killed.yaml", "--workers", "2", "--quiet", "--resume", cwd=tmp_path)
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read().decode()

    a, b = snapshot(tmp_path / "full"), snapshot(tmp_path / "killed")
    assert sorted(a) == sorted(b)
    assert not any(name.endswith(".tmp") for name in b)
    for name in a:
        assert a[name] == b[name], name
    assert counts(tmp_path / "full") == counts(tmp_path / "killed")


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_say_how_to_resume(tmp_path, stop):
    """Ctrl-C (SIGINT to the process group) and a scheduler's stop (SIGTERM to the run's
    process only, as systemd, Kubernetes and `ray job stop` send it) stop the run with its
    status saying so, and it resumes."""
    (tmp_path / "tests_user_steps.py").write_text((ROOT / "tests" / "user_steps.py").read_text())
    (tmp_path / "p.yaml").write_text(PIPELINE.format(out=tmp_path / "out"))
    run = cli("run", "p.yaml", "--workers", "2", "--quiet", cwd=tmp_path)
    state = tmp_path / "out" / "_state"
    deadline = time.time() + 120
    while not (state.exists() and list(state.glob("unit-*.json"))):
        assert run.poll() is None and time.time() < deadline, run.stdout.read().decode()
        time.sleep(0.02)
    if stop == "ctrl-c":  # as a terminal's Ctrl-C: the whole process group, workers included
        os.killpg(run.pid, signal.SIGINT)
    else:
        os.kill(run.pid, signal.SIGTERM)
    out = run.communicate(timeout=120)[0].decode()
    code, said = (130, "interrupted") if stop == "ctrl-c" else (143, "terminated (SIGTERM)")
    assert run.returncode == code, out
    assert out.strip().splitlines() == [f"{said}; to continue where it stopped: corpusforge run p.yaml --resume"]
    assert not (tmp_path / "out" / "stats.json").exists()
    status = json.loads((state / "status.json").read_text())
    assert (status["state"], status["exit_code"]) == ("interrupted", code)
    resumed = cli("run", "p.yaml", "--workers", "2", "--quiet", "--resume", cwd=tmp_path)
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read().decode()
    assert (tmp_path / "out" / "stats.json").exists()


def test_a_resume_still_says_where_the_finished_phases_ran(tmp_path):
    """A run stopped after its dedup stage had finished (its marker written, stats.json not):
    the resume skips the stage and still counts its tasks per node in stats.json."""
    from conftest import run

    body = """
        inputs: [{type: demo, docs: 300, units: 3}]
        stages: [{dedup: {exact: {on: [text]}}}]
        output: {path: OUT}
        """
    first = run(tmp_path, body)
    (tmp_path / "out" / "stats.json").unlink()
    again = run(tmp_path, body, resume=True)
    assert again.nodes == first.nodes == json.loads((tmp_path / "out" / "stats.json").read_text())["nodes"]
    assert {"map", "00-dedup/sign", "00-dedup/write"} <= set(again.nodes)
    assert sum(again.nodes["map"].values()) == 3
