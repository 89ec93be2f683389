"""`corpusforge submit` and `corpusforge jobs` against a real local Ray head with its job server:
a pipeline naming a module of the working directory runs to completion as a Ray job, a second
one is stopped mid-run, and the job commands show both."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, read_output

pytestmark = pytest.mark.slow

#: a module of the submitter's working directory, named by the pipelines: it must travel
STEPS = """\
import time

from corpusforge.steps import MapStep, StepConfig


class PauseConfig(StepConfig):
    seconds: float = 0.0


class Pause(MapStep[PauseConfig]):
    def process(self, batch):
        time.sleep(self.config.seconds)
        return batch
"""

DOCS = [
    {"id": "en-1", "text": "The harbour was quiet in the morning, and the boats waited for the tide to turn."},
    {"id": "ja-1", "text": "朝の港は静かで、船は潮が変わるのを待っていた。漁師たちは網を直しながら空を見上げた。"},
    {"id": "en-2", "text": "x"},
    {"id": "ja-2", "text": "短い"},
]

FINISHING = """\
name: submitted
inputs: [{{type: jsonl, path: {input}}}]
steps:
  - {{step: normalize}}
  - {{step: job_steps.Pause}}
  - {{step: length, min_chars: 10}}
output: {{path: {out}}}
"""

#: 12 units, each of 4 batches held for 0.5 s: long enough to be stopped half-way
SLOW = """\
name: stopped
inputs: [{{type: demo, docs: 1200, units: 12}}]
steps:
  - {{step: job_steps.Pause, seconds: 0.5}}
output: {{path: {out}}}
batch: {{max_docs: 25}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: the head's token (Ray's token authentication), known to this test's processes only
TOKEN = secrets.token_hex(16)


def _env() -> dict[str, str]:
    # this tree's corpusforge, no inherited cluster address, and the head's token
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
    return dict(env, PYTHONPATH=str(ROOT), COLUMNS="200", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN)


@pytest.fixture(scope="module")
def head() -> Iterator[str]:
    """A Ray head on 127.0.0.1 with its dashboard (the job server), in a temp dir of its own
    (a short path: Ray's socket names must fit); the job server's address."""
    temp = tempfile.mkdtemp(prefix="cfj", dir="/tmp")
    dashboard = _free_port()
    ports = {"--port": _free_port(), "--dashboard-port": dashboard,
             "--ray-client-server-port": _free_port(), "--dashboard-agent-listen-port": _free_port(),
             "--dashboard-agent-grpc-port": _free_port(), "--metrics-export-port": _free_port(),
             "--runtime-env-agent-port": _free_port()}
    ray = [sys.executable, "-m", "ray.scripts.scripts"]
    start = [*ray, "start", "--head", "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1",
             "--num-cpus=1", "--include-dashboard=true", f"--temp-dir={temp}", "--disable-usage-stats",
             *(f"{k}={v}" for k, v in ports.items())]
    r = subprocess.run(start, env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        yield f"http://127.0.0.1:{dashboard}"
    finally:
        # `ray stop` stops every Ray on the machine: the processes of this head only, by their
        # session's temp dir
        _stop(temp)
        shutil.rmtree(temp, ignore_errors=True)


def _stop(temp: str) -> None:
    import psutil

    procs = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(temp in part for part in p.info["cmdline"] or []):
                procs.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=3)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def _cli(address: str, cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpusforge", *args, "--address", address], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=timeout)


def _job_status(address: str, cwd: Path, job: str) -> str:
    r = _cli(address, cwd, "jobs", "status", job)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.splitlines()[0].split(": ", 1)[1]


def _wait(condition, what: str, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not seen in {timeout} s: {what}"
        time.sleep(0.5)
    return value


def test_a_submitted_run_completes_and_a_second_is_stopped(head: str, tmp_path: Path) -> None:
    here = tmp_path / "work"
    here.mkdir()
    (here / "job_steps.py").write_text(STEPS, encoding="utf-8")
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS),
                                       encoding="utf-8")
    (here / "done.yaml").write_text(FINISHING.format(input=tmp_path / "in.jsonl", out=tmp_path / "out"))
    (here / "slow.yaml").write_text(SLOW.format(out=tmp_path / "slow"))

    # the first waits for its job: the run's logs, then the run's exit code
    r = _cli(head, here, "submit", "done.yaml", "--job-id", "cf-done", "--wait")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == "cf-done" and f"output: {tmp_path / 'out'}" in r.stdout
    assert sorted(read_output(tmp_path / "out").column("id").to_pylist()) == ["en-1", "ja-1"]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    length = next(s for s in stats["steps"] if s["name"] == "length")
    assert (length["docs_in"], length["docs_out"]) == (4, 2)
    assert _job_status(head, here, "cf-done") == "SUCCEEDED"

    # the second is stopped once it has done some of its work
    r = _cli(head, here, "submit", "slow.yaml", "--job-id", "cf-slow")
    assert r.returncode == 0 and r.stdout.strip() == "cf-slow", r.stdout + r.stderr
    status_file = tmp_path / "slow" / "_state" / "status.json"
    _wait(lambda: status_file.exists() and json.loads(status_file.read_text())["units"]["done"] >= 1,
          "the slow run's first unit")
    r = _cli(head, here, "jobs", "stop", "cf-slow", "--wait")
    assert r.returncode == 0 and r.stdout.strip() == "cf-slow: STOPPED", r.stdout + r.stderr
    assert _job_status(head, here, "cf-slow") == "STOPPED"
    # stopped mid-run: some units done, not all, and the output free for a --resume
    left = json.loads(status_file.read_text())
    assert left["state"] == "interrupted" and 1 <= left["units"]["done"] < left["units"]["total"] == 12, left.get("last_error")
    assert not (tmp_path / "slow" / "stats.json").exists() and not (tmp_path / "slow" / "_state" / "lock").exists()

    listed = _cli(head, here, "jobs", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()}
    assert rows == {"cf-slow": "STOPPED", "cf-done": "SUCCEEDED"}
    logs = _cli(head, here, "jobs", "logs", "cf-done")
    assert logs.returncode == 0 and "stats.json" in logs.stdout, logs.stdout + logs.stderr


def test_a_refused_pipeline_is_not_submitted(head: str, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("inputs: [{type: demo}]\nstepz: []\noutput: {path: /tmp/x}\n")
    r = _cli(head, tmp_path, "submit", "bad.yaml", "--job-id", "cf-bad")
    assert r.returncode == 2 and "stepz" in r.stderr, r.stdout + r.stderr
    missing = _cli(head, tmp_path, "jobs", "status", "cf-bad")
    assert missing.returncode == 1 and "no job 'cf-bad'" in missing.stderr, missing.stdout + missing.stderr


def test_without_a_job_server_nothing_is_submitted(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(f"inputs: [{{type: demo, docs: 10}}]\noutput: {{path: {tmp_path / 'out'}}}\n")
    r = subprocess.run([sys.executable, "-m", "corpusforge", "submit", "p.yaml"], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no cluster given: pass --address" in r.stderr, r.stdout + r.stderr
    r = _cli(f"http://127.0.0.1:{_free_port()}", tmp_path, "submit", "p.yaml")
    assert r.returncode == 2 and "cannot reach the Ray job server at http://127.0.0.1:" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
