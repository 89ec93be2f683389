"""The map phase as a stage: every work unit read -> steps -> sinks, as resumable tasks.

A unit task is the whole per-unit contract both executors run: it reads its unit, sends
bounded batches through the steps with accounting and error isolation, and commits its
files; the stage fans the units out through ``ctx.map_tasks`` like any other stage's tasks.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge import samples
from corpusforge.accounting import RunStats, StepStats
from corpusforge.errors import ErrorRecord, SetupFailed, StepFailed, snippet
from corpusforge.io.batching import BatchConfig, bounded
from corpusforge.io.inputs import InputConfig, read_unit
from corpusforge.io.progress import UnitProgress
from corpusforge.io.reader import Skipped
from corpusforge.io.sinks import Sinks
from corpusforge.io.units import WorkUnit
from corpusforge.io.utf8 import invalid_columns, invalid_new_rows
from corpusforge.io.writers import ErrorWriter, ShardedWriter
from corpusforge.schema import (
    FILE,
    ID,
    POS,
    REMOVED_REASON,
    TEXT,
    doc_counts,
    public_columns,
    text_bytes,
    token_counts,
)
from corpusforge.stages.base import Stage
from corpusforge.stages.context import StageContext
from corpusforge.stages.polling import ProgressPoller
from corpusforge.steps.base import Signals, Step
from corpusforge.steps.build import build_step

#: the reader's row in the stats
READ = "read"


@dataclass(frozen=True)
class MapWork:
    """Everything a unit task needs besides its unit (plain, picklable data)."""

    #: the pipeline's input configs, and the ``source`` value of each
    inputs: tuple[InputConfig, ...]
    sources: tuple[str, ...]
    #: ``(step reference, unique display name, parameters)`` per step
    steps: tuple[tuple[str, str, dict], ...]
    batch: BatchConfig
    on_error: str
    sinks: Sinks
    #: where running units report what they have read so far ("": nobody watches)
    progress: str = ""

    @property
    def names(self) -> list[str]:
        return [name for _, name, _ in self.steps]

    def key(self) -> str:
        """Identifies the work in a worker's cache (steps are set up once per worker)."""
        return hashlib.sha256(pickle.dumps(self)).hexdigest()


@dataclass(frozen=True)
class UnitTask:
    work: MapWork
    key: str
    unit: WorkUnit


