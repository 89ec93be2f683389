"""Where a phase's tasks write: documents, rejects and error records.

The driver decides a phase's :class:`Sinks` (the last phase writes the output's format
and partitioning to the output root; earlier phases write Parquet to their folder; every
phase writes rejects to ``_rejects/step=<name>/`` and errors to ``_errors/``). A task opens
its own writers from it, so the description is small, frozen and picklable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from corpusforge.io.writers import ErrorWriter, ShardedWriter
from corpusforge.schema import (
    FILE,
    ID,
    POS,
    REASON,
    REJECT_FILE,
    REJECT_POSITION,
    REJECT_PREFIX,
    REMOVED_REASON,
    SOURCE,
    STEP,
    TEXT,
    URL,
)


@dataclass(frozen=True)
class Sinks:
    """Picklable description of one phase's outputs."""

    #: the documents' folder
    path: str
    format: str = "parquet"
    compression: str = "zstd"
    max_shard_bytes: int = 256 * 2**20
    partition_by: str | None = None
    #: ``<output>/_rejects`` or None when the pipeline keeps no rejects
    rejects: str | None = None
    rejects_text: bool = True
    #: ``<output>/_errors``
    errors: str | None = None
    #: error files are ``<errors_prefix>-<task>.jsonl`` (phases must not share a prefix)
    errors_prefix: str = "part"
    #: the ``step`` of a stage's rejects (map-phase rejects name their own step)
    step: str = ""

    def writer(self, task: int) -> ShardedWriter:
        """The document writer of task ``task`` (files ``part-<task>-<n>``)."""
        return ShardedWriter(self.path, task, self.format, self.compression, self.max_shard_bytes,
                             self.partition_by)

    def rejects_writer(self, task: int) -> ShardedWriter | None:
        # partitioned by step: each step's rejects have one schema (and are easy to browse)
        if self.rejects is None:
            return None
        return ShardedWriter(self.rejects, task, "parquet", "zstd", self.max_shard_bytes,
                             partition_by=STEP)

    def errors_writer(self, task: int) -> ErrorWriter:
        if self.errors is None:
            raise ValueError("this phase has no errors sink")
        return ErrorWriter(self.errors, f"{self.errors_prefix}-{task:05d}")

    def reject_rows(self, removed: pa.Table, step: str | None = None) -> pa.Table:
        """Rows for the rejects sink: ``id, source, url, step, reason, file, position``, the
        text unless ``rejects_text`` is off, and any ``reject_*`` columns (a filter's signal
        values, the id a duplicate matched), sorted by name."""
        return reject_rows(removed, self.step if step is None else step, self.rejects_text)


def reject_rows(removed: pa.Table, step: str, with_text: bool) -> pa.Table:
    n = removed.num_rows

    def optional(name: str, type_: pa.DataType) -> pa.ChunkedArray | pa.Array:
        return removed.column(name) if name in removed.column_names else pa.nulls(n, type_)

    cols = {
        ID: removed.column(ID),
        SOURCE: removed.column(SOURCE),
        URL: optional(URL, pa.string()),
        STEP: pa.repeat(pa.scalar(step), n),
        REASON: removed.column(REMOVED_REASON).cast(pa.string()),
        REJECT_FILE: optional(FILE, pa.string()),
        REJECT_POSITION: optional(POS, pa.int64()),
    }
    if with_text:
        cols[TEXT] = removed.column(TEXT)
    # sorted: the same columns in the same order whichever branch or step removed a batch's
    # rows (a shard of one schema takes every batch of its step)
    for extra in sorted(c for c in removed.column_names if c.startswith(REJECT_PREFIX)):
        cols[extra] = removed.column(extra)
    return pa.table(cols)
