"""The step contract: a small class over an Arrow batch, configured by a typed model.

Two kinds:

* :class:`MapStep` — ``process(batch) -> batch`` with the same rows (columns may change).
* :class:`Filter` — ``signals(batch)`` computes signal columns, ``decide(batch, signals)``
  turns them into a keep mask and a reason per removed document. ``mode: annotate``
  keeps every row with its signals and decision; ``mode: filter`` drops.

Steps know nothing of executors. The same object works in a pipeline, on a bare
``pyarrow.Table``, in ``ray.data.Dataset.map_batches(step, batch_format="pyarrow")``
and in ``datasets.Dataset.map(step.for_datasets(), batched=True)``.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.component import Component
from corpusforge.models import Model
from corpusforge.schema import DOC_SCHEMA, KEEP, REASON, REJECT_PREFIX, REMOVED_REASON


class StepConfig(Model):
    """Base of every step's config: unknown keys are refused, ranges and ``ordered`` pairs
    checked (:class:`corpusforge.models.Model`)."""


StepConfigT = TypeVar("StepConfigT", bound=StepConfig)


@dataclass
class StepResult:
    """What a step did to one batch: the rows that go on, and those it removed."""

    out: pa.Table
    #: removed rows with a ``REMOVED_REASON`` column (and any ``reject_*`` columns), or None
    #: when nothing was removed; a filter in filter mode always returns a table, possibly
    #: empty, so that its rejects' columns are known even when it removed nothing
    removed: pa.Table | None = None
    #: a filter's signals over the batch it was given, for the stats' histograms, the same in
    #: filter and annotate mode (a route: those of its inner filters over their rows)
    signals: list[Signals] = field(default_factory=list)


@dataclass
class Signals:
    """What a filter decided on: its signal columns, the keep mask and its thresholds."""

    values: dict[str, pa.ChunkedArray]
    keep: np.ndarray
    #: ``{signal: {config key: value}}``
    thresholds: dict[str, dict[str, float]]

    def named(self, prefix: str) -> Signals:
        """The same signals named ``<prefix><signal>`` (a route's ``<branch>/<label>:``)."""
        return Signals({f"{prefix}{k}": v for k, v in self.values.items()}, self.keep,
                       {f"{prefix}{k}": v for k, v in self.thresholds.items()})


def _once(setup: Callable[[Any], None]) -> Callable[[Any], None]:
    """``setup`` made idempotent per object: the second and later calls do nothing."""

    @functools.wraps(setup)
    def once(self: Step) -> None:
        if not self._ready:
            setup(self)
            self._ready = True

    return once


def _set_up_first(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` preceded by the object's ``setup()`` on its first call."""

    @functools.wraps(method)
    def entry(self: Step, *args: Any, **kwargs: Any) -> Any:
        if not self._ready:
            self.setup()
        return method(self, *args, **kwargs)

    return entry


#: what a class's own methods of these names are wrapped in: ``setup`` runs once per object, and
#: the methods a batch goes in through run ``setup()`` first (a step works right after
#: construction, without a call to ``setup()``)
_WRAPPERS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "setup": _once,
    **dict.fromkeys(("apply", "process", "signals", "evaluate", "score"), _set_up_first),
}


class Step(Component[StepConfigT], ABC):
    """A unit of per-document work over an Arrow batch, configured by a ``StepConfig``.

    ``class Truncate(MapStep[TruncateConfig])`` types ``self.config`` as a ``TruncateConfig``.

    Heavy resources are loaded in :meth:`setup`, which runs once per object: the pipeline
    runner calls it when a worker builds its steps; used as a library, a step sets itself up
    on its first batch. A subclass only overrides ``setup``; it never calls it.
    """

    Config: ClassVar[type[StepConfig]] = StepConfig

    def __init__(self, config: StepConfigT | None = None, *, label: str | None = None,
                 **params: Any) -> None:
        super().__init__(config, label=label, **params)
        self._ready = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, wrap in _WRAPPERS.items():
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "__isabstractmethod__", False):
                setattr(cls, name, wrap(method))

    @_once
    def setup(self) -> None:
        """Load heavy resources (models, word lists). Runs once per object."""

    @abstractmethod
    def apply(self, batch: pa.Table) -> StepResult:
        """Run the step over one batch."""

    def __call__(self, batch: pa.Table) -> pa.Table:
        """The rows that go on: fits ``ray.data.Dataset.map_batches(batch_format="pyarrow")``."""
        return self.apply(batch).out

    def for_datasets(self) -> Callable[[Any], Any]:
        """A function for ``datasets.Dataset.map(fn, batched=True)``.

        In filter mode it returns fewer rows than it gets, which ``datasets``
        allows when the function returns every column.
        """

        def fn(columns: Any) -> Any:
            if isinstance(columns, pa.Table):  # a dataset formatted as "arrow"
                return self(columns)
            # datasets passes a LazyBatch mapping of column -> list
            return self(pa.table({k: columns[k] for k in columns})).to_pydict()

        return fn



class MapStep(Step[StepConfigT]):
    """A step that transforms each document; it never removes rows."""

    @abstractmethod
    def process(self, batch: pa.Table) -> pa.Table:
        """Return the batch transformed, with the same number of rows in the same order."""

    def apply(self, batch: pa.Table) -> StepResult:
        out = self.process(batch)
        if out.num_rows != batch.num_rows:
            raise ValueError(
                f"map step {self.name or type(self).__name__} returned {out.num_rows} rows "
                f"for {batch.num_rows}; use a Filter to remove documents"
            )
        return StepResult(out)


class FilterConfig(StepConfig):
    mode: Literal["filter", "annotate"] = "filter"
    #: keep the signal columns on the documents that pass (filter mode)
    keep_signals: bool = False


FilterConfigT = TypeVar("FilterConfigT", bound=FilterConfig)


class Filter(Step[FilterConfigT]):
    """Score, then decide. Subclasses implement :meth:`signals` and :meth:`decide`.

    A filter's ``adds`` names its signal columns (or :meth:`signal_columns` when they depend on
    the config): they stay on the documents in annotate mode and with ``keep_signals``.
    """

    Config: ClassVar[type[StepConfig]] = FilterConfig

    def signal_columns(self) -> frozenset[str] | None:
        """The columns :meth:`signals` returns; None when the filter does not say."""
        return None if self.adds is None else frozenset(self.adds)

    def added_columns(self) -> frozenset[str] | None:
        if self.config.mode == "annotate":
            signals = self.signal_columns()
            prefix = self._decision_prefix()
            return None if signals is None else signals | {f"{prefix}_{KEEP}", f"{prefix}_{REASON}"}
        # filter mode: the documents that pass keep their own columns, plus the signals if asked
        return self.signal_columns() if self.config.keep_signals else frozenset()

    def _decision_prefix(self) -> str:
        """What annotate mode's ``<prefix>_keep`` / ``<prefix>_reason`` columns are named after."""
        return self.label or self.name or type(self).__name__

    @abstractmethod
    def signals(self, batch: pa.Table) -> dict[str, pa.Array | np.ndarray]:
        """Signal columns for the batch, one value per document."""

    @abstractmethod
    def decide(
        self, batch: pa.Table, signals: dict[str, pa.Array | np.ndarray]
    ) -> tuple[np.ndarray, pa.Array]:
        """A boolean keep mask and a reason per document (null where kept)."""

    def thresholds(self) -> dict[str, dict[str, float]]:
        """Per signal, the config values it is compared with: the numeric ``min_<x>`` /
        ``max_<x>`` keys of a signal named ``x`` or ``n_x``, but a minimum of 0 (a filter whose keys are named
        otherwise overrides this, for the report's threshold lines)."""
        out: dict[str, dict[str, float]] = {}
        signals = self.signal_columns() or frozenset()
        for key, value in self.config.model_dump().items():
            if isinstance(value, bool) or not isinstance(value, int | float) or (key.startswith("min_") and value == 0):
                continue  # not a number, or a lower bound of 0 (no bound)
            for prefix in ("min_", "max_"):
                if key.startswith(prefix):
                    x = key[len(prefix):]
                    for name in (x, f"n_{x}"):
                        if name in signals:
                            out.setdefault(name, {})[key] = value
        return out

    def evaluate(self, batch: pa.Table) -> tuple[pa.Table, np.ndarray, pa.Array]:
        """The batch with the signal columns added, the keep mask and the reasons."""
        sig = self.signals(batch)
        keep, reason = self.decide(batch, sig)
        out = batch
        for name, values in sig.items():
            out = _set_column(out, name, pa.array(values))
        return out, np.asarray(keep, dtype=bool), reason

    def score(self, batch: pa.Table) -> pa.Table:
        """The batch with signal columns plus ``keep`` and ``reason``; no row is dropped.

        (A library call: columns of those names in ``batch`` are replaced. Pipelines use
        ``apply``, which never touches the document's own columns.)
        """
        out, keep, reason = self.evaluate(batch)
        return _set_column(_set_column(out, KEEP, pa.array(keep)), REASON, reason)

    def apply(self, batch: pa.Table) -> StepResult:
        out, keep, reason = self.evaluate(batch)
        if not hasattr(self, "_thresholds"):  # the config does not change: once per object
            self._thresholds = self.thresholds()
        signals = Signals({c: out.column(c) for c in self._explaining_columns(batch, out)}, keep,
                          self._thresholds)
        if self.config.mode == "annotate":
            prefix = self._decision_prefix()
            out = _set_column(out, f"{prefix}_{KEEP}", pa.array(keep))
            return StepResult(_set_column(out, f"{prefix}_{REASON}", reason), signals=[signals])
        mask = pa.array(keep)
        kept_cols = out.column_names if self.config.keep_signals else batch.column_names
        kept = out.filter(mask).select(kept_cols)
        # the removed rows, none or more: with their reason and, as ``reject_<signal>``
        # columns, the values the decision was made on (a threshold can be tuned from the
        # rejects); an empty table still says which columns this filter's rejects have
        dropped = pc.invert(mask)
        removed = out.filter(dropped)
        carried = removed.select(batch.column_names)
        for name in self._explaining_columns(batch, out):
            carried = carried.append_column(f"{REJECT_PREFIX}{name}", removed.column(name))
        return StepResult(kept, carried.append_column(REMOVED_REASON, reason.filter(dropped)), [signals])

    def _explaining_columns(self, batch: pa.Table, out: pa.Table) -> list[str]:
        """What the decision was made on: the signal columns (those ``evaluate`` added, and the
        declared ones it recomputed) and the columns the filter reads that an earlier step made
        (the score of ``lang_score``), in the batch's column order."""
        own = set(DOC_SCHEMA.names)
        declared = self.signal_columns() or frozenset()
        read = self.needed_columns() - own
        return [c for c in out.column_names
                if not c.startswith("__") and c not in own
                and (c not in batch.column_names or c in declared or c in read)]

    @staticmethod
    def first_failure(rules: Sequence[tuple[str, np.ndarray]], n: int) -> tuple[np.ndarray, pa.Array]:
        """Combine ``(reason, fails)`` rules: a document's reason is its first failing rule."""
        idx = np.full(n, -1, dtype=np.int32)
        for i in range(len(rules) - 1, -1, -1):
            idx[np.asarray(rules[i][1], dtype=bool)] = i
        keep = idx < 0
        indices = pa.array(idx, mask=keep)
        dictionary = pa.array([r for r, _ in rules], pa.string())
        reasons = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
        return keep, reasons


def _set_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    if i >= 0:
        return table.set_column(i, name, values)
    return table.append_column(name, values)
