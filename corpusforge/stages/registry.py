"""Stage registry: built-in stages by name, user stages by an explicit dotted path."""

from __future__ import annotations

from corpusforge.registry import Registry
from corpusforge.stages.base import Stage
from corpusforge.steps.registry import UnknownStepError


class UnknownStageError(UnknownStepError):
    pass


#: modules whose import registers the built-in stages
_BUILTIN_MODULES = ("corpusforge.dedup.stage", "corpusforge.mix.stage")

_stages: Registry[Stage] = Registry("stage", Stage, _BUILTIN_MODULES, UnknownStageError)
register_stage = _stages.register
registered_stages = _stages.all
get_stage_class = _stages.get
