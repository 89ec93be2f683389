"""Stage registry: built-in stages by name, user stages by an explicit dotted path."""

from __future__ import annotations

import importlib
import inspect

from corpusforge.stages.base import Stage
from corpusforge.steps.registry import UnknownStepError

_REGISTRY: dict[str, type[Stage]] = {}
#: modules whose import registers the built-in stages
_BUILTIN_MODULES = ("corpusforge.dedup.stage",)
_loaded = False


class UnknownStageError(UnknownStepError):
    pass


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Class decorator: make a stage available by its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} needs a non-empty `name` to be registered")
    other = _REGISTRY.get(cls.name)
    if other is not None and other is not cls:
        raise ValueError(f"stage name {cls.name!r} is taken by {other.__module__}.{other.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as e:
                # a built-in module still being written must not break the others
                if not e.name or not mod.startswith(e.name):
                    raise


def registered_stages() -> dict[str, type[Stage]]:
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def get_stage_class(ref: str) -> type[Stage]:
    """Resolve a registered name or a ``module.Class`` / ``module:Class`` path."""
    _load_builtins()
    if ref in _REGISTRY:
        return _REGISTRY[ref]
    if ":" in ref:
        module_name, _, attr = ref.partition(":")
    elif "." in ref:
        module_name, _, attr = ref.rpartition(".")
    else:
        raise UnknownStageError(f"unknown stage {ref!r}; registered stages: {', '.join(sorted(_REGISTRY))}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UnknownStageError(f"cannot import module {module_name!r} for stage {ref!r}: {e}") from e
    obj = getattr(module, attr, None)
    if not (inspect.isclass(obj) and issubclass(obj, Stage)):
        raise UnknownStageError(f"{ref!r} is not a corpusforge Stage class")
    return obj
