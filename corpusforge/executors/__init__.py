"""Executors: where a run's tasks run (local processes or Ray), behind one protocol."""

from corpusforge.executors.base import (
    Executor,
    ExecutorFailed,
    ExecutorUnavailable,
    OnResult,
    node_name,
)
from corpusforge.executors.local import LocalExecutor
from corpusforge.executors.ray import RayExecutor


def make_executor(kind: str, workers: int | None, address: str | None = None,
                  runtime_env: dict | None = None) -> Executor:
    """The executor of a run: ``local`` processes or ``ray`` tasks (Ray is imported only when
    a Ray executor first runs something). ``workers`` None: this machine's CPUs (local), the
    Ray instance's or cluster's CPUs (ray)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address, runtime_env)
    raise ValueError(f"unknown executor {kind!r} (local or ray)")


__all__ = ["Executor", "ExecutorFailed", "ExecutorUnavailable", "LocalExecutor", "OnResult", "RayExecutor",
           "make_executor", "node_name"]
