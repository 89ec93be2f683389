"""The stage contract: a global operation over every shard of the map phase.

A stage is a small class with a typed config. Its :meth:`Stage.run` receives a
:class:`~corpusforge.stages.context.StageContext` (the input shards, where to write,
and ``ctx.map_tasks`` to run resumable parallel tasks on the run's executor) and
returns the :class:`~corpusforge.accounting.StepStats` of what it did, which must
conserve documents: ``docs_in == docs_out + removed + errored``. The map phase is a stage
too (``stages/map.py``); it returns the :class:`~corpusforge.accounting.RunStats` of the
reader and every step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from corpusforge.accounting import RunStats, StepStats
from corpusforge.component import Component
from corpusforge.models import Model

if TYPE_CHECKING:
    from corpusforge.stages.context import StageContext


class StageConfig(Model):
    """Base of every stage's config: unknown keys are refused, ranges and ``ordered`` pairs
    checked (:class:`corpusforge.models.Model`)."""


StageConfigT = TypeVar("StageConfigT", bound=StageConfig)


class Stage(Component[StageConfigT], ABC):
    """A global stage: ``class Dedup(Stage[DedupConfig])`` sets ``name`` and implements :meth:`run`."""

    Config: ClassVar[type[StageConfig]] = StageConfig
    #: a resumed run skips a stage whose phase marker says it finished
    skip_when_done: ClassVar[bool] = True
    #: set (to say what it writes instead) by a stage that lays out its own output and so
    #: ignores ``output.format`` and ``output.partition_by`` when it is the last phase
    own_output_layout: ClassVar[str | None] = None

    def __init__(self, config: StageConfigT | None = None, *, label: str | None = None,
                 **params: Any) -> None:
        super().__init__(config, label=label, **params)

    def commit(self, ctx: StageContext) -> None:
        """Called once the whole run has succeeded (every phase, conservation checked): for
        what may only become visible outside the output folder then (a dedup index segment).
        Must be idempotent: a run killed after it is resumed and calls it again."""

    @abstractmethod
    def run(self, ctx: StageContext) -> StepStats | RunStats:
        """Read ``ctx.input_files``, write documents through ``ctx.sinks``; return the stats
        (a global stage: its ``StepStats``)."""
