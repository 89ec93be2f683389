"""A registry of classes by name, shared by steps and stages.

Built-in classes register themselves when their module is imported; the registry
imports its built-in modules on first use. Anything else is resolved only from a
dotted path that names its module explicitly (``pkg.mod.Class`` or ``pkg.mod:Class``):
no other module is ever imported on a pipeline's behalf, and only such a module may come from
the working directory (:mod:`corpusforge.usermodules`).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Generic, TypeVar

from corpusforge.suggest import did_you_mean
from corpusforge.usermodules import import_named

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, base: type[T], builtin_modules: tuple[str, ...],
                 error: type[LookupError]) -> None:
        self.kind, self.base, self.builtin_modules, self.error = kind, base, builtin_modules, error
        self._classes: dict[str, type[T]] = {}
        self._loaded = False

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: make a class available by its ``name``."""
        name = getattr(cls, "name", "")
        if inspect.isabstract(cls):
            raise ValueError(f"{cls.__qualname__} is abstract: only a class that can be built is registered")
        if not name:
            raise ValueError(f"{cls.__qualname__} needs a non-empty `name` to be registered")
        other = self._classes.get(name)
        if other is not None and other is not cls:
            raise ValueError(f"{self.kind} name {name!r} is taken by {other.__module__}.{other.__qualname__}")
        self._classes[name] = cls
        return cls

    def _load_builtins(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self.builtin_modules:
                importlib.import_module(module)

    def all(self) -> dict[str, type[T]]:
        self._load_builtins()
        return dict(sorted(self._classes.items()))

    def get(self, ref: str) -> type[T]:
        """Resolve a registered name or a ``module.Class`` / ``module:Class`` path."""
        self._load_builtins()
        if ref in self._classes:
            return self._classes[ref]
        module_name, attr = self._split(ref)
        try:
            module = import_named(module_name)
        except ImportError as e:
            raise self.error(f"cannot import module {module_name!r} for {self.kind} {ref!r}: {e}") from e
        except (Exception, SystemExit) as e:  # noqa: BLE001 - a module that fails as it loads
            raise self.error(f"importing module {module_name!r} for {self.kind} {ref!r} failed: "
                             f"{type(e).__name__}: {e}") from e
        obj = getattr(module, attr, None)
        if not (inspect.isclass(obj) and issubclass(obj, self.base)):
            raise self.error(f"{ref!r} is not a corpusforge {self.base.__name__} class")
        if inspect.isabstract(obj):
            missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
            raise self.error(f"{ref!r} is an abstract {self.base.__name__} class (it does not "
                             f"implement {missing}); name a subclass that does")
        return obj

    def _split(self, ref: str) -> tuple[str, str]:
        """``(module, class)`` of a dotted path; anything else (``.rel.Step``, ``:x``, ``a b``)
        is refused here, before an import is tried."""
        if ":" in ref:
            module_name, _, attr = ref.partition(":")
        elif "." in ref:
            module_name, _, attr = ref.rpartition(".")
        else:
            raise self.error(f"unknown {self.kind} {ref!r}{did_you_mean(ref, self._classes)}; "
                             f"registered {self.kind}s: {', '.join(sorted(self._classes))}")
        if not (attr.isidentifier() and all(p.isidentifier() for p in module_name.split("."))):
            raise self.error(f"{ref!r} is neither a registered {self.kind} nor a class path "
                             "(`package.module.Class` or `package.module:Class`, absolute)")
        return module_name, attr
