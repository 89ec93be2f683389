"""Step registry: built-in steps by name, user steps by dotted import path.

A user step is imported only when the pipeline names its module explicitly
(``step: mypackage.cleaning.Upper`` or ``step: mypackage.cleaning:Upper``).
"""

from __future__ import annotations

import importlib
import inspect

from corpusforge.steps.base import Step

_REGISTRY: dict[str, type[Step]] = {}
#: modules whose import registers the built-in steps
_BUILTIN_MODULES = ("corpusforge.steps.builtin", "corpusforge.filters", "corpusforge.extract",
                    "corpusforge.langid")
_loaded = False


class UnknownStepError(LookupError):
    pass


def register(cls: type[Step]) -> type[Step]:
    """Class decorator: make a step available by its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} needs a non-empty `name` to be registered")
    other = _REGISTRY.get(cls.name)
    if other is not None and other is not cls:
        raise ValueError(f"step name {cls.name!r} is taken by {other.__module__}.{other.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)


def registered_steps() -> dict[str, type[Step]]:
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def get_step_class(ref: str) -> type[Step]:
    """Resolve a registered name or a ``module.Class`` / ``module:Class`` path."""
    _load_builtins()
    if ref in _REGISTRY:
        return _REGISTRY[ref]
    if ":" in ref:
        module_name, _, attr = ref.partition(":")
    elif "." in ref:
        module_name, _, attr = ref.rpartition(".")
    else:
        raise UnknownStepError(
            f"unknown step {ref!r}; registered steps: {', '.join(sorted(_REGISTRY))}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UnknownStepError(f"cannot import module {module_name!r} for step {ref!r}: {e}") from e
    obj = getattr(module, attr, None)
    if not (inspect.isclass(obj) and issubclass(obj, Step)):
        raise UnknownStepError(f"{ref!r} is not a corpusforge Step class")
    return obj
