"""Per-step document accounting: what came in, what went out, and why the rest did not.

The invariant every step keeps, checked by tests and by :meth:`StepStats.check`::

    docs_in == docs_out + sum(removed.values()) + errored
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

#: the key of a histogram's missing values (``corpusforge.histogram.NAN``, which imports numpy:
#: the light commands read stats without it)
_NAN = "nan"


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
    #: tokens of the documents passed on, by source then language, when they carry token counts
    #: (``n_tokens``); None when this step never saw them. A mix counts its train copies.
    tokens: dict[str, dict[str, int]] | None = None
    #: a stage's token targets by language: ``{"target", "tokens", "met"}`` (and what it held
    #: out, ``validation``); what the summary reports as met or not
    targets: dict[str, dict] = field(default_factory=dict)
    #: error records by kind (the exception's type name): what the error budget's message and
    #: the summary name; ``errored`` counts documents, a record may stand for several
    error_kinds: dict[str, int] = field(default_factory=dict)
    #: a filter's signals: ``{signal: {"kept": hist, "removed": hist, "thresholds": {key:
    #: value}}}`` on the fixed bins of :mod:`corpusforge.histogram` (annotate mode counts the
    #: documents it would remove as removed)
    histograms: dict[str, dict] = field(default_factory=dict)
    #: removed documents per reason, the smallest id hashes (:mod:`corpusforge.samples`)
    samples: dict[str, list[dict]] = field(default_factory=dict)
    #: a dedup stage's largest duplicate clusters: their kept document (a sample, see
    #: :func:`corpusforge.samples.largest_clusters`) and ``size``, largest first
    clusters: list[dict] = field(default_factory=list)
    #: documents and text bytes passed on, by source then language (``[docs, bytes]``), counted
    #: by the last step of the map phase; None elsewhere
    docs_by: dict[str, dict[str, list[int]]] | None = None

    def add_docs_by(self, counts: dict[str, dict[str, list[int]]]) -> None:
        mine = {} if self.docs_by is None else self.docs_by
        for source, langs in counts.items():
            row = mine.setdefault(source, {})
            for lang, (docs, nbytes) in langs.items():
                have = row.setdefault(lang, [0, 0])
                have[0] += docs
                have[1] += nbytes
        self.docs_by = mine

    def add_signals(self, signals: dict[str, object], keep: object,
                    thresholds: dict[str, dict[str, float]]) -> None:
        """Count one batch's numeric signals, split by the keep mask."""
        import numpy as np

        from corpusforge import histogram

        keep = np.asarray(keep, dtype=bool)
        for name, values in signals.items():
            floats = histogram.numeric(values)
            if floats is None or floats.shape != keep.shape:
                continue
            h = self.histograms.setdefault(name, {"kept": {}, "removed": {}, "thresholds": {}})
            histogram.add(h["kept"], histogram.counts(floats[keep]))
            histogram.add(h["removed"], histogram.counts(floats[~keep]))
            h["thresholds"].update(thresholds.get(name, {}))

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
        if other.tokens is not None:
            self.add_tokens(other.tokens)
        self.targets.update(other.targets)
        if other.docs_by is not None:
            self.add_docs_by(other.docs_by)
        if other.histograms or other.samples or other.clusters:
            self._merge_report(other)

    def _merge_report(self, other: StepStats) -> None:
        from corpusforge import histogram, samples

        for name, h in other.histograms.items():
            mine = self.histograms.setdefault(name, {"kept": {}, "removed": {}, "thresholds": {}})
            histogram.add(mine["kept"], h["kept"])
            histogram.add(mine["removed"], h["removed"])
            mine["thresholds"].update(h.get("thresholds", {}))
        samples.merge(self.samples, other.samples)
        if other.clusters:
            self.clusters = samples.merge_clusters(self.clusters, other.clusters)

    def add_tokens(self, counts: dict[str, dict[str, int]]) -> None:
        """Add token counts (``{source: {lang: tokens}}``); the step now counts tokens."""
        mine = {} if self.tokens is None else self.tokens
        for source, langs in counts.items():
            row = mine.setdefault(source, {})
            for lang, n in langs.items():
                row[lang] = row.get(lang, 0) + n
        self.tokens = mine

    def check(self) -> None:
        if self.docs_in != self.docs_out + self.docs_removed + self.errored:
            raise ConservationError(
                f"step {self.name!r}: in={self.docs_in} != out={self.docs_out} + "
                f"removed={self.docs_removed} + errored={self.errored}"
            )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["removed"] = dict(sorted(self.removed.items()))
        # only when there is something to say: stats of a run without tokens look as before
        if self.tokens is None:
            del d["tokens"]
        else:
            d["tokens"] = {s: dict(sorted(v.items())) for s, v in sorted(self.tokens.items())}
        if not self.targets:
            del d["targets"]
        if self.error_kinds:
            d["error_kinds"] = dict(sorted(self.error_kinds.items()))
        else:
            del d["error_kinds"]
        # only a filter's stats have histograms, only a step that removed has samples
        for key in ("histograms", "samples", "clusters"):
            if not d[key]:
                del d[key]
        if self.docs_by is None:
            del d["docs_by"]
        else:
            d["docs_by"] = {s: dict(sorted(v.items())) for s, v in sorted(self.docs_by.items())}
        if self.histograms:
            d["histograms"] = {
                name: {"kept": _by_bin(h["kept"]), "removed": _by_bin(h["removed"]),
                       "thresholds": dict(sorted(h["thresholds"].items()))}
                for name, h in sorted(self.histograms.items())}
        if self.samples:
            d["samples"] = dict(sorted(self.samples.items()))
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
        out.histograms = _histograms(out.histograms)
        if out.docs_by is not None:
            out.docs_by = {source: {lang: _pair(v, f"docs_by[{source!r}][{lang!r}]")
                                    for lang, v in _mapping(langs, f"docs_by[{source!r}]").items()}
                           for source, langs in _mapping(out.docs_by, "docs_by").items()}
        out.samples = _samples(out.samples)
        if not (isinstance(out.clusters, list) and all(
                isinstance(c, dict) and isinstance(c.get("hash"), str) and not isinstance(c.get("size"), bool)
                and isinstance(c.get("size"), int) for c in out.clusters)):
            raise ValueError("clusters are a list of kept documents with their cluster's size")
        if out.tokens is not None:
            out.tokens = {source: dict(_mapping(langs, f"tokens[{source!r}]"))
                          for source, langs in _mapping(out.tokens, "tokens").items()}
            for source, langs in out.tokens.items():
                for lang, n in langs.items():
                    _count(n, f"tokens[{source!r}][{lang!r}]")
        for lang, t in _mapping(out.targets, "targets").items():
            t = _mapping(t, f"targets[{lang!r}]")
            if not (isinstance(t.get("target"), int | float) and isinstance(t.get("met"), bool)):
                raise ValueError(f"targets[{lang!r}] has a numeric `target` and a boolean `met`")
            _count(t.get("tokens"), f"targets[{lang!r}].tokens")
            if "validation" in t:
                _count(t["validation"], f"targets[{lang!r}].validation")
        return out

    def token_total(self) -> int:
        return sum(n for langs in (self.tokens or {}).values() for n in langs.values())

    def tokens_by(self, key: str) -> dict[str, int]:
        """Tokens per ``"language"`` or per ``"source"``, most first."""
        out: dict[str, int] = {}
        for source, langs in (self.tokens or {}).items():
            for lang, n in langs.items():
                k = lang if key == "language" else source
                out[k] = out.get(k, 0) + n
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


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
    #: where the work ran: tasks per node of each task group (``map``, ``00-dedup/sign`` ...)
    nodes: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the memory of each task group's tasks: ``{group: {"tasks", "peak", "growth"}}``, the
    #: largest peak resident set and growth over the group's tasks, in bytes
    memory: dict[str, dict[str, int]] = field(default_factory=dict)

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

    def token_step(self) -> StepStats | None:
        """The last step or stage that counted tokens: what the run's output holds, when it
        is the last one (a step after it that dropped ``n_tokens`` would not count)."""
        return next((s for s in reversed(self.steps) if s.tokens is not None), None)

    def to_dict(self) -> dict:
        first, last = (self.steps[0], self.steps[-1]) if self.steps else (None, None)
        summary = {}
        counted = self.token_step()
        if counted is not None:
            # the figures `corpusforge run` prints, for a reader of stats.json (derived from
            # the steps, which are what from_dict reads back)
            summary["tokens"] = {"after": counted.name, "total": counted.token_total(),
                                 "languages": counted.tokens_by("language"),
                                 "sources": counted.tokens_by("source")}
        targets = {s.name: s.targets for s in self.steps if s.targets}
        if targets:
            summary["targets"] = targets
        out = {
            "units": self.units,
            "wall_seconds": round(self.wall_seconds, 3),
            "docs_read": first.docs_out if first else 0,
            "docs_written": last.docs_out if last else 0,
            "docs_per_second": round(first.docs_in / self.wall_seconds, 1)
            if first and self.wall_seconds
            else None,
            **summary,
            "steps": [s.to_dict() for s in self.steps],
        }
        if self.nodes:  # a run's stats (a unit's know nothing of where they ran)
            out["nodes"] = {g: dict(sorted(t.items())) for g, t in self.nodes.items()}
        if self.memory:
            out["task_memory"] = {g: dict(m) for g, m in self.memory.items() if m}
        return out

    @classmethod
    def from_dict(cls, d: dict) -> RunStats:
        d = _mapping(d)
        if not isinstance(d.get("steps"), list):
            raise ValueError("stats have a list of `steps`")
        out = cls([StepStats.from_dict(s) for s in d["steps"]], units=d.get("units", 0),
                  wall_seconds=d.get("wall_seconds", 0.0), nodes=_nodes(d.get("nodes", {})),
                  memory=_memory(d.get("task_memory", {})))
        _count(out.units, "units")
        _seconds(out.wall_seconds, "wall_seconds")
        return out


