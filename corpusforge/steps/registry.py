"""Step registry: built-in steps by name, user steps by dotted import path.

A user step is imported only when the pipeline names its module explicitly
(``step: mypackage.cleaning.Upper`` or ``step: mypackage.cleaning:Upper``).
"""

from __future__ import annotations

from corpusforge.registry import Registry
from corpusforge.steps.base import Step


class UnknownStepError(LookupError):
    pass


#: modules whose import registers the built-in steps
_BUILTIN_MODULES = ("corpusforge.steps.builtin", "corpusforge.filters", "corpusforge.extract",
                    "corpusforge.langid", "corpusforge.tokenize", "corpusforge.steps.route",
                    "corpusforge.steps.per_source")

_steps: Registry[Step] = Registry("step", Step, _BUILTIN_MODULES, UnknownStepError)
register = _steps.register
registered_steps = _steps.all
get_step_class = _steps.get