class UnitRunner:
    """Holds a pipeline's built steps so a worker sets them up once for many units."""

    def __init__(self, work: MapWork) -> None:
        self.work = work
        # labelled with their unique names: annotate columns and reasons say which step it was
        self.steps: list[Step] = [build_step({"step": ref, **params}, label=name)
                                  for ref, name, params in work.steps]
        for step, name in zip(self.steps, work.names):
            try:
                step.setup()  # once per worker, before its first unit
            except Exception as e:
                # a model or word list that cannot be loaded fails every document alike: the
                # run stops here instead of writing one error record per document
                raise SetupFailed(f"step {name!r} could not be set up: {type(e).__name__}: {e}") from e
        self.names = work.names

    def run(self, unit: WorkUnit) -> RunStats:
        started = time.perf_counter()
        sinks = self.work.sinks
        stats = RunStats.empty([READ, *self.names])
        stats.units = 1
        main = sinks.writer(unit.index)
        rejects = sinks.rejects_writer(unit.index)
        errors = sinks.errors_writer(unit.index)
        read_stats = stats.steps[0]
        progress = UnitProgress(self.work.progress, unit.label)

        try:
            t0 = time.perf_counter()
            for item in self._read_guarded(unit):
                read_stats.seconds += time.perf_counter() - t0
                if isinstance(item, ErrorRecord):
                    if self.work.on_error == "fail":
                        raise StepFailed(f"reading {item.file!r} failed at position {item.position}: "
                                         f"{item.error}: {item.message}")
                    read_stats.docs_in += item.n_docs
                    read_stats.error(item.error, item.n_docs)
                    errors.write(item)
                elif isinstance(item, Skipped):
                    read_stats.docs_in += item.n
                    read_stats.remove(item.reason, item.n)
                else:
                    n, b = item.num_rows, text_bytes(item)
                    read_stats.docs_in += n
                    read_stats.docs_out += n
                    read_stats.bytes_in += b
                    read_stats.bytes_out += b
                    for batch in bounded(item, self.work.batch):
                        self._through_steps(batch, stats.steps[1:], main, rejects, errors)
                        progress.add(batch.num_rows, text_bytes(batch))
                t0 = time.perf_counter()
            main.commit()
            if rejects is not None:
                rejects.commit()
            errors.commit()
        except BaseException:
            # a failed unit (on_error: fail, a bug, a kill signal) leaves none of its files
            for sink in (main, rejects, errors):
                if sink is not None:
                    sink.discard()
            raise
        stats.wall_seconds = time.perf_counter() - started
        stats.check()
        return stats

    def _read_guarded(self, unit: WorkUnit) -> Iterator[pa.Table | ErrorRecord | Skipped]:
        """The unit's batches; a reader that raises (unreachable file, server without range
        requests, a bug) ends the unit with an error record instead of ending the run."""
        i = unit.input_index
        try:
            yield from read_unit(self.work.inputs[i], unit, self.work.sources[i], self.work.batch)
        except Exception as e:  # noqa: BLE001 - re-raised per on_error
            if self.work.on_error == "fail":
                raise StepFailed(f"reading {unit.name!r} failed: {type(e).__name__}: {e}") from e
            yield ErrorRecord.from_exception(READ, e, file=unit.name, position=unit.start or None,
                                             snippet="the rest of this work unit could not be read")

    def _through_steps(self, batch: pa.Table, step_stats: list[StepStats], main: ShardedWriter,
                       rejects: ShardedWriter | None, errors: ErrorWriter) -> None:
        for step, name, st in zip(self.steps, self.names, step_stats):
            t0 = time.perf_counter()
            st.docs_in += batch.num_rows
            st.bytes_in += text_bytes(batch)
            kept: list[pa.Table] = []
            for piece, removed, err, signals in self._guarded(step, name, batch):
                if piece is not None and piece.num_rows:
                    kept.append(piece)
                for sig in signals:
                    st.add_signals(sig.values, sig.keep, sig.thresholds)
                if removed is not None and removed.num_rows:
                    for reason, count in _count_reasons(removed).items():
                        st.remove(reason, count)
                    if rejects is not None:
                        rejects.write(self.work.sinks.reject_rows(removed, name), utf8_checked=True)
                        # the report's examples, chosen by id hash as the rejects are written
                        samples.merge(st.samples, samples.take(removed, self.work.sinks.rejects_text))
                for e in err:
                    st.error(e.error)
                    errors.write(e)
            batch = _concat(kept, batch.schema)
            st.docs_out += batch.num_rows
            st.bytes_out += text_bytes(batch)
            tokens = token_counts(batch)
            if tokens is not None:  # after a tokenize step: the summary's tokens per language
                st.add_tokens(tokens)
            st.seconds += time.perf_counter() - t0
            if batch.num_rows == 0:
                # later steps still see a (zero) batch count of nothing: nothing to do
                return
        if step_stats:  # what the map phase passes on, per source and language (the report)
            step_stats[-1].add_docs_by(doc_counts(batch))
        # the reader validated the input and every step's new strings were checked
        main.write(public_columns(batch), utf8_checked=True)

    def _guarded(self, step: Step, name: str, batch: pa.Table
                 ) -> Iterator[tuple[pa.Table | None, pa.Table | None, list[ErrorRecord], list[Signals]]]:
        """Apply a step; if it raises, bisect the batch to isolate the failing documents.
        Rows the step returns with invalid UTF-8 are its error records too."""
        try:
            result = step.apply(batch)
        except Exception as e:  # noqa: BLE001 - isolated below or re-raised per on_error
            if self.work.on_error == "fail":
                raise StepFailed(f"step {name!r} failed: {type(e).__name__}: {e}") from e
            if batch.num_rows == 1:
                yield None, None, [_error_of(name, e, batch)], []
                return
        else:
            out, bad_out = _split_invalid(result.out, batch)
            removed, bad_removed = _split_invalid(result.removed, batch)
            errs = [_invalid_utf8(name, bad, i) for bad in (bad_out, bad_removed) if bad is not None
                    for i in range(bad.num_rows)]
            if errs and self.work.on_error == "fail":
                raise StepFailed(f"step {name!r} failed: {errs[0].message}")
            # signals of rows that became error records would not add up: none then
            yield out, removed, errs, [] if errs else result.signals
            return
        half = batch.num_rows // 2
        yield from self._guarded(step, name, batch.slice(0, half))
        yield from self._guarded(step, name, batch.slice(half))


