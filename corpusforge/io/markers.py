"""Completion markers: one format for every task of every phase.

A finished task leaves ``{"task": <name>, "result": <value>, "node": <where it ran>,
"memory": {"peak": <bytes>, "growth": <bytes>}}`` at its marker path, written atomically after the task's own files are in place; a resumed run
trusts the marker and skips the task. Results are JSON, or stats objects, which are tagged
so that they come back as the same type. A phase's marker has no node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corpusforge.accounting import RunStats, StepStats
from corpusforge.io.atomic import read_json, write_json

_TYPES: dict[str, type[StepStats] | type[RunStats]] = {"step_stats": StepStats, "run_stats": RunStats}


def _encode(value: Any) -> Any:
    for tag, cls in _TYPES.items():
        if isinstance(value, cls):
            return {"__type": tag, "value": value.to_dict()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        tag = value.get("__type")
        if tag in _TYPES and set(value) == {"__type", "value"}:
            return _TYPES[tag].from_dict(value["value"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@dataclass(frozen=True)
class Marker:
    """A finished task's result and the node it ran on (None: a phase, or a marker written
    before nodes were recorded)."""

    result: Any
    node: str | None = None
    #: the task's memory in bytes, ``{"peak", "growth"}`` (None: not recorded)
    memory: dict[str, int] | None = None


def write_marker(path: str, task: str, result: Any, node: str | None = None,
                 memory: dict[str, int] | None = None) -> None:
    data = {"task": task, "result": _encode(result)}
    if node is not None:
        data["node"] = node
    if memory is not None:
        data["memory"] = memory
    write_json(path, data, indent=True)


def read_marker(path: str) -> Marker | None:
    """The marker of a finished task, None when there is none."""
    try:
        data = read_json(path)
        if data is None or "result" not in data:
            return None
        node = data.get("node")
        memory = data.get("memory")
        if not (isinstance(memory, dict) and all(isinstance(memory.get(k), int) for k in ("peak", "growth"))):
            memory = None
        return Marker(_decode(data["result"]), node if isinstance(node, str) else None, memory)
    except (ValueError, TypeError, KeyError, AttributeError):
        # damaged (not written by this module): run again
        return None
