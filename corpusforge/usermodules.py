"""Modules a pipeline names (``step: mypkg.cleaning.Truncate``) found in the working directory,
imported without that directory ever being on ``sys.path``.

A directory on ``sys.path`` lends each of its files to every import: a ``zstandard.py`` or a
``trafilatura.py`` left in a data folder would run in place of the library, in the driver and in
every worker. So the command line takes the working directory off the import path
(:func:`hide_working_directory`), and only a module that a step or stage reference names is
looked up there, by file, with the import machinery, and registered under its dotted name, one
package level at a time (:func:`import_named`). A name that an installed module already holds is
never taken by a file of the working directory. Workers repeat the same imports before they
unpickle a task (:func:`current` in the driver, :meth:`UserModules.install` in the worker).

Used as a library (no :func:`hide_working_directory`), imports are left as the caller has them.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

#: the folder that holds the ``corpusforge`` package this process runs
_HOME = str(Path(__file__).resolve().parents[1])


@dataclass
class _Imports:
    #: where named modules may come from; None: plain imports
    root: str | None = None
    #: the modules named by references and loaded from ``root``, in order
    named: list[str] = field(default_factory=list)
    #: every module (packages included) executed from a file of a root, and that root
    loaded: dict[str, str] = field(default_factory=dict)


_imports = _Imports()


@dataclass(frozen=True)
class UserModules:
    """What a worker needs to import as its driver does (plain data, sent to every worker)."""

    root: str | None = None
    names: tuple[str, ...] = ()
    #: whether ``root`` is off the import path (it stays on when corpusforge itself lives there)
    hidden: bool = False

    def install(self) -> None:
        """In a worker: take ``root`` off the import path, as in the driver, and load the named
        modules from it. A module whose file is not there (a worker on another machine) is
        left to the worker's own installation."""
        if self.root is None:
            return
        _imports.root = self.root
        if self.hidden:
            _drop_from_path(self.root)
        for name in self.names:
            if _imports.loaded.get(name) != self.root and _find(self.root, name):
                _load_from(self.root, name)
                _remember(name)


def hide_working_directory() -> Callable[[], None]:
    """Take the working directory off the import path, of this process and of the Python
    processes it starts, and make it the one place named modules may come from; returns the
    function that puts things back (the end of a command)."""
    cwd = _working_directory()
    saved = list(sys.path), _imports.root, list(_imports.named), os.environ.get("PYTHONSAFEPATH")
    _imports.root, _imports.named = cwd, []
    if cwd is not None and cwd != _HOME:
        # (corpusforge itself running from here, a source tree, must stay importable)
        _drop_from_path(cwd)
    # child interpreters (`python -m` of the HTML extractor, the pool's bootstrap) would put
    # their working directory first on their own path; Python 3.11+ leaves it off with this
    os.environ["PYTHONSAFEPATH"] = "1"

    def restore() -> None:
        sys.path[:], _imports.root, _imports.named, env = saved
        if env is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = env

    return restore


def drop_working_directory() -> None:
    """Take the working directory off ``sys.path`` now (``python -m`` puts it first, before the
    command has started), unless corpusforge itself runs from it."""
    cwd = _working_directory()
    if cwd is not None and cwd != _HOME:
        _drop_from_path(cwd)


def _working_directory() -> str | None:
    try:
        return os.path.realpath(os.getcwd())
    except OSError:  # removed under us: there is nothing there to import
        return None


def current() -> UserModules:
    """The imports workers must repeat: the root and the modules loaded from it."""
    root = _imports.root
    return UserModules(root, tuple(_imports.named), root is not None and root != _HOME)


