"""The executor protocol: run a function over items in parallel, results in item order.

A run opens one executor for all its phases (the map phase and every stage), so a local
process pool is spawned once and a Ray instance is started once. Functions and items must
be picklable (top-level functions, plain data); ``on_result`` sees each result as its task
ends, with the node it ran on, which is how phases write their completion markers as they go.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol

#: ``on_result(i, result, node)``: task ``i`` ended with ``result`` on ``node`` (:func:`node_name`)
OnResult = Callable[[int, Any, str], None]


def node_name(ray_node_id: str | None = None) -> str:
    """How a run names the machine a task ran on: its host name, and on Ray the first 8 hex
    digits of the Ray node id (several Ray nodes may share a host, as in a test cluster)."""
    host = socket.gethostname()
    return f"{host}/{ray_node_id[:8]}" if ray_node_id else host


class ExecutorUnavailable(RuntimeError):
    """The executor's workers cannot be had (a cluster that cannot be reached or started)."""


class ExecutorFailed(RuntimeError):
    """The executor lost what a task needed to finish (the Ray cluster went away, its nodes or
    workers died more often than a task is retried, a ``runtime_env`` could not be set up).
    Tasks that had finished keep their markers: a resume continues from them."""


class Executor(Protocol):
    """A context manager that owns its workers (and, for Ray, the Ray instance it started)."""

    kind: str
    workers: int

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any],
            on_result: OnResult | None = None) -> list[Any]:
        """``[fn(x) for x in items]`` in parallel; ``on_result(i, result, node)`` as each task
        ends.

        The first task that raises stops the phase and the exception propagates; workers lost
        beyond recovery raise :class:`ExecutorFailed`.
        """
        ...

    def start(self) -> None:
        """Make sure the workers can be had (connect to the cluster) before a run touches its
        output; raises when they cannot."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

