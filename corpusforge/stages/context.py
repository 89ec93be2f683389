"""What a phase gets to work with: its input shards, its sinks, a scratch folder and
resumable parallel tasks on the run's executor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from corpusforge.accounting import RunStats, StepStats
from corpusforge.executors import Executor
from corpusforge.executors.task_memory import Measured, measured
from corpusforge.io.layout import OutputLayout, join
from corpusforge.io.markers import read_marker, write_marker
from corpusforge.io.sinks import Sinks
from corpusforge.io.storage import filesystem, with_storage

#: the run log's lines (one per task queued and done, with its counts and node)
log = logging.getLogger(__name__)


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
    #: tasks per node of each task group of the phase (``map``, ``00-dedup/sign`` ...), the
    #: finished tasks of an earlier run included; filled by :meth:`map_tasks`
    nodes: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the memory of each task group's tasks (``tasks`` measured, the largest ``peak`` and
    #: ``growth`` in bytes, :mod:`~corpusforge.executors.task_memory`); filled like :attr:`nodes`
    memory: dict[str, dict[str, int]] = field(default_factory=dict)

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
        tally = self.nodes.setdefault(join(self.key, phase), {})
        memory = self.memory.setdefault(join(self.key, phase), {})
        present = self._listed(folder)
        for i, path in enumerate(paths):
            # one listing of the folder, not a request per missing marker (a bucket answers
            # each in tens of milliseconds)
            listed = "/" not in labels[i]  # a label with a folder is not in the listing
            marker = read_marker(path) if not listed or f"{labels[i]}.json" in present else None
            if marker is not None:
                results[i] = marker.result
                _count(tally, marker.node)
                _add_memory(memory, marker.memory)
                if on_found is not None:
                    on_found(i, marker.result)
            else:
                pending.append(i)
        if on_start is not None:
            on_start(len(items), len(items) - len(pending))
        group = join(self.key, phase)
        # the extras are for a progress view (the command line's bar per phase)
        log.info("%s: %d task(s), %d done earlier", group, len(items), len(items) - len(pending),
                 extra={"task_group": group, "tasks": len(items), "done_earlier": len(items) - len(pending)})
        for i in pending:
            log.info("%s: task %s queued", group, labels[i])

        def done(j: int, result: Measured, node: str) -> None:
            i = pending[j]
            value = results[i] = result.value
            took = {"peak": result.peak, "growth": result.growth}
            write_marker(paths[i], labels[i], value, node, took)
            _count(tally, node)
            _add_memory(memory, took)
            log.info("%s: task %s done on %s: %s; memory peak %s MB (+%s MB)", group, labels[i], node,
                     _counts(value), _mb(result.peak), _mb(result.growth),
                     extra={"task_group": group, "task_done": labels[i], "task_peak": result.peak,
                            "task_growth": result.growth})
            errored = _errored(value)
            if errored:
                log.warning("%s: task %s: %d document(s) became error records (see %s)", group, labels[i],
                            errored, self.sinks.errors)
            if on_result is not None:
                on_result(i, value)

        # the storage options travel with each task: a worker opens files as the driver does
        self.executor.map(measured(with_storage(fn)), [items[i] for i in pending], on_result=done)
        return results

    def recount_nodes(self) -> None:
        """Fill :attr:`nodes` from the task markers of a phase that finished in an earlier run
        (a resume skips it, so :meth:`map_tasks` never sees them)."""
        root = self.layout.task_markers(self.key)
        fs, folder = filesystem(root)
        if not fs.exists(folder):
            return
        for path in sorted(fs.find(folder)):
            relative = path[len(folder.rstrip("/")) + 1:]
            if relative.endswith(".json"):
                marker = read_marker(join(root, relative))
                if marker is not None:
                    group = join(self.key, relative.rpartition("/")[0])
                    _count(self.nodes.setdefault(group, {}), marker.node)
                    _add_memory(self.memory.setdefault(group, {}), marker.memory)


def _counts(value: Any) -> str:
    """A task's result in a few words for the run log."""
    if isinstance(value, RunStats) and value.steps:
        first, last = value.steps[0], value.steps[-1]
        return (f"{first.docs_in} docs in, {last.docs_out} out, "
                f"{sum(s.docs_removed for s in value.steps)} removed, {sum(s.errored for s in value.steps)} errored")
    if isinstance(value, StepStats):
        return f"{value.docs_in} docs in, {value.docs_out} out, {value.docs_removed} removed, {value.errored} errored"
    return "finished"


def _errored(value: Any) -> int:
    if isinstance(value, RunStats):
        return sum(s.errored for s in value.steps)
    return value.errored if isinstance(value, StepStats) else 0


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def _add_memory(group: dict[str, int], took: dict[str, int] | None) -> None:
    """One task's memory into its group's largest figures (a marker from before the memory
    was recorded adds nothing)."""
    if took is None:
        return
    group["tasks"] = group.get("tasks", 0) + 1
    for key in ("peak", "growth"):
        group[key] = max(group.get(key, 0), int(took[key]))


def _count(tally: dict[str, int], node: str | None) -> None:
    # a marker written before nodes were recorded
    node = node or "unknown"
    tally[node] = tally.get(node, 0) + 1
