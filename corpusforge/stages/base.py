"""The stage contract: a global operation over every shard of the map phase.

A stage is a small class with a typed config. Its :meth:`Stage.run` receives a
:class:`~corpusforge.stages.context.StageContext` (the input shards, where to write,
and ``ctx.map_tasks`` to run resumable parallel tasks on the run's executor) and
returns the :class:`~corpusforge.accounting.StepStats` of what it did, which must
conserve documents: ``docs_in == docs_out + removed + errored``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from corpusforge.accounting import StepStats

if TYPE_CHECKING:
    from corpusforge.stages.context import StageContext


class StageConfig(BaseModel):
    """Base of every stage's config: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(ABC):
    """A global stage. Subclasses set ``name`` and ``Config`` and implement :meth:`run`."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[StageConfig]] = StageConfig
    #: a resumed run skips a stage whose phase marker says it finished
    skip_when_done: ClassVar[bool] = True

    def __init__(self, config: StageConfig | None = None, **params: Any) -> None:
        if config is not None and params:
            raise TypeError("pass either a config object or keyword parameters, not both")
        self.config = config if config is not None else self.Config(**params)

    @abstractmethod
    def run(self, ctx: StageContext) -> StepStats:
        """Read ``ctx.input_files``, write documents with ``ctx.writer(i)``; return stats."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"
