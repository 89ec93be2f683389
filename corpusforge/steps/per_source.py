"""``per_source``: run a chain of steps on the documents of some sources only.

The special case of ``route`` (``steps/route.py``) that LLM-jp-style recipes started with: one
anonymous branch over the ``source`` column. Rows of the named sources go through the inner
steps, every other row passes unchanged, row order is kept. A removed row's reason is
``<inner label>:<reason>`` (no branch prefix: there is only one branch).
"""

from __future__ import annotations

import pyarrow as pa

from corpusforge.models import FileRef
from corpusforge.schema import SOURCE
from corpusforge.steps.base import Step, StepResult
from corpusforge.steps.build import build_chain
from corpusforge.steps.registry import register
from corpusforge.steps.route import (
    Branch,
    ChainConfig,
    chain_adds,
    chain_files,
    chain_needs,
    route_batch,
)


class PerSourceConfig(ChainConfig):
    #: the ``source`` values this chain applies to
    sources: list[str]


@register
class PerSource(Step[PerSourceConfig]):
    """Apply inner steps to the documents of the named sources; pass the others through."""

    name = "per_source"

    def needed_columns(self) -> frozenset[str]:
        """What the inner chain needs from the batch: the needs no earlier inner step meets."""
        return chain_needs(build_chain(self.config.steps))

    def added_columns(self) -> frozenset[str] | None:
        """What the inner steps add (null on the rows of other sources)."""
        return chain_adds(build_chain(self.config.steps))

    def needed_files(self) -> list[FileRef]:
        """The files of the inner steps (at ``steps.<inner label>``)."""
        return chain_files(build_chain(self.config.steps), ("steps",))

    def setup(self) -> None:
        cfg = self.config
        self.branch = Branch.build(None, cfg.sources, cfg.steps, cfg.drop_where)
        for step in self.branch.steps:
            step.setup()

    def apply(self, batch: pa.Table) -> StepResult:
        return route_batch(batch, SOURCE, [self.branch], "keep")
