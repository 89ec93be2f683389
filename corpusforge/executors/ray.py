"""Ray executor: each work unit is a Ray task; a task whose worker dies is retried.

Output is identical to the local executor because a unit's files are named by the
unit and written the same way wherever it runs.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable

from corpusforge.accounting import RunStats
from corpusforge.config import Pipeline
from corpusforge.io.units import WorkUnit
from corpusforge.runner import UnitRunner

_runners: dict[str, UnitRunner] = {}


def _run_unit(pipeline: Pipeline, key: str, unit: WorkUnit) -> dict:
    # one UnitRunner per worker process and pipeline: steps are set up once, not per unit
    runner = _runners.get(key)
    if runner is None:
        runner = _runners[key] = UnitRunner(pipeline)
    return runner.run(unit).to_dict()


def run(
    pipeline: Pipeline,
    units: list[WorkUnit],
    workers: int,
    on_done: Callable[[WorkUnit, RunStats], None],
    address: str | None = None,
    max_retries: int = 3,
) -> None:
    import ray

    started_here = False
    if not ray.is_initialized():
        kwargs: dict = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        # local workers must import what the driver imports (user step modules on sys.path)
        path = os.pathsep.join(p for p in sys.path if p)
        ray.init(ignore_reinit_error=True, log_to_driver=False, logging_level="ERROR",
                 runtime_env={"env_vars": {"PYTHONPATH": path}}, **kwargs)
        started_here = True
    try:
        task = ray.remote(num_cpus=1, max_retries=max_retries)(_run_unit)
        pipe_ref = ray.put(pipeline)
        key = hashlib.sha1(pipeline.model_dump_json().encode()).hexdigest()
        queue = list(units)
        in_flight: dict = {}
        limit = max(1, workers)  # `workers` tasks run at once, like the local pool
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                unit = queue.pop(0)
                in_flight[task.remote(pipe_ref, key, unit)] = unit
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                unit = in_flight.pop(ref)
                on_done(unit, RunStats.from_dict(ray.get(ref)))
    finally:
        if started_here:
            ray.shutdown()
