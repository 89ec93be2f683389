"""Pool workers end with their driver: a command-line run with two workers (a pipeline, in its
map phase or in a global stage, or a token count), its driver killed with SIGKILL, leaves no
process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT

SLOW = """\
import time
from dataclasses import dataclass

import pyarrow.parquet as pq

from corpusforge.accounting import StepStats, sum_stats
from corpusforge.io.sinks import Sinks
from corpusforge.schema import text_bytes
from corpusforge.stages import Stage, StageConfig
from corpusforge.steps import MapStep, StepConfig


class SlowConfig(StepConfig):
    seconds: float = 0.2


class Slow(MapStep):
    Config = SlowConfig
    adds = ()

    def process(self, batch):
        time.sleep(self.config.seconds)
        return batch


class SlowCopyConfig(StageConfig):
    seconds: float = 0.2


@dataclass(frozen=True)
class CopyTask:
    path: str
    index: int
    sinks: Sinks
    name: str
    seconds: float


def copy_shard(task):
    time.sleep(task.seconds)
    table = pq.read_table(task.path)
    writer = task.sinks.writer(task.index)
    writer.write(table)
    writer.commit()
    n, b = table.num_rows, text_bytes(table)
    return StepStats(task.name, docs_in=n, docs_out=n, bytes_in=b, bytes_out=b)


class SlowCopy(Stage):
    Config = SlowCopyConfig

    def run(self, ctx):
        tasks = [CopyTask(p, i, ctx.sinks, self.label, self.config.seconds)
                 for i, p in enumerate(ctx.input_files)]
        return sum_stats(self.label, ctx.map_tasks("copy", copy_shard, tasks))
"""

PIPELINE = """\
inputs: [{{type: demo, docs: 1200, units: 12}}]
steps: [{{step: slow_parts.Slow, seconds: {step_seconds}}}]
stages: [{{stage: slow_parts.SlowCopy, seconds: {stage_seconds}}}]
output: {{path: out}}
batch: {{max_docs: 50}}
"""


def start(folder: Path, step_seconds: float, stage_seconds: float) -> subprocess.Popen:
    (folder / "slow_parts.py").write_text(SLOW)
    (folder / "p.yaml").write_text(PIPELINE.format(step_seconds=step_seconds,
                                                   stage_seconds=stage_seconds))
    return subprocess.Popen([sys.executable, "-m", "corpusforge.cli", "run", "p.yaml", "--quiet",
                             "--workers", "2"], cwd=folder, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(condition, driver: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert driver.poll() is None, driver.stdout.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.05)


def command(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:  # gone, or a zombie
        return ""


def workers_of(driver: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(driver.pid).children(recursive=True)
            if "spawn_main" in command(p)]


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            # a zombie has exited (it holds no memory); only its new parent may reap it
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def kill_driver_and_check(driver: subprocess.Popen) -> None:
    everyone = psutil.Process(driver.pid).children(recursive=True)
    assert len(workers_of(driver)) == 2
    os.kill(driver.pid, signal.SIGKILL)  # the driver alone, not its process group
    driver.wait()
    deadline = time.monotonic() + 5
    while alive(everyone) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [command(p) for p in alive(everyone)]
    for p in alive(everyone):  # not to leave them to the next test
        p.kill()
    assert left == []


@pytest.mark.slow
def test_workers_end_when_the_driver_is_killed_in_the_map_phase(tmp_path):
    driver = start(tmp_path, step_seconds=0.2, stage_seconds=0)
    state = tmp_path / "out" / "_state"
    # both workers busy with units, one unit already done
    wait_for(lambda: len(workers_of(driver)) == 2 and any(state.glob("unit-*.json")), driver)
    kill_driver_and_check(driver)
    assert not (tmp_path / "out" / "stats.json").exists()


@pytest.mark.slow
def test_workers_end_when_the_driver_is_killed_in_a_global_stage(tmp_path):
    driver = start(tmp_path, step_seconds=0, stage_seconds=1.0)
    stage_tasks = tmp_path / "out" / "_state" / "stages"
    wait_for(lambda: len(workers_of(driver)) == 2 and any(stage_tasks.glob("*/copy/*.json")), driver)
    kill_driver_and_check(driver)
    assert not (tmp_path / "out" / "stats.json").exists()


@pytest.mark.slow
def test_count_workers_end_when_the_driver_is_killed(tmp_path):
    # two named pipes nobody writes to: each worker blocks reading one, for good
    for name in ("a.jsonl", "b.jsonl"):
        os.mkfifo(tmp_path / name)
    driver = subprocess.Popen([sys.executable, "-m", "corpusforge.cli", "count", ".", "--workers", "2"],
                              cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: len(workers_of(driver)) == 2, driver)
    time.sleep(1)  # both are inside their first task
    kill_driver_and_check(driver)


def test_the_watchdog_alone_ends_an_orphan(tmp_path):
    # where there is no parent-death signal: a middle process starts a child that only
    # watches its parent, then dies; the orphan must follow
    # (the parent read before the pid is told: the middle may be killed in between)
    child = ("import os, sys; from corpusforge.executors.parent_death import watch_parent; "
             "parent = os.getppid(); print(os.getpid(), flush=True); watch_parent(parent)")
    middle = ("import subprocess, sys; "
              f"p = subprocess.Popen([sys.executable, '-c', {child!r}], stdout=sys.stdout); "
              "sys.stdout.flush(); import time; time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", middle], stdout=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True)
    orphan = psutil.Process(int(proc.stdout.readline()))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while alive([orphan]) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = alive([orphan])
    for p in left:
        p.kill()
    assert left == []


@pytest.mark.slow
def test_the_html_extractor_ends_with_its_worker_even_mid_page(tmp_path):
    # a worker (here: a plain process) extracting a page that takes trafilatura seconds, then
    # killed: its extractor subprocess goes at once, not when the page is done
    code = textwrap.dedent("""\
        import sys
        sys.path.insert(0, sys.argv[1])
        from test_ingest_extract import big_page, html_batch
        from corpusforge.extract import ExtractHtml

        page = html_batch([(big_page(60000), None, "text/html", 200)])
        ExtractHtml(isolation="subprocess", timeout=600).apply(page)
        """)
    worker = subprocess.Popen([sys.executable, "-c", code, str(ROOT / "tests")],
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not [p for p in psutil.Process(worker.pid).children() if "extract.worker" in command(p)]:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(2)  # started, trafilatura deep in the page
        extractor = psutil.Process(worker.pid).children()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        deadline = time.monotonic() + 2
        while alive(extractor) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [command(p) for p in alive(extractor)]
        for p in alive(extractor):
            p.kill()
        assert left == []
    finally:
        if worker.poll() is None:
            worker.kill()
