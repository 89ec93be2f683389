"""The one driver of a run: plan, prepare the output, open one executor, run the phases.

A run is ``[map phase, *stages]``. Every phase is a :class:`~corpusforge.stages.base.Stage`
that reads the previous phase's shards (the map phase reads the inputs) and writes through
the :class:`~corpusforge.io.sinks.Sinks` the driver gives it: the last phase writes the
output's format and partitioning to the output root, earlier ones Parquet to their folder
(``_map/``, ``_stage-<i>/``, removed once the run has finished unless
``output.keep_intermediate``). A phase that finished leaves a marker; a resumed run skips it
(and, inside a phase, every task that left one), so it ends with the same output as an
uninterrupted run.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from corpusforge.accounting import ConservationError, RunStats, StepStats
from corpusforge.config import Pipeline, check_pipeline, check_storage
from corpusforge.engine.budget import ErrorBudget
from corpusforge.engine.inputs_guard import check_no_overlap
from corpusforge.engine.lock import OutputLock
from corpusforge.engine.output import prepare_output, write_stats
from corpusforge.engine.status import RunStatus
from corpusforge.executors import Executor, make_executor
from corpusforge.io.inputs import plan_units, register_storage
from corpusforge.io.layout import WORK_DIR, OutputLayout, join, list_shards
from corpusforge.io.markers import read_marker, write_marker
from corpusforge.io.sinks import Sinks
from corpusforge.io.storage import filesystem, register
from corpusforge.io.units import WorkUnit
from corpusforge.report import report_finished_run
from corpusforge.stages.base import Stage
from corpusforge.stages.context import StageContext
from corpusforge.stages.map import READ, MapStage, MapWork


def run_pipeline(
    pipeline: Pipeline,
    *,
    executor: str | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    units: list[WorkUnit] | None = None,
    snapshot: str | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[WorkUnit, RunStats], None] | None = None,
    on_progress: Callable[[WorkUnit, int, int], None] | None = None,
) -> RunStats:
    """Run a pipeline to completion and return its merged stats (also written to stats.json).

    This is ``corpusforge.run`` (docs/python-api.md). ``executor`` (``"local"`` or ``"ray"``),
    ``workers`` and ``ray_address`` override the pipeline's; ``resume`` finishes an interrupted
    run in its output folder, ``overwrite`` replaces the folder, and without either a folder
    holding files raises :class:`~corpusforge.engine.output.OutputExistsError`. ``units`` are
    the pipeline's planned work units when the caller has them already (the command line).
    ``on_start(units, already_done)`` and ``on_done(unit, stats)`` report the map phase's
    progress (the command line's progress bar); ``on_progress(unit, docs, bytes)``, called
    from another thread, the documents and text bytes a running unit has read so far.

    An ``incremental`` pipeline runs one night (``engine/nightly.py``): only the input files
    its corpus's ledger does not hold, into the snapshot ``snapshot`` (default: the crawl id
    or the time); with nothing new it does nothing and returns stats with no steps.
    """
    started = time.perf_counter()
    # a pipeline from YAML was checked when parsed; one built in code is checked here
    check_pipeline(pipeline)
    check_storage(pipeline)
    # every file of the run, here and in the workers, opens with the options of its bucket
    register_storage(pipeline.inputs)
    register(pipeline.output.path, pipeline.output.storage_options)
    units = plan_units(pipeline.inputs) if units is None else units
    layout = OutputLayout(pipeline.output.path)
    check_no_overlap(pipeline.output.path, units)
    if pipeline.incremental:
        # imported here: the nightly bookkeeping loads the dedup index and pyarrow.dataset
        # (numba, scipy: ~115 MB of RSS and ~1 s at import), which a plain run never uses
        from corpusforge.engine.nightly import run_night

        return run_night(pipeline, units, run_pipeline, snapshot=snapshot, resume=resume,
                         overwrite=overwrite, executor=executor, workers=workers,
                         ray_address=ray_address, on_start=on_start, on_done=on_done,
                         on_progress=on_progress)
    # an address given for this run means Ray, whatever the YAML's executor
    kind = executor or ("ray" if ray_address else pipeline.executor.type)
    watch = _Watch(on_done, ErrorBudget.of(pipeline, layout.errors))
    phases: list[tuple[str, int | None, Stage]] = [
        ("map", None, MapStage(_map_work(pipeline), units, on_start=on_start, on_done=watch.done,
                               on_found=watch.found, on_progress=on_progress))]
    for i, (name, stage) in enumerate(zip(pipeline.stage_names(), pipeline.build_stages())):
        phases.append((name, i, stage))
    # one executor for every phase: one process pool, one Ray lifetime
    with make_executor(kind, workers or pipeline.executor.workers,
                       ray_address or pipeline.executor.ray_address, pipeline.executor.runtime_env) as pool:
        # the output is prepared (an --overwrite deletes the old one) only once the run can
        # start: an unreachable cluster leaves the old output as it was; and only by the one
        # run that holds its lock (a live run's output is refused to a second one)
        pool.start()
        with OutputLock(layout) as lock:
            prepare_output(pipeline, units, layout, resume, overwrite)
            status = RunStatus(layout, pipeline.name, len(units), [READ, *pipeline.step_names()],
                               resumed=resume, took_over=lock.took_over,
                               started_at=lock.record["started_at"], run=lock.record["run"])
            status.begin()
            watch.status, watch.lock = status, lock
            try:
                total = _run_phases(pipeline, layout, phases, pool, watch)
                total.wall_seconds = time.perf_counter() - started
                write_stats(layout, total)
                if not pipeline.output.keep_intermediate:
                    _remove_intermediate(layout, len(phases))
            except BaseException as e:
                # a status that cannot be written must not hide why the run stopped
                with contextlib.suppress(Exception):
                    status.end(e)
                raise
            status.end(None)
            report_finished_run(pipeline)  # report.html (unless `report: false`)
    return total


@dataclass
class _Watch:
    """What the driver does as each map unit ends: the progress callback, the unit's counts
    into the status, the lock checked (another run may have taken the output over) and the
    error budget, on the counts so far. The status and lock exist once the run holds its
    output."""

    progress: Callable[[WorkUnit, RunStats], None] | None
    budget: ErrorBudget
    status: RunStatus | None = None
    lock: OutputLock | None = None

    def found(self, _unit: WorkUnit, stats: RunStats) -> None:
        assert self.status is not None
        self.status.unit(stats, write=False)

    def done(self, unit: WorkUnit, stats: RunStats) -> None:
        assert self.status is not None and self.lock is not None
        if self.progress is not None:
            self.progress(unit, stats)
        self.status.unit(stats)
        self.lock.check()
        self.budget.check(self.status.map, final=False)


def _run_phases(pipeline: Pipeline, layout: OutputLayout, phases: list[tuple[str, int | None, Stage]],
                pool: Executor, watch: _Watch) -> RunStats:
    """Every phase in order, then each stage's commit; the merged stats."""
    status, lock = watch.status, watch.lock
    assert status is not None and lock is not None
    steps: list[StepStats] = []
    total_units = 0
    files: list[str] = []
    contexts: list[StageContext] = []
    for p, (name, index, stage) in enumerate(phases):
        ctx = StageContext(name=name, key=layout.phase_key(index, name), input_files=files,
                           sinks=_sinks(pipeline, layout, p, len(phases), name, index),
                           layout=layout, executor=pool)
        contexts.append(ctx)
        status.phase(name)
        result = _run_phase(stage, ctx)
        if isinstance(result, RunStats):
            steps += result.steps
            total_units += result.units
            status.map_done(result)
            # every unit is in: a small run is judged too (engine/budget.py)
            watch.budget.check(result, final=True)
        else:
            steps.append(result)
            status.stage_done(result)
        lock.check()
        if p < len(phases) - 1:
            files = list_shards(ctx.sinks.path)
    total = RunStats(steps, units=total_units,
                     nodes={group: tally for ctx in contexts for group, tally in ctx.nodes.items()},
                     memory={group: m for ctx in contexts for group, m in ctx.memory.items() if m})
    _check_phases(total, len(phases) - 1)
    for (_, _, stage), ctx in zip(phases, contexts):
        stage.commit(ctx)
    return total


