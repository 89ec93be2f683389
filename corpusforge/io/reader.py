"""The reader contract: what an input type provides, and the registry the types join.

An input type is one module holding its config model (a strict model with a
``type: Literal["<tag>"]`` field), a ``plan`` that cuts a configured input into work
units and a ``read`` that turns one unit into batches and error records. The module
calls :func:`register_reader` once per type; ``corpusforge.io.inputs`` imports the
built-in modules and builds the pipeline's input union from what they registered.

Kept apart from ``io/inputs.py`` so that a reader module can register itself without
importing the module that imports it.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import pyarrow as pa

from corpusforge.errors import ErrorRecord
from corpusforge.io.batching import BatchConfig
from corpusforge.io.units import WorkUnit
from corpusforge.models import Model

C = TypeVar("C", bound=Model)

#: ``plan(cfg, input_index)``: the input's work units, ``index`` left at 0 (the caller numbers them)
PlanFn = Callable[[C, int], list[WorkUnit]]


@dataclass(frozen=True)
class Skipped:
    """Items of an input that are not documents (a directory or a link in an archive): the
    ``read`` step counts them as removed with ``reason``, so that the stats show them."""

    reason: str
    n: int = 1


#: ``read(unit, cfg, source, batch)``: the unit's batches, error records and skipped items, in order
ReadFn = Callable[[WorkUnit, C, str, BatchConfig], Iterator[pa.Table | ErrorRecord | Skipped]]


@dataclass(frozen=True)
class Reader(Generic[C]):
    """One input type: its ``type:`` tag, its config model, how it is planned and read."""

    tag: str
    config: type[C]
    plan: PlanFn
    read: ReadFn

    @property
    def module(self) -> str:
        """The module that defines the type (its config model's module)."""
        return self.config.__module__


_READERS: dict[str, Reader] = {}


def register_reader(tag: str, config: type[C], plan: PlanFn, read: ReadFn) -> Reader[C]:
    """Make ``config`` an input type named ``tag``, read by ``plan`` and ``read``."""
    field = config.model_fields.get("type")
    if field is None or typing.get_args(field.annotation) != (tag,):
        raise ValueError(f"{config.__qualname__} needs a field `type: Literal[{tag!r}]` to be "
                         f"registered as input type {tag!r}")
    other = _READERS.get(tag)
    if other is not None and other.config is not config:
        raise ValueError(f"input type {tag!r} is taken by {other.module}.{other.config.__qualname__}")
    reader = Reader(tag, config, plan, read)
    _READERS[tag] = reader
    return reader


def registered_readers() -> list[Reader]:
    """Every registered input type, in registration order."""
    return list(_READERS.values())


def reader_for(tag: str) -> Reader:
    """The registered input type ``tag`` (KeyError when there is none)."""
    return _READERS[tag]
