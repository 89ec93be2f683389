"""Running a whole pipeline: plan, prepare the output folder, execute, merge stats.

Resumability comes from the layout: every work unit writes its own files (named by
the unit) and then a completion marker under ``_state/``. A restarted run with
``resume=True`` skips units that have a marker, reruns the others from scratch,
and merges the stats of all markers in unit order — the same result an
uninterrupted run gives.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict

import orjson
from fsspec.core import url_to_fs

from corpusforge.accounting import RunStats
from corpusforge.config import Pipeline
from corpusforge.executors.tasks import TaskPool
from corpusforge.io.inputs import plan_units
from corpusforge.io.units import WorkUnit
from corpusforge.io.writers import TMP_SUFFIX, join
from corpusforge.runner import READ, STATE_DIR, read_marker, run_unit_task

STATS_FILE = "stats.json"
PLAN_FILE = "plan.json"


class OutputExistsError(RuntimeError):
    pass


def fingerprint(pipeline: Pipeline, units: list[WorkUnit]) -> str:
    """What must not change between a run and its resume: the steps, output and units."""
    body = {
        "inputs": [i.model_dump() for i in pipeline.inputs],
        "steps": [s.model_dump() for s in pipeline.steps],
        "output": pipeline.output.model_dump(),
        "batch": pipeline.batch.model_dump(),
        "units": [asdict(u) for u in units],
    }
    if pipeline.stages:  # only when present: fingerprints of stage-less runs stay as they were
        body["stages"] = [s.model_dump() for s in pipeline.stages]
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def prepare_output(pipeline: Pipeline, units: list[WorkUnit], resume: bool, overwrite: bool) -> None:
    fs, root = url_to_fs(pipeline.output.path)
    state = join(root, STATE_DIR)
    plan_path = join(state, PLAN_FILE)
    fp = fingerprint(pipeline, units)
    if fs.exists(root) and fs.ls(root):
        if overwrite:
            fs.rm(root, recursive=True)
        elif resume and fs.exists(plan_path):
            with fs.open(plan_path, "rb") as f:
                if orjson.loads(f.read())["fingerprint"] != fp:
                    raise OutputExistsError(
                        f"{pipeline.output.path} was written by a different pipeline or input set; "
                        "resume needs the same config (use --overwrite to start again)")
            for path in fs.find(root):
                if path.endswith(TMP_SUFFIX):
                    fs.rm(path)  # half-written files of killed units
        elif not resume:
            raise OutputExistsError(
                f"output folder {pipeline.output.path} is not empty; use --resume to continue "
                "an interrupted run or --overwrite to replace it")
        else:
            raise OutputExistsError(f"{pipeline.output.path} holds no run to resume (no {STATE_DIR}/{PLAN_FILE})")
    fs.makedirs(state, exist_ok=True)
    if not fs.exists(plan_path):
        with fs.open(plan_path, "wb") as f:
            f.write(orjson.dumps({"fingerprint": fp, "units": len(units)}))


def run_pipeline(
    pipeline: Pipeline,
    *,
    executor: str | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    units: list[WorkUnit] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[WorkUnit, RunStats], None] | None = None,
) -> RunStats:
    """Run a pipeline to completion and return its merged stats (also written to stats.json)."""
    if pipeline.stages:
        from corpusforge.stages.run import run_staged

        return run_staged(pipeline, executor=executor, workers=workers, ray_address=ray_address,
                          resume=resume, overwrite=overwrite, units=units, on_start=on_start,
                          on_done=on_done)
    started = time.perf_counter()
    units = plan_units(pipeline.inputs) if units is None else units
    prepare_output(pipeline, units, resume, overwrite)
    out = pipeline.output.path
    per_unit: dict[int, RunStats] = {}
    for unit in units:
        done = read_marker(out, unit)
        if done is not None:
            per_unit[unit.index] = done
    pending = [u for u in units if u.index not in per_unit]
    if on_start:
        on_start(len(units), len(units) - len(pending))

    def done(unit: WorkUnit, stats: RunStats) -> None:
        stats.check()
        per_unit[unit.index] = stats
        if on_done:
            on_done(unit, stats)

    kind = executor or pipeline.executor.type
    n = workers or pipeline.executor.workers or os.cpu_count() or 1
    key = hashlib.sha256(pipeline.model_dump_json().encode()).hexdigest()
    # the units are independent tasks on the executor's pool (local processes or Ray tasks);
    # each worker builds the pipeline's steps once and reuses them for every unit it runs
    with TaskPool(kind, n, ray_address or pipeline.executor.ray_address) as pool:
        pool.map(run_unit_task, [(pipeline, key, u) for u in pending],
                 on_result=lambda i, result: done(pending[i], RunStats.from_dict(result)))

    total = RunStats.empty([READ, *pipeline.step_names()])
    for unit in units:
        total.merge(per_unit[unit.index])
    total.check()
    total.wall_seconds = time.perf_counter() - started
    write_stats(out, total)
    return total


def write_stats(output: str, stats: RunStats) -> None:
    fs, root = url_to_fs(output)
    path = join(root, STATS_FILE)
    with fs.open(path + TMP_SUFFIX, "wb") as f:
        f.write(orjson.dumps(stats.to_dict(), option=orjson.OPT_INDENT_2))
    fs.mv(path + TMP_SUFFIX, path)
