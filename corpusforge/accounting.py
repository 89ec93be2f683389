"""Per-step document accounting: what came in, what went out, and why the rest did not.

The invariant every step keeps, checked by tests and by :meth:`StepStats.check`::

    docs_in == docs_out + sum(removed.values()) + errored
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field


class ConservationError(AssertionError):
    """A step lost or invented documents."""


@dataclass
class StepStats:
    """Counters for one step (or the reader) over any number of batches."""

    name: str
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    errored: int = 0
    seconds: float = 0.0
    #: error records by kind (the exception's type name): what the error budget's message and
    #: the summary name; ``errored`` counts documents, a record may stand for several
    error_kinds: dict[str, int] = field(default_factory=dict)

    def remove(self, reason: str, n: int = 1) -> None:
        if n:
            self.removed[reason] = self.removed.get(reason, 0) + n

    def error(self, kind: str, docs: int = 1) -> None:
        """One error record of ``kind`` standing for ``docs`` documents."""
        self.errored += docs
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    @property
    def error_records(self) -> int:
        return sum(self.error_kinds.values())

    @property
    def docs_removed(self) -> int:
        return sum(self.removed.values())

    def merge(self, other: StepStats) -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.errored += other.errored
        self.seconds += other.seconds
        for reason, n in other.removed.items():
            self.remove(reason, n)
        for kind, n in other.error_kinds.items():
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + n

    def check(self) -> None:
        if self.docs_in != self.docs_out + self.docs_removed + self.errored:
            raise ConservationError(
                f"step {self.name!r}: in={self.docs_in} != out={self.docs_out} + "
                f"removed={self.docs_removed} + errored={self.errored}"
            )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["removed"] = dict(sorted(self.removed.items()))
        d["error_kinds"] = dict(sorted(self.error_kinds.items()))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> StepStats:
        """Stats read back (a marker, a stats file, maybe someone else's): the types are
        checked, so that a damaged file is refused here and not where a count is used."""
        try:
            out = cls(**{k: (dict(v) if k in ("removed", "error_kinds") else v)
                         for k, v in _mapping(d).items()})
        except (TypeError, ValueError) as e:  # an unknown key, `removed` not a mapping
            raise ValueError(f"not the stats of a step: {e}") from None
        if not isinstance(out.name, str):
            raise ValueError(f"a step's name is a string, not {out.name!r}")
        for key in ("docs_in", "docs_out", "bytes_in", "bytes_out", "errored"):
            _count(getattr(out, key), key)
        for reason, n in out.removed.items():
            if not isinstance(reason, str):
                raise ValueError(f"a removal reason is a string, not {reason!r}")
            _count(n, f"removed[{reason!r}]")
        for kind, n in out.error_kinds.items():
            if not isinstance(kind, str):
                raise ValueError(f"an error kind is a string, not {kind!r}")
            _count(n, f"error_kinds[{kind!r}]")
        _seconds(out.seconds, "seconds")
        return out


def sum_stats(name: str, parts: Iterable[StepStats]) -> StepStats:
    """One step's (or stage's) stats from those of its tasks."""
    total = StepStats(name)
    for part in parts:
        total.merge(part)
    return total


@dataclass
class RunStats:
    """Stats of a run: one :class:`StepStats` per step, in pipeline order."""

    steps: list[StepStats]
    units: int = 0
    wall_seconds: float = 0.0

    @classmethod
    def empty(cls, names: Iterable[str]) -> RunStats:
        return cls([StepStats(n) for n in names])

    def merge(self, other: RunStats) -> None:
        if [s.name for s in self.steps] != [s.name for s in other.steps]:
            raise ValueError("cannot merge stats of different pipelines")
        for mine, theirs in zip(self.steps, other.steps):
            mine.merge(theirs)
        self.units += other.units

    def check(self) -> None:
        for s in self.steps:
            s.check()

    def to_dict(self) -> dict:
        first, last = (self.steps[0], self.steps[-1]) if self.steps else (None, None)
        return {
            "units": self.units,
            "wall_seconds": round(self.wall_seconds, 3),
            "docs_read": first.docs_out if first else 0,
            "docs_written": last.docs_out if last else 0,
            "docs_per_second": round(first.docs_in / self.wall_seconds, 1)
            if first and self.wall_seconds
            else None,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunStats:
        d = _mapping(d)
        if not isinstance(d.get("steps"), list):
            raise ValueError("stats have a list of `steps`")
        out = cls([StepStats.from_dict(s) for s in d["steps"]], units=d.get("units", 0),
                  wall_seconds=d.get("wall_seconds", 0.0))
        _count(out.units, "units")
        _seconds(out.wall_seconds, "wall_seconds")
        return out


def _mapping(d: object) -> dict:
    if not isinstance(d, dict):
        raise ValueError(f"stats are a mapping, not {type(d).__name__}")
    return d


def _count(n: object, key: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{key} is a count, not {n!r}")


def _seconds(t: object, key: str) -> None:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < float("inf"):
        raise ValueError(f"{key} is a duration in seconds, not {t!r}")
