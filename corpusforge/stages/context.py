"""What a phase gets to work with: its input shards, its sinks, a scratch folder and
resumable parallel tasks on the run's executor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corpusforge.executors import Executor
from corpusforge.io.layout import OutputLayout, join
from corpusforge.io.markers import read_marker, write_marker
from corpusforge.io.sinks import Sinks
from corpusforge.io.storage import filesystem, with_storage


@dataclass
class StageContext:
    """Handed to :meth:`Stage.run` by the driver. Everything a task needs must travel in its
    item (tasks run in other processes or on other machines)."""

    #: the phase's display name (unique in the pipeline) and its key in the layout
    #: (``map``, ``00-dedup`` ...)
    name: str
    key: str
    #: Parquet shards written by the previous phase, in a deterministic (sorted) order;
    #: documents keep the public columns of the map phase (no ``__`` provenance)
    input_files: list[str]
    #: where the phase's documents, rejects and errors go
    sinks: Sinks
    layout: OutputLayout
    executor: Executor

    @property
    def root(self) -> str:
        """The run's output folder."""
        return self.layout.root

    @property
    def work_dir(self) -> str:
        """A scratch folder for this phase (kept for resume, removed when the phase is done)."""
        return self.layout.work_dir(self.key)

    @property
    def workers(self) -> int:
        return self.executor.workers

    def forget_tasks(self) -> None:
        """Drop this phase's task markers: for a stage whose scratch files are gone, so that
        a resume does not trust results that pointed at them."""
        fs, folder = filesystem(self.layout.task_markers(self.key))
        if fs.exists(folder):
            fs.rm(folder, recursive=True)

    @staticmethod
    def _listed(folder: str) -> set[str]:
        """Names of the files in ``folder`` (none when it does not exist)."""
        fs, root = filesystem(folder)
        try:
            return {p.rstrip("/").rpartition("/")[2] for p in fs.ls(root, detail=False)}
        except FileNotFoundError:
            return set()

    def map_tasks(self, phase: str, fn: Callable[[Any], Any], items: Sequence[Any], *,
                  names: Sequence[str] | None = None,
                  on_start: Callable[[int, int], None] | None = None,
                  on_result: Callable[[int, Any], None] | None = None,
                  on_found: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``[fn(x) for x in items]`` in parallel, resumable per task.

        Each finished task leaves a marker (``<phase>/task-<n>.json``, or ``names[n]``)
        holding its result (JSON or stats); a resumed run returns stored results and runs only
        the missing tasks. Tasks must write their files atomically and deterministically.
        ``on_start(total, already_done)`` is called once, ``on_result(i, result)`` per task
        run now, ``on_found(i, result)`` per task found finished (before ``on_start``).
        """
        folder = join(self.layout.task_markers(self.key), phase)
        labels = list(names) if names is not None else [f"task-{i:05d}" for i in range(len(items))]
        paths = [join(folder, f"{label}.json") for label in labels]
        results: list[Any] = [None] * len(items)
        pending: list[int] = []
        present = self._listed(folder)
        for i, path in enumerate(paths):
            # one listing of the folder, not a request per missing marker (a bucket answers
            # each in tens of milliseconds)
            listed = "/" not in labels[i]  # a label with a folder is not in the listing
            found, value = read_marker(path) if not listed or f"{labels[i]}.json" in present \
                else (False, None)
            if found:
                results[i] = value
                if on_found is not None:
                    on_found(i, value)
            else:
                pending.append(i)
        if on_start is not None:
            on_start(len(items), len(items) - len(pending))

        def done(j: int, value: Any) -> None:
            i = pending[j]
            results[i] = value
            write_marker(paths[i], labels[i], value)
            if on_result is not None:
                on_result(i, value)

        # the storage options travel with each task: a worker opens files as the driver does
        self.executor.map(with_storage(fn), [items[i] for i in pending], on_result=done)
        return results
