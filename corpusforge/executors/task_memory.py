"""How much memory each task took: the peak resident set of its process while it ran.

Every task of every phase runs through :func:`measured`, which returns a :class:`Measured`
with the task's result and two figures: ``peak``, the process's largest resident set during
the task, and ``growth``, that peak less the resident set when the task started (what the
task itself needed on top of its worker: imports, models and the previous tasks' freed but
retained pages are in ``peak``, not in ``growth``). These are the figures a global stage's
per-task memory bound is stated and checked in (docs/scaling.md).

The peak is sampled (every :data:`INTERVAL` seconds, by a thread) and, when the task raised
the process's own high-water mark (``VmHWM``), read exactly from it. The high-water mark is
never reset: a reset would also hide the peak from whoever watches the process from outside
(a benchmark's ``getrusage``, a cluster's monitor).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import psutil

#: seconds between two samples of the resident set
INTERVAL = 0.01


@dataclass(frozen=True)
class Measured:
    """A task's result and the memory it took, in bytes."""

    value: Any
    peak: int
    growth: int


def _high_water() -> int | None:
    """The process's peak resident set so far (Linux), None where the kernel does not say."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class _Sampler(threading.Thread):
    """The largest resident set seen while the task runs."""

    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True, name="corpusforge-task-memory")
        self.process = process
        self.peak = process.memory_info().rss
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(INTERVAL):
            self.peak = max(self.peak, self.process.memory_info().rss)


def _run(fn: Callable[[Any], Any], item: Any) -> Measured:
    process = psutil.Process()
    start = process.memory_info().rss
    mark = _high_water()
    sampler = _Sampler(process)
    sampler.start()
    try:
        value = fn(item)
    finally:
        sampler.stop.set()
        sampler.join()
    peak = max(sampler.peak, process.memory_info().rss)
    after = _high_water()
    if mark is not None and after is not None and after > mark:
        peak = max(peak, after)  # this task set the process's record: the exact figure
    return Measured(value, peak, max(0, peak - start))


def measured(fn: Callable[[Any], Any]) -> Callable[[Any], Measured]:
    """``fn`` as a picklable callable whose result comes with the memory it took."""
    return partial(_run, fn)