def import_named(name: str) -> ModuleType:
    """The module a step or stage reference names: from the working directory when it is there
    and no installed module has its name, else an ordinary import."""
    root = _imports.root
    top = name.partition(".")[0]
    if root is None or not _find(root, top):
        return importlib.import_module(name)
    if _imports.loaded.get(top) != root:
        _forget(top)  # loaded by an earlier command from another directory
        try:
            installed = importlib.util.find_spec(top)
        except ValueError:  # in sys.modules without a spec (__main__): installed, somewhere
            installed = importlib.machinery.ModuleSpec(top, None, origin="?")
        if installed is not None:
            if _location(installed) != _location(_find(root, top)):
                raise ImportError(
                    f"{top!r} is {_location(_find(root, top))} in the working directory but also "
                    f"the name of an installed module ({_location(installed)}); an installed "
                    "module's name is never taken from the working directory: rename the file")
            return importlib.import_module(name)  # the working directory is corpusforge's own
    module = _load_from(root, name)
    _remember(name)
    return module


def _remember(name: str) -> None:
    if name not in _imports.named:
        _imports.named.append(name)


def _find(root: str, name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of ``name`` (a top-level name, or dotted: its packages are searched in turn)
    looking only inside ``root``."""
    search: list[str] | None = [root]
    spec = None
    parts = name.split(".")
    for i in range(len(parts)):
        if search is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or []) or None
    return spec


def _load_from(root: str, name: str) -> ModuleType:
    """Execute ``name`` and each package above it from the files under ``root``, registering
    each in ``sys.modules`` (a package's own imports of its submodules then work as usual)."""
    parts = name.split(".")
    parent: ModuleType | None = None
    for i in range(len(parts)):
        full = ".".join(parts[: i + 1])
        module = sys.modules.get(full)
        if module is None or not _is_under(module, root):
            search = [root] if parent is None else list(getattr(parent, "__path__", []))
            spec = importlib.machinery.PathFinder.find_spec(full, search)
            if spec is None:
                raise ModuleNotFoundError(f"no module named {full!r} in {root}", name=full)
            module = _execute(spec)
            _imports.loaded[full] = root
            if parent is not None:
                setattr(parent, parts[i], module)
        parent = module
    assert parent is not None
    return parent


def _execute(spec: importlib.machinery.ModuleSpec) -> ModuleType:
    if spec.loader is None:
        # a folder without __init__.py: a package of that folder alone (a namespace package
        # would also gather same-named folders from the whole import path)
        locations = list(spec.submodule_search_locations or [])
        spec = importlib.machinery.ModuleSpec(spec.name, None, is_package=True)
        spec.submodule_search_locations = locations
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        if spec.loader is not None:
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module


def _forget(top: str) -> None:
    """Drop a module tree an earlier command loaded from another directory."""
    if top in _imports.loaded:
        for name in [n for n in _imports.loaded if n == top or n.startswith(top + ".")]:
            _imports.loaded.pop(name)
            sys.modules.pop(name, None)


def _is_under(module: ModuleType, root: str) -> bool:
    spec = getattr(module, "__spec__", None)
    where = _location(spec) if spec is not None else ""
    return where.startswith(root + os.sep)


def _location(spec: importlib.machinery.ModuleSpec | None) -> str:
    """Where a module comes from: its file or its folder, resolved (or how it is built in)."""
    if spec is None:
        return "?"
    if spec.origin and spec.has_location:
        return os.path.realpath(spec.origin)
    if spec.submodule_search_locations:
        return os.path.realpath(next(iter(spec.submodule_search_locations)))
    return spec.origin or "?"


def _drop_from_path(directory: str) -> None:
    # "" and "." are the working directory too
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != directory]


def sources() -> list[str]:
    """The files and package folders of the working directory that the modules named so far
    came from (what must travel with a pipeline run elsewhere, e.g. a submitted job)."""
    root = _imports.root
    if root is None:
        return []
    found: list[str] = []
    for name in _imports.named:
        spec = _find(root, name.partition(".")[0])
        if spec is None:
            continue
        where = (next(iter(spec.submodule_search_locations)) if spec.submodule_search_locations
                 else spec.origin)
        if where and where not in found:
            found.append(where)
    return found