def _nodes(d: object) -> dict[str, dict[str, int]]:
    """``{group: {node: tasks}}`` read back, types checked."""
    out = {}
    for group, tally in _mapping(d, "nodes").items():
        if not isinstance(group, str) or not isinstance(tally, dict):
            raise ValueError(f"nodes map a task group to its tasks per node, not {group!r}: {tally!r}")
        for node, n in tally.items():
            if not isinstance(node, str):
                raise ValueError(f"a node is named by a string, not {node!r}")
            _count(n, f"nodes[{group!r}][{node!r}]")
        out[group] = dict(tally)
    return out


def _memory(d: object) -> dict[str, dict[str, int]]:
    """``task_memory`` read back, types checked."""
    out = {}
    for group, m in _mapping(d, "task_memory").items():
        m = _mapping(m, f"task_memory[{group!r}]")
        for key in ("tasks", "peak", "growth"):
            _count(m.get(key), f"task_memory[{group!r}][{key!r}]")
        out[str(group)] = {k: m[k] for k in ("tasks", "peak", "growth")}
    return out


def _by_bin(h: dict[str, int]) -> dict[str, int]:
    """A histogram's bins in value order (missing values last)."""
    return dict(sorted(h.items(), key=lambda kv: (kv[0] == _NAN, int(kv[0]) if kv[0] != _NAN else 0)))


