"""Local executor: work units on a process pool (or in this process for one worker)."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

from corpusforge.accounting import RunStats
from corpusforge.config import Pipeline
from corpusforge.io.units import WorkUnit
from corpusforge.runner import UnitRunner

_worker_runner: UnitRunner | None = None


def _init(pipeline: Pipeline) -> None:
    global _worker_runner
    _worker_runner = UnitRunner(pipeline)


def _run(unit: WorkUnit) -> tuple[WorkUnit, RunStats]:
    assert _worker_runner is not None
    return unit, _worker_runner.run(unit)


def run(
    pipeline: Pipeline,
    units: list[WorkUnit],
    workers: int,
    on_done: Callable[[WorkUnit, RunStats], None],
) -> None:
    """Run every unit; each result is reported as it completes. The first failure stops the run."""
    if workers <= 1 or len(units) <= 1:
        runner = UnitRunner(pipeline)
        for unit in units:
            on_done(unit, runner.run(unit))
        return
    # spawn, not fork: Arrow's thread pools and Ray do not survive a fork safely
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=ctx,
                             initializer=_init, initargs=(pipeline,)) as pool:
        pending = {pool.submit(_run, u) for u in units}
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                exc = fut.exception()
                if exc is not None:
                    for other in pending:
                        other.cancel()
                    raise exc
                on_done(*fut.result())
