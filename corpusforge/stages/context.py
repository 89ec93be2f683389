"""What a stage gets to work with: its input shards, its sinks, a scratch folder and
resumable parallel tasks on the run's executor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
from fsspec.core import url_to_fs

from corpusforge.executors.tasks import TaskPool
from corpusforge.io.writers import TMP_SUFFIX, ShardedWriter, join
from corpusforge.runner import STATE_DIR, _reject_rows

#: where a pipeline with stages writes its map phase (documents, rejects, errors, markers)
MAP_DIR = "_map"
#: scratch space of the stages (signatures, band keys, ...), one folder per stage
WORK_DIR = "_work"


@dataclass(frozen=True)
class Sinks:
    """Picklable description of where a stage task writes; tasks open their own writers."""

    path: str
    format: str = "parquet"
    compression: str = "zstd"
    max_shard_bytes: int = 256 * 2**20
    partition_by: str | None = None
    #: ``<output>/_rejects`` or None when the pipeline keeps no rejects
    rejects: str | None = None
    rejects_text: bool = True
    #: the stage's display name: the ``step`` partition of its rejects
    step: str = ""

    def writer(self, task: int) -> ShardedWriter:
        """The document writer of task ``task`` (files ``part-<task>-<n>``)."""
        return ShardedWriter(self.path, task, self.format, self.compression, self.max_shard_bytes,
                             self.partition_by)

    def rejects_writer(self, task: int) -> ShardedWriter | None:
        if self.rejects is None:
            return None
        return ShardedWriter(self.rejects, task, "parquet", "zstd", self.max_shard_bytes,
                             partition_by="step")

    def reject_rows(self, removed: pa.Table) -> pa.Table:
        """Rows for the rejects sink (``id, source, url, step, reason, ...`` and ``reject_*`` columns)."""
        return _reject_rows(removed, self.step, self.rejects_text)


@dataclass
class StageContext:
    """Handed to :meth:`Stage.run`. Everything a task needs must travel in its item."""

    #: the stage's display name (unique in the pipeline) and position in ``stages:``
    name: str
    index: int
    #: Parquet shards written by the previous phase, in a deterministic (sorted) order;
    #: documents keep the public columns of the map phase (no ``__`` provenance)
    input_files: list[str]
    #: where the stage's documents and rejects go
    sinks: Sinks
    #: the run's output folder
    root: str
    #: a local scratch folder for this stage (kept for resume, under ``<output>/_work``)
    work_dir: str
    pool: TaskPool
    workers: int = 1
    _cache: dict = field(default_factory=dict, repr=False)

    def _markers(self) -> str:
        return join(self.root, STATE_DIR, "stages", f"{self.index:02d}-{self.name}")

    def forget_tasks(self) -> None:
        """Drop this stage's task markers: for a stage whose scratch files are gone, so that
        a resume does not trust results that pointed at them."""
        fs, _ = url_to_fs(self.root)
        if fs.exists(self._markers()):
            fs.rm(self._markers(), recursive=True)

    def map_tasks(self, phase: str, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(x) for x in items]`` in parallel, resumable per task.

        Each finished task leaves a marker holding its (JSON-serialisable) result; a
        resumed run returns stored results and runs only the missing tasks. Tasks must
        write their files atomically (temporary name + rename) and deterministically.
        """
        fs, _ = url_to_fs(self.root)
        folder = join(self._markers(), phase)
        fs.makedirs(folder, exist_ok=True)
        paths = [join(folder, f"task-{i:05d}.json") for i in range(len(items))]
        results: list[Any] = [None] * len(items)
        pending: list[int] = []
        for i, path in enumerate(paths):
            if fs.exists(path):
                with fs.open(path, "rb") as f:
                    results[i] = orjson.loads(f.read())["result"]
            else:
                pending.append(i)

        def done(j: int, value: Any) -> None:
            i = pending[j]
            results[i] = value
            with fs.open(paths[i] + TMP_SUFFIX, "wb") as f:
                f.write(orjson.dumps({"result": value}, option=orjson.OPT_SERIALIZE_NUMPY))
            fs.mv(paths[i] + TMP_SUFFIX, paths[i])

        self.pool.map(fn, [items[i] for i in pending], on_result=done)
        return results