#: bins of ``corpusforge.histogram.EDGES`` (a test checks they agree)
BINS = 500


def _histograms(d: object) -> dict[str, dict]:
    """``histograms`` read back, types checked."""
    out = {}
    for name, h in _mapping(d, "histograms").items():
        h = _mapping(h, f"histograms[{name!r}]")
        entry: dict = {"thresholds": {}}
        for part in ("kept", "removed"):
            bins = dict(_mapping(h.get(part, {}), f"histograms[{name!r}].{part}"))
            for key, n in bins.items():
                if key != _NAN and not (isinstance(key, str) and key.isdigit() and int(key) < BINS):
                    raise ValueError(f"histograms[{name!r}].{part} has no bin {key!r}")
                _count(n, f"histograms[{name!r}].{part}[{key!r}]")
            entry[part] = bins
        for key, v in _mapping(h.get("thresholds", {}), f"histograms[{name!r}].thresholds").items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"histograms[{name!r}].thresholds[{key!r}] is a number, not {v!r}")
            entry["thresholds"][key] = v
        out[name] = entry
    return out


def _pair(v: object, key: str) -> list[int]:
    if not (isinstance(v, list) and len(v) == 2):
        raise ValueError(f"{key} is [documents, bytes], not {v!r}")
    _count(v[0], key)
    _count(v[1], key)
    return list(v)


def _samples(d: object) -> dict[str, list[dict]]:
    """``samples`` read back: a list of mappings with a ``hash`` per reason."""
    out = {}
    for reason, items in _mapping(d, "samples").items():
        if not isinstance(items, list) or not all(isinstance(s, dict) and isinstance(s.get("hash"), str)
                                                  for s in items):
            raise ValueError(f"samples[{reason!r}] is a list of sampled documents")
        out[reason] = items
    return out


def _mapping(d: object, what: str = "stats") -> dict:
    if not isinstance(d, dict):
        raise ValueError(f"{what} are a mapping, not {type(d).__name__}")
    return d


def _count(n: object, key: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{key} is a count, not {n!r}")


def _seconds(t: object, key: str) -> None:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < float("inf"):
        raise ValueError(f"{key} is a duration in seconds, not {t!r}")
