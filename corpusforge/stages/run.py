"""Running a pipeline that has global stages: map phase, then each stage, then finalise.

Layout of the output folder::

    _map/            the map phase (documents, its own _state, _rejects and _errors)
    _stage-<i>/      documents between two stages (Parquet), when there are several
    _work/<stage>/   a stage's scratch files (signatures, band keys, ...), removed when
                     the stage is done
    _state/stages/   stage and per-task completion markers (resume)
    _rejects/        all removed documents: map steps and stages, partitioned by step
    _errors/         error records
    part-*.*         the final documents, written by the last stage with the output's
                     format and partitioning
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import orjson
from fsspec.core import url_to_fs

from corpusforge.accounting import ConservationError, RunStats, StepStats
from corpusforge.config import Pipeline
from corpusforge.executors.tasks import TaskPool, init_ray
from corpusforge.io.inputs import plan_units
from corpusforge.io.units import WorkUnit
from corpusforge.io.writers import TMP_SUFFIX, join
from corpusforge.runner import STATE_DIR
from corpusforge.stages.context import MAP_DIR, WORK_DIR, Sinks, StageContext


def map_phase_pipeline(pipeline: Pipeline) -> Pipeline:
    """The pipeline's per-shard part, writing Parquet under ``<output>/_map``."""
    out = pipeline.output.model_copy(update={
        "path": join(pipeline.output.path, MAP_DIR), "format": "parquet", "compression": "zstd",
        "partition_by": None,
    })
    return pipeline.model_copy(update={"output": out, "stages": []})


def list_shards(path: str) -> list[str]:
    """Parquet document shards under ``path`` (not in ``_``-prefixed folders), sorted; paths
    keep the protocol of ``path`` (``s3://``, ``memory://``) so any worker can open them."""
    fs, root = url_to_fs(path)
    if not fs.exists(root):
        return []
    out = []
    for p in fs.find(root):
        rel = p[len(root.rstrip("/")) + 1:]
        if p.endswith(".parquet") and not any(part.startswith("_") for part in rel.split("/")):
            out.append(fs.unstrip_protocol(p) if "://" in path else p)
    return sorted(out)


def _remove_scratch(root: str, work: str) -> None:
    fs, _ = url_to_fs(root)
    if fs.exists(work):
        fs.rm(work, recursive=True)
    parent = join(root, WORK_DIR)
    if fs.exists(parent) and not fs.ls(parent):
        fs.rm(parent, recursive=True)


def run_staged(
    pipeline: Pipeline,
    *,
    executor: str | None,
    workers: int | None,
    ray_address: str | None,
    resume: bool,
    overwrite: bool,
    units: list[WorkUnit] | None,
    on_start: Callable[[int, int], None] | None,
    on_done: Callable[[WorkUnit, RunStats], None] | None,
) -> RunStats:
    from corpusforge.run import prepare_output

    started = time.perf_counter()
    units = plan_units(pipeline.inputs) if units is None else units
    prepare_output(pipeline, units, resume, overwrite)
    kind = executor or pipeline.executor.type
    n = workers or pipeline.executor.workers or os.cpu_count() or 1
    address = ray_address or pipeline.executor.ray_address
    # one Ray instance for the map phase and every stage (starting one costs seconds)
    ray_started = kind == "ray" and init_ray(n, address)
    try:
        return _run(pipeline, units, kind, n, address, resume, on_start, on_done, started)
    finally:
        if ray_started:
            import ray

            ray.shutdown()


def _run(pipeline: Pipeline, units: list[WorkUnit], kind: str, n: int, address: str | None,
         resume: bool, on_start: Callable[[int, int], None] | None,
         on_done: Callable[[WorkUnit, RunStats], None] | None, started: float) -> RunStats:
    from corpusforge.run import run_pipeline, write_stats

    root = pipeline.output.path
    map_stats = run_pipeline(map_phase_pipeline(pipeline), executor=kind, workers=n,
                             ray_address=address, resume=resume, overwrite=False, units=units,
                             on_start=on_start, on_done=on_done)
    out = pipeline.output
    names = pipeline.stage_names()
    stage_stats: list[StepStats] = []
    files = list_shards(join(root, MAP_DIR))
    with TaskPool(kind, n, address) as pool:
        for i, (stage, name) in enumerate(zip(pipeline.build_stages(), names)):
            last = i == len(names) - 1
            target = root if last else join(root, f"_stage-{i}")
            sinks = Sinks(
                path=target, format=out.format if last else "parquet",
                compression=out.compression if last else "zstd", max_shard_bytes=out.max_shard_bytes,
                partition_by=out.partition_by if last else None,
                rejects=join(root, "_rejects") if out.rejects else None,
                rejects_text=out.rejects_text, step=name)
            st = _read_stage_marker(root, i, name)
            work = join(root, WORK_DIR, f"{i:02d}-{name}")
            if st is None:
                ctx = StageContext(name=name, index=i, input_files=files, sinks=sinks, root=root,
                                   work_dir=work, pool=pool, workers=n)
                t0 = time.perf_counter()
                st = stage.run(ctx)
                st.name, st.seconds = name, time.perf_counter() - t0
                st.check()
                _write_stage_marker(root, i, name, st)
            # scratch is only needed until the stage is done; also after a resume that found
            # the stage finished but was killed before this cleanup
            _remove_scratch(root, work)
            stage_stats.append(st)
            if not last:
                files = list_shards(target)
    _gather_sinks(root)
    total = RunStats(map_stats.steps + stage_stats, units=map_stats.units)
    prev = map_stats.steps[-1].docs_out
    for st in stage_stats:
        if st.docs_in != prev:
            raise ConservationError(f"stage {st.name!r} read {st.docs_in} documents, {prev} were written before it")
        prev = st.docs_out
    total.check()
    total.wall_seconds = time.perf_counter() - started
    write_stats(root, total)
    return total


def _marker(root: str, index: int, name: str) -> str:
    return join(root, STATE_DIR, "stages", f"{index:02d}-{name}.json")


def _read_stage_marker(root: str, index: int, name: str) -> StepStats | None:
    fs, _ = url_to_fs(root)
    path = _marker(root, index, name)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as f:
        return StepStats.from_dict(orjson.loads(f.read()))


def _write_stage_marker(root: str, index: int, name: str, stats: StepStats) -> None:
    fs, _ = url_to_fs(root)
    path = _marker(root, index, name)
    fs.makedirs(path.rpartition("/")[0], exist_ok=True)
    with fs.open(path + TMP_SUFFIX, "wb") as f:
        f.write(orjson.dumps(stats.to_dict()))
    fs.mv(path + TMP_SUFFIX, path)


def _gather_sinks(root: str) -> None:
    """Move the map phase's rejects and errors next to the stages' (idempotent, for resume)."""
    fs, base = url_to_fs(root)
    for sink in ("_rejects", "_errors"):
        src = join(base, MAP_DIR, sink)
        if not fs.exists(src):
            continue
        for path in fs.find(src):
            dest = join(base, sink, path[len(src) + 1:])
            fs.makedirs(dest.rpartition("/")[0], exist_ok=True)
            fs.mv(path, dest)
        fs.rm(src, recursive=True)  # only empty folders are left