def _error_of(name: str, e: BaseException, row: pa.Table, i: int = 0) -> ErrorRecord:
    """The error record of row ``i``; never raises, whatever the row holds."""
    return ErrorRecord.from_exception(
        name, e, file=_value(row, FILE, i), position=_value(row, POS, i), id=_value(row, ID, i),
        snippet=snippet(_value(row, TEXT, i)))


def _invalid_utf8(name: str, rows: pa.Table, i: int) -> ErrorRecord:
    return _error_of(name, UnicodeError(f"step {name!r} returned invalid UTF-8 in column(s) "
                                        f"{', '.join(invalid_columns(rows.slice(i, 1)))}"), rows, i)


def _split_invalid(table: pa.Table | None, before: pa.Table) -> tuple[pa.Table | None, pa.Table | None]:
    """``table`` without its rows of invalid UTF-8 (strings the step made, not those it was
    given: those were checked), and those rows."""
    if table is None or table.num_rows == 0:
        return table, None
    bad = invalid_new_rows(table, before)
    if bad is None:
        return table, None
    return table.filter(pa.array(~bad)), table.filter(pa.array(bad))


def _value(batch: pa.Table, column: str, i: int = 0) -> Any:
    """One value for an error record: strings decoded leniently, since the row may be the
    one that holds invalid UTF-8 (``as_py`` would raise on it)."""
    if column not in batch.column_names:
        return None
    col = batch.column(column)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        raw = col.slice(i, 1).cast(pa.large_binary())[0].as_py()
        return None if raw is None else raw.decode("utf-8", errors="replace")
    return col[i].as_py()


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    if not tables:
        return schema.empty_table()
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _count_reasons(removed: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(removed.column(REMOVED_REASON).combine_chunks())
    return {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}


_worker_runner: tuple[str, UnitRunner] | None = None


def run_unit_task(task: UnitTask) -> RunStats:
    """One work unit as an executor task (a top-level function: picklable for processes and
    Ray). A worker keeps the runner of the last work it saw, keyed by its hash, so steps are
    set up once per worker rather than once per unit."""
    global _worker_runner
    if _worker_runner is None or _worker_runner[0] != task.key:
        _worker_runner = (task.key, UnitRunner(task.work))
    return _worker_runner[1].run(task.unit)


class MapStage(Stage):
    """The map phase: the pipeline's steps over every work unit, one task per unit."""

    name = "map"
    #: always entered: its unit markers are its record, and entering reports the progress
    skip_when_done = False

    def __init__(self, work: MapWork, units: list[WorkUnit], *,
                 on_start: Callable[[int, int], None] | None = None,
                 on_done: Callable[[WorkUnit, RunStats], None] | None = None,
                 on_found: Callable[[WorkUnit, RunStats], None] | None = None,
                 on_progress: Callable[[WorkUnit, int, int], None] | None = None) -> None:
        """``on_done(unit, stats)`` is called as each unit run now ends, ``on_found`` for each
        unit a resumed run finds finished, ``on_progress(unit, docs, bytes)`` (from another
        thread) as a running unit reports the documents and text bytes it has read so far."""
        super().__init__()
        self.work, self.units = work, units
        self.on_start, self.on_done, self.on_found = on_start, on_done, on_found
        self.on_progress = on_progress

    def run(self, ctx: StageContext) -> RunStats:
        folder = ctx.layout.progress_dir if self.on_progress is not None else ""
        work = replace(self.work, sinks=ctx.sinks, progress=folder)
        key = work.key()
        by_label = {u.label: u for u in self.units}
        on_progress = self.on_progress

        def moved(label: str, docs: int, nbytes: int) -> None:
            if on_progress is not None and label in by_label:
                on_progress(by_label[label], docs, nbytes)

        poller = ProgressPoller(folder, moved)

        def per(hook: Callable[[WorkUnit, RunStats], None] | None) -> Callable[[int, RunStats], None] | None:
            def call(i: int, stats: RunStats) -> None:
                poller.done(self.units[i].label)
                if hook is not None:
                    hook(self.units[i], stats)
            return call

        with poller if folder else contextlib.nullcontext():
            per_unit = ctx.map_tasks("", run_unit_task, [UnitTask(work, key, u) for u in self.units],
                                     names=[u.label for u in self.units], on_start=self.on_start,
                                     on_result=per(self.on_done), on_found=per(self.on_found))
        total = RunStats.empty([READ, *work.names])
        for stats in per_unit:
            stats.check()
            total.merge(stats)
        return total
