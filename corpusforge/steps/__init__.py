"""Step contract, registry and built-in steps."""

from corpusforge.steps.base import Filter, FilterConfig, MapStep, Step, StepConfig, StepResult
from corpusforge.steps.registry import get_step_class, register, registered_steps

__all__ = [
    "Filter",
    "FilterConfig",
    "MapStep",
    "Step",
    "StepConfig",
    "StepResult",
    "get_step_class",
    "register",
    "registered_steps",
]
