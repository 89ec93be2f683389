"""``per_source``: run a chain of steps on the documents of some sources only.

A corpus recipe mixes sources that need different cleaning — the LLM-jp Japanese chain for
mC4-ja, footnote trimming for Wikipedia, the code rules for The Stack — in one pipeline.
This step routes by the ``source`` column: rows of the named sources go through the inner
steps (filters may remove them, map steps rewrite them), every other row passes unchanged.
Row order is kept. A removed row's reason is ``<inner label>:<reason>``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import field_validator

from corpusforge.schema import REMOVED_REASON, SOURCE
from corpusforge.steps.base import Step, StepConfig, StepResult
from corpusforge.steps.build import EntryError, build_chain, resolve_step
from corpusforge.steps.presets import PresetError, expand_preset
from corpusforge.steps.registry import register

_ROW = "__per_source_row"


class PerSourceConfig(StepConfig):
    #: the ``source`` values this chain applies to
    sources: list[str]
    #: steps as in ``steps:`` (``{step: name, ...}`` or ``{use: preset, overrides: ...}``)
    steps: list[dict[str, Any]] = []
    #: remove rows whose column holds one of these values (``{pile_set_name: [Books3]}``)
    drop_where: dict[str, list[str]] = {}

    @field_validator("steps")
    @classmethod
    def _expand(cls, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Expand presets and check every inner step; problems become ValueErrors (so the
        pipeline's config error names them) that say which inner step and key."""
        out: list[dict[str, Any]] = []
        for i, entry in enumerate(steps):
            try:
                if "use" in entry:
                    out += expand_preset(entry)
                    continue
                resolve_step(entry)  # refuse bad params up front
            except (PresetError, EntryError) as e:
                raise ValueError(f"inner step {i}: {e}") from None
            out.append(entry)
        return out


@register
class PerSource(Step[PerSourceConfig]):
    """Apply inner steps to the documents of the named sources; pass the others through."""

    name = "per_source"

    def needed_columns(self) -> frozenset[str]:
        """What the inner chain needs from the batch: the needs no earlier inner step meets."""
        needed: set[str] = set()
        added: set[str] = set()
        for step in build_chain(self.config.steps):
            needed |= step.needed_columns() - added
            more = step.added_columns()
            if more is None:
                break  # an undeclared step may add anything the later ones need
            added |= more
        return frozenset(needed)

    def added_columns(self) -> frozenset[str] | None:
        """What the inner steps add (null on the rows of other sources)."""
        added: set[str] = set()
        for step in build_chain(self.config.steps):
            more = step.added_columns()
            if more is None:
                return None
            added |= more
        return frozenset(added)

    def setup(self) -> None:
        # labelled with unique names: two inner filters of one kind annotate under their own
        self.inner: list[Step] = build_chain(self.config.steps)
        for step in self.inner:
            step.setup()

    def apply(self, batch: pa.Table) -> StepResult:
        cfg = self.config
        batch = batch.append_column(_ROW, pa.array(np.arange(batch.num_rows, dtype=np.int64)))
        mine = pc.fill_null(pc.is_in(batch.column(SOURCE), pa.array(cfg.sources, pa.string())), False)
        chosen, others = batch.filter(mine), batch.filter(pc.invert(mine))
        removed: list[pa.Table] = []
        for column, values in cfg.drop_where.items():
            if column not in chosen.column_names or not chosen.num_rows:
                continue
            hit = pc.fill_null(pc.is_in(chosen.column(column).cast(pa.string()), pa.array(values, pa.string())), False)
            if pc.any(hit).as_py():
                gone = chosen.filter(hit)
                reasons = pc.binary_join_element_wise(f"{column}=", gone.column(column).cast(pa.string()), "")
                removed.append(gone.append_column(REMOVED_REASON, reasons))
                chosen = chosen.filter(pc.invert(hit))
        for step in self.inner:
            if not chosen.num_rows:
                break
            result = step.apply(chosen)
            chosen = result.out
            if result.removed is not None and result.removed.num_rows:
                r = result.removed
                reasons = pc.binary_join_element_wise(f"{step.label}:", r.column(REMOVED_REASON).cast(pa.string()), "")
                removed.append(r.set_column(r.schema.get_field_index(REMOVED_REASON), REMOVED_REASON, reasons))
        out = pa.concat_tables([chosen, others], promote_options="permissive")
        out = out.take(pc.sort_indices(out.column(_ROW))).drop_columns([_ROW])
        gone = (pa.concat_tables(removed, promote_options="permissive").drop_columns([_ROW])
                if removed else None)
        return StepResult(out, gone)
