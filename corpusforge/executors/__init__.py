"""Executors: where a run's tasks run (local processes or Ray), behind one protocol."""

from corpusforge.executors.base import Executor, ExecutorUnavailable, OnResult
from corpusforge.executors.local import LocalExecutor
from corpusforge.executors.ray import RayExecutor


def make_executor(kind: str, workers: int, address: str | None = None) -> Executor:
    """The executor of a run: ``local`` processes or ``ray`` tasks (Ray is imported only when
    a Ray executor first runs something)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address)
    raise ValueError(f"unknown executor {kind!r} (local or ray)")


__all__ = ["Executor", "ExecutorUnavailable", "LocalExecutor", "OnResult", "RayExecutor", "make_executor"]
