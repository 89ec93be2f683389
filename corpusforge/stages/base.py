"""The stage contract: a global operation over every shard of the map phase.

A stage is a small class with a typed config. Its :meth:`Stage.run` receives a
:class:`~corpusforge.stages.context.StageContext` (the input shards, where to write,
and ``ctx.map_tasks`` to run resumable parallel tasks on the run's executor) and
returns the :class:`~corpusforge.accounting.StepStats` of what it did, which must
conserve documents: ``docs_in == docs_out + removed + errored``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from corpusforge.accounting import StepStats
from corpusforge.component import Component

if TYPE_CHECKING:
    from corpusforge.stages.context import StageContext


class StageConfig(BaseModel):
    """Base of every stage's config: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


StageConfigT = TypeVar("StageConfigT", bound=StageConfig)


class Stage(Component[StageConfigT], ABC):
    """A global stage: ``class Dedup(Stage[DedupConfig])`` sets ``name`` and implements :meth:`run`."""

    Config: ClassVar[type[StageConfig]] = StageConfig

    def __init__(self, config: StageConfigT | None = None, *, label: str | None = None,
                 **params: Any) -> None:
        super().__init__(config, label=label, **params)

    @abstractmethod
    def run(self, ctx: StageContext) -> StepStats:
        """Read ``ctx.input_files``, write documents with ``ctx.writer(i)``; return stats."""