def _remove_intermediate(layout: OutputLayout, phases: int) -> None:
    """Remove the documents between phases once the run has finished.

    Only after ``stats.json``: until then a resume may need them. A run killed during (or
    after) the removal resumes to the same end: every phase marker is there, so no phase
    reads them again, and the removal is repeated.
    """
    for phase in range(phases - 1):
        fs, path = filesystem(layout.documents(phase, phases))
        if fs.exists(path):
            fs.rm(path, recursive=True)


def _map_work(pipeline: Pipeline) -> MapWork:
    return MapWork(
        inputs=tuple(pipeline.inputs),
        sources=tuple(pipeline.source_name(i) for i in range(len(pipeline.inputs))),
        steps=tuple((s.step, name, dict(s.params)) for s, name in zip(pipeline.steps, pipeline.step_names())),
        batch=pipeline.batch, on_error=pipeline.on_error, sinks=Sinks(path=""))


def _sinks(pipeline: Pipeline, layout: OutputLayout, phase: int, phases: int, name: str,
           index: int | None) -> Sinks:
    """Phase ``phase``'s sinks: the final format at the root for the last phase, Parquet to
    its own folder before that; rejects and errors of every phase in the run's sinks."""
    out = pipeline.output
    last = phase == phases - 1
    return Sinks(
        path=layout.documents(phase, phases),
        format=out.format if last else "parquet",
        compression=out.compression if last else "zstd",
        max_shard_bytes=out.max_shard_bytes,
        partition_by=out.partition_by if last else None,
        rejects=layout.rejects if out.rejects else None,
        rejects_text=out.rejects_text,
        errors=layout.errors,
        errors_prefix="part" if index is None else f"{layout.phase_key(index, name)}-part",
        step=name)


def _run_phase(stage: Stage, ctx: StageContext) -> StepStats | RunStats:
    """Run a phase unless its marker says it finished; remove its scratch once it has."""
    marker = ctx.layout.phase_marker(ctx.key)
    done = read_marker(marker) if stage.skip_when_done else None
    if done is not None:
        result = done.result
        ctx.recount_nodes()
    else:
        t0 = time.perf_counter()
        result = stage.run(ctx)
        if isinstance(result, StepStats):
            result.name, result.seconds = ctx.name, time.perf_counter() - t0
        result.check()
        write_marker(marker, ctx.key, result)
    # scratch is only needed until the phase is done; also after a resume that found the
    # phase finished but was killed before this cleanup
    fs, work = filesystem(ctx.work_dir)
    if fs.exists(work):
        fs.rm(work, recursive=True)
    parent = join(filesystem(ctx.root)[1], WORK_DIR)
    if fs.exists(parent) and not fs.ls(parent):
        fs.rm(parent, recursive=True)
    return result


def _check_phases(total: RunStats, stages: int) -> None:
    """Each stage read exactly what the phase before it wrote."""
    total.check()
    if not stages:
        return
    before = total.steps[:-stages]
    prev = before[-1].docs_out
    for st in total.steps[-stages:]:
        if st.docs_in != prev:
            raise ConservationError(f"stage {st.name!r} read {st.docs_in} documents, {prev} were written before it")
        prev = st.docs_out

