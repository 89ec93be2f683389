"""``route``: each document goes through the chain of its branch, chosen by one column's value.

A web crawl holds Japanese, English and code side by side, and each needs its own cleaning:
``use: ja-web`` followed by ``use: en-web`` would remove every document (each chain drops the
other language). A route reads a column (``lang``, ``source``, ``code_lang``, any other),
sends the rows of each branch's values through that branch's steps and passes the other rows
through unchanged or removes them (``unmatched``). Rows keep their input order whatever the
routing, so the output is the one a single chain would give, only cleaned per branch.

A removed row's reason says where it was removed: ``<branch>/<inner label>:<reason>``
(``ja/ja-web:ja_quality:zlib_ratio_low``), ``<branch>/<column>=<value>`` for ``drop_where``,
``no_branch`` for an unmatched row; its rejects row carries the branch in ``reject_branch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator, model_validator

from corpusforge.models import FileRef, refusal
from corpusforge.schema import REJECT_PREFIX, REMOVED_REASON
from corpusforge.steps.base import Signals, Step, StepConfig, StepResult
from corpusforge.steps.build import EntryError, build_chain, resolve_step
from corpusforge.steps.presets import PresetError, expand_preset
from corpusforge.steps.registry import register

#: the input position of each row while the branches run (dropped before the rows go on)
_ROW = "__route_row"
#: the rejects column naming the branch that removed a row
BRANCH_COLUMN = f"{REJECT_PREFIX}branch"
#: the reason of a row whose value has no branch, with ``unmatched: drop``
NO_BRANCH = "no_branch"


def expand_chain(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expand ``use:`` presets and check every step entry of an inner chain.

    Problems are refused at their own keys inside the chain (``[0].min_chars``,
    ``[1].overrides.ja_quality.max_zlib_ratio``), so that the pipeline's config error names the
    inner key and its line.
    """
    out: list[dict[str, Any]] = []
    problems: list[tuple[tuple[str | int, ...], str, Any]] = []
    for i, entry in enumerate(steps):
        try:
            if "use" in entry:
                out += expand_preset(entry)
                continue
            resolve_step(entry)  # refuse bad params up front
        except PresetError as e:
            problems.append(((i, *e.path), str(e), entry))
        except EntryError as e:
            problems += [((i, *issue.path), issue.message, entry) for issue in e.issues]
        out.append(entry)
    if problems:
        raise refusal("steps", problems)
    return out


def chain_needs(chain: Sequence[Step]) -> frozenset[str]:
    """What a chain needs from its input: the needs no earlier step of it meets."""
    needed: set[str] = set()
    added: set[str] = set()
    for step in chain:
        needed |= step.needed_columns() - added
        more = step.added_columns()
        if more is None:
            break  # an undeclared step may add anything the later ones need
        added |= more
    return frozenset(needed)


def chain_adds(chain: Sequence[Step]) -> frozenset[str] | None:
    """What a chain adds; None when one of its steps does not say."""
    added: set[str] = set()
    for step in chain:
        more = step.added_columns()
        if more is None:
            return None
        added |= more
    return frozenset(added)


def chain_files(chain: Sequence[Step], key: tuple[str | int, ...]) -> list[FileRef]:
    """The files a chain's steps need, each keyed ``(*key, <inner label>, *its key)``: the
    inner label, not a position, since ``use:`` presets were expanded into several steps."""
    return [FileRef((*key, str(step.label), *ref.key), ref.value, ref.need)
            for step in chain for ref in step.needed_files()]


