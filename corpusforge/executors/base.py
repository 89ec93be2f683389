"""The executor protocol: run a function over items in parallel, results in item order.

A run opens one executor for all its phases (the map phase and every stage), so a local
process pool is spawned once and a Ray instance is started once. Functions and items must
be picklable (top-level functions, plain data); ``on_result`` sees each result as its task
ends, which is how phases write their completion markers as they go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

OnResult = Callable[[int, Any], None]


class ExecutorUnavailable(RuntimeError):
    """The executor's workers cannot be had (a cluster that cannot be reached or started)."""


class Executor(Protocol):
    """A context manager that owns its workers (and, for Ray, the Ray instance it started)."""

    kind: str
    workers: int

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any],
            on_result: OnResult | None = None) -> list[Any]:
        """``[fn(x) for x in items]`` in parallel; ``on_result(i, result)`` as each task ends.

        The first task that raises stops the phase and the exception propagates.
        """
        ...

    def start(self) -> None:
        """Make sure the workers can be had (connect to the cluster) before a run touches its
        output; raises when they cannot."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

