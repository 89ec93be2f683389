"""The local executor: a process pool on this machine (or inline with one worker)."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from corpusforge import usermodules
from corpusforge.executors.base import OnResult, node_name
from corpusforge.executors.parent_death import exit_with_parent


def _start_worker(driver: int, imports: usermodules.UserModules) -> None:
    """Pool initializer, before the worker unpickles its first task: end with the driver, and
    import as it does (the working directory off the path, the pipeline's own modules from it)."""
    exit_with_parent(driver)
    imports.install()


class LocalExecutor:
    kind = "local"

    def __init__(self, workers: int | None = 1) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def start(self) -> None:
        """Nothing to check: the pool is spawned by the first parallel phase."""

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any],
            on_result: OnResult | None = None) -> list[Any]:
        results: list[Any] = [None] * len(items)
        # every worker of the pool is on this machine
        node = node_name()

        def record(i: int, value: Any) -> None:
            results[i] = value
            if on_result is not None:
                on_result(i, value, node)

        if self.workers <= 1 or len(items) <= 1:
            # inline: no process start-up for what one worker (or one task) does anyway
            for i, item in enumerate(items):
                record(i, fn(item))
            return results
        if self._pool is None:
            # spawn, not fork: Arrow's thread pools do not survive a fork safely; the pool is
            # kept for the executor's life, so workers keep what they set up (models, steps)
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_start_worker,
                                             initargs=(os.getpid(), usermodules.current()))
        futures = {self._pool.submit(fn, item): i for i, item in enumerate(items)}
        pending = set(futures)
        while pending:
            # each result as soon as its task ends: the phase writes the task's marker then,
            # so a run killed half-way keeps what it finished
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=futures.__getitem__):
                exc = fut.exception()
                if exc is not None:
                    for other in pending:
                        other.cancel()
                    raise exc
                record(futures[fut], fut.result())
        return results