class ChainConfig(StepConfig):
    """What a branch runs: its steps and its ``drop_where`` rule (shared with ``per_source``)."""

    #: steps as in ``steps:`` (``{step: name, ...}`` or ``{use: preset, overrides: ...}``)
    steps: list[dict[str, Any]] = []
    #: remove rows whose column holds one of these values (``{pile_set_name: [Books3]}``)
    drop_where: dict[str, list[str]] = {}

    @field_validator("steps")
    @classmethod
    def _expand(cls, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return expand_chain(steps)


class BranchConfig(ChainConfig):
    #: the routing column's values this branch takes (default: the branch's name)
    values: list[str | int] | None = None


class RouteConfig(StepConfig):
    #: the column whose value picks a document's branch
    by: str = "lang"
    #: branch name -> branch (``{values, steps, drop_where}``, or just its list of steps)
    branches: dict[str, BranchConfig] = Field(min_length=1)
    #: what happens to a document whose value (or null) no branch takes
    unmatched: Literal["keep", "drop"] = "keep"

    @field_validator("branches", mode="before")
    @classmethod
    def _steps_only(cls, branches: Any) -> Any:
        """``ja: [{use: ja-web}]`` is short for ``ja: {steps: [{use: ja-web}]}``."""
        if isinstance(branches, Mapping):
            return {k: {"steps": v} if isinstance(v, list) else v for k, v in branches.items()}
        return branches

    @model_validator(mode="after")
    def _one_branch_per_value(self) -> RouteConfig:
        owner: dict[str, str] = {}
        for name, branch in self.branches.items():
            for value in branch_values(name, branch):
                if value in owner:
                    raise ValueError(f"value {value!r} is routed to both branch {owner[value]!r} "
                                     f"and branch {name!r}")
                owner[value] = name
        return self


def branch_values(name: str, branch: BranchConfig) -> list[str]:
    """The column values a branch takes, as strings (the column is compared as text)."""
    return [str(v) for v in branch.values] if branch.values is not None else [name]


@dataclass
class Branch:
    """A built branch: the values it takes, its steps and what its removed rows say."""

    #: the branch's name in reasons and rejects; None for the anonymous branch of
    #: ``per_source``, whose reasons are the inner step's own (``<label>:<reason>``)
    name: str | None
    values: list[str]
    steps: list[Step]
    drop_where: Mapping[str, list[str]]

    @classmethod
    def build(cls, name: str | None, values: list[str], entries: list[dict[str, Any]],
              drop_where: Mapping[str, list[str]]) -> Branch:
        # labelled with unique names: two inner filters of one kind annotate under their own
        return cls(name, values, build_chain(entries), drop_where)

    def run(self, rows: pa.Table) -> tuple[pa.Table, list[pa.Table], list[Signals]]:
        """The branch's rows after its chain, the removed rows with prefixed reasons and the
        inner filters' signals, named like the reasons.

        The chain runs even when no row is left (or none came): its added columns then still
        reach the output, so every batch of a route has the same columns, which a shard
        writer needs. A step that cannot take an empty batch ends that probe quietly.
        """
        removed: list[pa.Table] = []
        signals: list[Signals] = []
        for column, values in self.drop_where.items():
            if column not in rows.column_names or not rows.num_rows:
                continue
            hit = pc.fill_null(pc.is_in(rows.column(column).cast(pa.string()),
                                        pa.array(values, pa.string())), False)
            if pc.any(hit).as_py():
                gone = rows.filter(hit)
                reasons = pc.binary_join_element_wise(f"{column}=", gone.column(column).cast(pa.string()), "")
                removed.append(self._mark(gone, reasons))
                rows = rows.filter(pc.invert(hit))
        for step in self.steps:
            if not rows.num_rows:
                try:
                    result = step.apply(rows)
                except Exception:  # noqa: BLE001 - only the empty probe is silenced
                    break
            else:
                try:
                    result = step.apply(rows)
                except Exception as e:
                    where = f"branch {self.name!r}, " if self.name is not None else ""
                    e.add_note(f"in {where}inner step {step.label!r}")
                    raise
            rows = result.out
            where = f"{self.name}/" if self.name is not None else ""
            signals += [sig.named(f"{where}{step.label}:") for sig in result.signals]
            # kept when empty too: a filter's empty rejects still bring its reject_* columns,
            # so the route's rejects have the same columns in every batch
            if result.removed is not None:
                r = result.removed
                reasons = pc.binary_join_element_wise(f"{step.label}:", r.column(REMOVED_REASON).cast(pa.string()), "")
                removed.append(self._mark(r.drop_columns([REMOVED_REASON]), reasons))
        return rows, removed, signals

    def _mark(self, rows: pa.Table, reasons: pa.Array | pa.ChunkedArray) -> pa.Table:
        """Removed rows with their reason (prefixed ``<branch>/``) and, named, the branch."""
        if self.name is not None:
            reasons = pc.binary_join_element_wise(f"{self.name}/", reasons, "")
            rows = rows.append_column(BRANCH_COLUMN, pa.repeat(pa.scalar(self.name), rows.num_rows))
        return rows.append_column(REMOVED_REASON, reasons)


def route_batch(batch: pa.Table, column: str, branches: Sequence[Branch],
                unmatched: Literal["keep", "drop"]) -> StepResult:
    """Run each branch over its rows of ``batch``; the rows that go on keep their input order."""
    if column not in batch.column_names:
        raise KeyError(f"route by {column!r}: the batch has no {column!r} column "
                       f"(columns: {batch.column_names})")
    values = [v for b in branches for v in b.values]
    owner = np.repeat(np.arange(len(branches)), [len(b.values) for b in branches])
    found = pc.index_in(batch.column(column).cast(pa.string()), pa.array(values, pa.string()))
    found = np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    which = np.where(found >= 0, owner[np.maximum(found, 0)], -1)
    batch = batch.append_column(_ROW, pa.array(np.arange(batch.num_rows, dtype=np.int64)))
    kept: list[pa.Table] = []
    removed: list[pa.Table] = []
    signals: list[Signals] = []
    for i, branch in enumerate(branches):
        out, gone, sig = branch.run(batch.filter(pa.array(which == i)))
        kept.append(out)
        removed += gone
        signals += sig
    others = batch.filter(pa.array(which < 0))
    if unmatched == "keep":
        kept.append(others)
    elif others.num_rows:
        marked = others.append_column(BRANCH_COLUMN, pa.nulls(others.num_rows, pa.string()))
        removed.append(marked.append_column(REMOVED_REASON, pa.repeat(pa.scalar(NO_BRANCH), others.num_rows)))
    out = pa.concat_tables(kept, promote_options="permissive")
    out = out.take(pc.sort_indices(out.column(_ROW))).drop_columns([_ROW])
    gone = (pa.concat_tables(removed, promote_options="permissive").drop_columns([_ROW])
            if any(r.num_rows for r in removed) else None)
    return StepResult(out, gone, signals)


@register
class Route(Step[RouteConfig]):
    """Send each document through its branch's chain, by the value of one column."""

    name = "route"

    def _chains(self) -> list[list[Step]]:
        return [build_chain(b.steps) for b in self.config.branches.values()]

    def needed_columns(self) -> frozenset[str]:
        """The routing column, and what each branch's chain needs from the batch."""
        cfg = self.config
        drop_columns = {c for b in cfg.branches.values() for c in b.drop_where}
        return frozenset({cfg.by, *drop_columns}).union(*(chain_needs(c) for c in self._chains()))

    def added_columns(self) -> frozenset[str] | None:
        """What the branches add (null on the rows of the other branches)."""
        added: set[str] = set()
        for chain in self._chains():
            more = chain_adds(chain)
            if more is None:
                return None
            added |= more
        return frozenset(added)

    def needed_files(self) -> list[FileRef]:
        """The files of every branch's steps (at ``branches.<name>.steps.<inner label>``)."""
        names = list(self.config.branches)
        return [ref for name, chain in zip(names, self._chains())
                for ref in chain_files(chain, ("branches", name, "steps"))]

    def setup(self) -> None:
        self.branches = [Branch.build(name, branch_values(name, b), b.steps, b.drop_where)
                         for name, b in self.config.branches.items()]
        for branch in self.branches:
            for step in branch.steps:
                step.setup()

    def apply(self, batch: pa.Table) -> StepResult:
        return route_batch(batch, self.config.by, self.branches, self.config.unmatched)
