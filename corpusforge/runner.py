"""Running one work unit: read -> steps -> write, with accounting and error isolation.

This is the whole per-task contract both executors call; it knows nothing of how
units are scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fsspec.core import url_to_fs

from corpusforge.accounting import RunStats, StepStats
from corpusforge.config import Pipeline
from corpusforge.errors import ErrorRecord
from corpusforge.io.batching import bounded
from corpusforge.io.readers import read_unit
from corpusforge.io.units import WorkUnit
from corpusforge.io.writers import TMP_SUFFIX, ErrorWriter, ShardedWriter, join
from corpusforge.schema import (
    FILE,
    ID,
    POS,
    REASON,
    REMOVED_REASON,
    SOURCE,
    TEXT,
    URL,
    public_columns,
    text_bytes,
)
from corpusforge.steps.base import Step

STATE_DIR = "_state"
READ = "read"


class StepFailed(RuntimeError):
    """A step raised and the pipeline says ``on_error: fail``."""


def marker_path(output: str, unit: WorkUnit) -> str:
    return join(output, STATE_DIR, f"{unit.label}.json")


def read_marker(output: str, unit: WorkUnit) -> RunStats | None:
    fs, _ = url_to_fs(output)
    path = marker_path(output, unit)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as f:
        return RunStats.from_dict(orjson.loads(f.read())["stats"])


def _write_marker(output: str, unit: WorkUnit, stats: RunStats, files: list[str]) -> None:
    fs, _ = url_to_fs(output)
    path = marker_path(output, unit)
    fs.makedirs(path.rpartition("/")[0], exist_ok=True)
    with fs.open(path + TMP_SUFFIX, "wb") as f:
        f.write(orjson.dumps({"unit": unit.label, "stats": stats.to_dict(), "files": files},
                             option=orjson.OPT_INDENT_2))
    fs.mv(path + TMP_SUFFIX, path)


class UnitRunner:
    """Holds a pipeline's built steps so a worker sets them up once for many units."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.steps: list[Step] = pipeline.build_steps()
        for step in self.steps:
            step.setup()  # once per worker, before its first unit
        self.names = pipeline.step_names()

    def run(self, unit: WorkUnit) -> RunStats:
        started = time.perf_counter()
        p, out = self.pipeline, self.pipeline.output
        stats = RunStats.empty([READ, *self.names])
        stats.units = 1
        main = ShardedWriter(out.path, unit.index, out.format, out.compression, out.max_shard_bytes,
                             out.partition_by)
        # partitioned by step: each step's rejects have one schema (and are easy to browse)
        rejects = ShardedWriter(join(out.path, "_rejects"), unit.index, "parquet", "zstd",
                                out.max_shard_bytes, partition_by="step") if out.rejects else None
        errors = ErrorWriter(out.path, unit.index)
        read_stats = stats.steps[0]

        t0 = time.perf_counter()
        for item in self._read_guarded(unit):
            read_stats.seconds += time.perf_counter() - t0
            if isinstance(item, ErrorRecord):
                read_stats.docs_in += item.n_docs
                read_stats.errored += item.n_docs
                errors.write(item)
            else:
                n, b = item.num_rows, text_bytes(item)
                read_stats.docs_in += n
                read_stats.docs_out += n
                read_stats.bytes_in += b
                read_stats.bytes_out += b
                for batch in bounded(item, p.batch):
                    self._through_steps(batch, stats.steps[1:], main, rejects, errors)
            t0 = time.perf_counter()
        files = main.commit() + (rejects.commit() if rejects else []) + errors.commit()
        stats.wall_seconds = time.perf_counter() - started
        _write_marker(out.path, unit, stats, files)
        return stats

    def _read_guarded(self, unit: WorkUnit) -> Iterator[pa.Table | ErrorRecord]:
        """The unit's batches; a reader that raises (unreachable file, server without range
        requests, a bug) ends the unit with an error record instead of ending the run."""
        try:
            yield from read_unit(self.pipeline, unit)
        except Exception as e:  # noqa: BLE001 - re-raised per on_error
            if self.pipeline.on_error == "fail":
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
            for piece, removed, err in self._guarded(step, name, batch):
                if piece is not None and piece.num_rows:
                    kept.append(piece)
                if removed is not None and removed.num_rows:
                    for reason, count in _count_reasons(removed).items():
                        st.remove(reason, count)
                    if rejects is not None:
                        rejects.write(_reject_rows(removed, name, self.pipeline.output.rejects_text))
                if err is not None:
                    st.errored += 1
                    errors.write(err)
            batch = _concat(kept, batch.schema)
            st.docs_out += batch.num_rows
            st.bytes_out += text_bytes(batch)
            st.seconds += time.perf_counter() - t0
            if batch.num_rows == 0:
                # later steps still see a (zero) batch count of nothing: nothing to do
                return
        main.write(public_columns(batch))

    def _guarded(self, step: Step, name: str, batch: pa.Table
                 ) -> Iterator[tuple[pa.Table | None, pa.Table | None, ErrorRecord | None]]:
        """Apply a step; if it raises, bisect the batch to isolate the failing documents."""
        try:
            result = step.apply(batch)
            yield result.out, result.removed, None
            return
        except Exception as e:  # noqa: BLE001 - isolated below or re-raised per on_error
            if self.pipeline.on_error == "fail":
                raise StepFailed(f"step {name!r} failed: {type(e).__name__}: {e}") from e
            if batch.num_rows == 1:
                yield None, None, ErrorRecord.from_exception(
                    name, e, file=_first(batch, FILE), position=_first(batch, POS),
                    id=_first(batch, ID), snippet=(_first(batch, TEXT) or "")[:300])
                return
        half = batch.num_rows // 2
        yield from self._guarded(step, name, batch.slice(0, half))
        yield from self._guarded(step, name, batch.slice(half))


def _first(batch: pa.Table, column: str):
    return batch.column(column)[0].as_py() if column in batch.column_names else None


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    if not tables:
        return schema.empty_table()
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _count_reasons(removed: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(removed.column(REMOVED_REASON).combine_chunks())
    return {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}


def _reject_rows(removed: pa.Table, step: str, with_text: bool) -> pa.Table:
    n = removed.num_rows
    cols = {
        ID: removed.column(ID),
        SOURCE: removed.column(SOURCE),
        URL: removed.column(URL) if URL in removed.column_names else pa.nulls(n, pa.string()),
        "step": pa.repeat(pa.scalar(step), n),
        REASON: removed.column(REMOVED_REASON).cast(pa.string()),
        "file": removed.column(FILE) if FILE in removed.column_names else pa.nulls(n, pa.string()),
        "position": removed.column(POS) if POS in removed.column_names else pa.nulls(n, pa.int64()),
    }
    if with_text:
        cols[TEXT] = removed.column(TEXT)
    # extra keys (e.g. the id a near-duplicate was matched to) travel with the reject
    for extra in removed.column_names:
        if extra.startswith("reject_"):
            cols[extra] = removed.column(extra)
    return pa.table(cols)


_worker_runner: tuple[str, UnitRunner] | None = None


def run_unit_task(task: tuple[Pipeline, str, WorkUnit]) -> dict:
    """One work unit as an executor task (a top-level function: picklable for processes and
    Ray). A worker keeps the runner of the last pipeline it saw, keyed by the pipeline's hash,
    so steps are set up once per worker rather than once per unit."""
    global _worker_runner
    pipeline, key, unit = task
    if _worker_runner is None or _worker_runner[0] != key:
        _worker_runner = (key, UnitRunner(pipeline))
    return _worker_runner[1].run(unit).to_dict()

