"""A run held half-way: a step that waits while a flag file exists, and a command-line run in a
process of its own (its own process group, so that a test can signal it as a terminal would)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from corpusforge.steps import MapStep, StepConfig

ROOT = Path(__file__).resolve().parents[1]

#: a ja/en demo corpus of 12 units; the hold step is named from this module
PIPELINE = """\
inputs:
  - {{type: demo, docs: 1200, units: 12}}
steps:
  - {{step: normalize}}
  - {{step: held_run.HoldWhile, flag_file: {flag}}}
  - {{step: length, min_chars: 40}}
output: {{path: {out}}}
batch: {{max_docs: 50}}
"""


class HoldConfig(StepConfig):
    flag_file: str
    seconds: float = 0.1


class HoldWhile(MapStep[HoldConfig]):
    """Sleep on every batch while ``flag_file`` exists: the run goes on slowly until the test
    removes the file, then at full speed."""

    def process(self, batch: pa.Table) -> pa.Table:
        if os.path.exists(self.config.flag_file):
            time.sleep(self.config.seconds)
        return batch


def write_pipeline(tmp_path: Path, name: str = "p.yaml", out: str = "out") -> tuple[Path, Path]:
    """The pipeline file and its flag file (created: the run is held)."""
    flag = tmp_path / "hold"
    flag.write_text("")
    path = tmp_path / name
    path.write_text(PIPELINE.format(flag=flag, out=tmp_path / out), encoding="utf-8")
    return path, flag


def start(tmp_path: Path, *args: str) -> subprocess.Popen:
    """``corpusforge run ARGS`` in the background, in its own process group."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT)]), COLUMNS="250")
    return subprocess.Popen([sys.executable, "-m", "corpusforge", "run", *args, "--quiet"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def read_status(out: Path) -> dict | None:
    try:
        return json.loads((out / "_state" / "status.json").read_text())
    except FileNotFoundError:
        return None


def wait_running(proc: subprocess.Popen, out: Path, units: int = 1, timeout: float = 180) -> dict:
    """The status once the run says ``running`` with at least ``units`` units done."""
    deadline = time.monotonic() + timeout
    while True:
        status = read_status(out)
        if status is not None and status["state"] == "running" and status["units"]["done"] >= units:
            return status
        if proc.poll() is not None:
            raise AssertionError(f"the run ended ({proc.returncode}) before it was seen running:\n"
                                 f"{proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no running status in {out} after {timeout} s: {status}")
        time.sleep(0.05)
