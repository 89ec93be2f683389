"""``map_tasks``: run a function over a list of items in parallel, on either executor.

Global stages are made of phases of independent tasks (sign one shard, group one
band, write one shard). A :class:`TaskPool` is opened once for all the stages of a
run (one process pool or one Ray instance) and each phase calls :meth:`TaskPool.map`.

Functions and items must be picklable (top-level functions, plain data); results are
returned in item order whatever order the tasks finished in, so a stage's output
does not depend on the worker count or the executor.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any


class TaskPool:
    """A pool of workers for stage tasks: ``local`` processes or ``ray`` tasks."""

    def __init__(self, kind: str = "local", workers: int = 1, address: str | None = None) -> None:
        if kind not in ("local", "ray"):
            raise ValueError(f"unknown executor {kind!r}")
        self.kind, self.workers, self.address = kind, max(1, workers), address
        self._pool: ProcessPoolExecutor | None = None
        self._ray_started = False

    def __enter__(self) -> TaskPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        on_result: Callable[[int, Any], None] | None = None,
    ) -> list[Any]:
        """``[fn(x) for x in items]`` in parallel; ``on_result(i, result)`` as each task ends.

        The first task that raises stops the phase and the exception propagates.
        """
        results: list[Any] = [None] * len(items)

        def record(i: int, value: Any) -> None:
            results[i] = value
            if on_result is not None:
                on_result(i, value)

        if not items:
            return results
        if self.kind == "ray":
            self._map_ray(fn, items, record)
        elif self.workers <= 1 or len(items) <= 1:
            for i, item in enumerate(items):
                record(i, fn(item))
        else:
            self._map_local(fn, items, record)
        return results

    def _map_local(self, fn: Callable, items: Sequence, record: Callable[[int, Any], None]) -> None:
        if self._pool is None:
            # spawn, not fork: Arrow's thread pools do not survive a fork safely
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"))
        futures = {self._pool.submit(fn, item): i for i, item in enumerate(items)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in sorted(done, key=futures.__getitem__):
                exc = fut.exception()
                if exc is not None:
                    for other in pending:
                        other.cancel()
                    raise exc
                record(futures[fut], fut.result())

    def _map_ray(self, fn: Callable, items: Sequence, record: Callable[[int, Any], None]) -> None:
        import ray

        if init_ray(self.workers, self.address):
            self._ray_started = True
        task = ray.remote(num_cpus=1, max_retries=3)(fn)
        queue = list(enumerate(items))
        in_flight: dict = {}
        limit = self.workers  # `workers` tasks run at once, as on the local pool
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                i, item = queue.pop(0)
                in_flight[task.remote(item)] = i
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                record(in_flight.pop(ref), ray.get(ref))


def init_ray(workers: int, address: str | None = None) -> bool:
    """Start (or connect to) Ray unless it is running; True if this call started it."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        # a cluster's workers have their own environment (image or the user's runtime_env);
        # this machine's paths mean nothing there
        kwargs: dict = {"address": address}
    else:
        # local workers must import what the driver imports (user modules on sys.path)
        path = os.pathsep.join(p for p in sys.path if p)
        kwargs = {"num_cpus": workers, "include_dashboard": False,
                  "runtime_env": {"env_vars": {"PYTHONPATH": path}}}
    ray.init(ignore_reinit_error=True, log_to_driver=False, logging_level="ERROR", **kwargs)
    return True


def map_tasks(fn: Callable[[Any], Any], items: Sequence[Any], *, executor: str = "local",
              workers: int = 1, address: str | None = None) -> list[Any]:
    """One-shot :meth:`TaskPool.map` (opens and closes a pool)."""
    with TaskPool(executor, workers, address) as pool:
        return pool.map(fn, items)
