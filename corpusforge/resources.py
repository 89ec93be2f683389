"""Shipped resources: filter presets (``use: ja-web``) and word lists (``words: ja/adult``).

A name is looked up, in order, in the package data shipped in the wheel
(``corpusforge/_presets/``, built from the top-level ``filters/`` folder), in the source
tree's ``filters/``, and finally as a path to a file; a word list or blocklist may also be a
URL (``s3://bucket/ng.txt``, read through fsspec).

:func:`file_problem` is the check behind :class:`~corpusforge.models.NeedsFile`: it says why a
file a step needs cannot be used, without reading it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from corpusforge.models import NeedsFile
from corpusforge.suggest import did_you_mean

_PACKAGE_DATA = Path(__file__).resolve().parent / "_presets"
_SOURCE_TREE = Path(__file__).resolve().parents[1] / "filters"


class PresetError(LookupError):
    """A ``use:`` entry was refused; ``path`` is where inside the entry (``("use",)``, or the
    override that was refused: ``("overrides", "ja_quality", "max_zlib_ratio")``)."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ("use",)) -> None:
        super().__init__(message)
        self.path = path


#: a word list: a shipped name (``ja/adult``), a path or a URL; one entry per line
WordList = Annotated[str, NeedsFile("word list", shipped="wordlists", suffix=".txt", remote=True)]
#: a domain blocklist: a shipped name, a path or a URL; one domain per line
Blocklist = Annotated[str, NeedsFile("blocklist", shipped="blocklists", suffix=".txt", remote=True)]


def resource_roots() -> list[Path]:
    return [p for p in (_PACKAGE_DATA, _SOURCE_TREE) if p.is_dir()]


def find_resource(name: str, suffix: str, kind: str = "") -> Path:
    """Resolve a shipped resource (``ja-web`` -> ``filters/ja-web.yaml``) or a file path."""
    stem = name[: -len(suffix)] if name.endswith(suffix) else name  # `ja-web` or `ja-web.yaml`
    rel = Path(kind) / f"{stem}{suffix}" if kind else Path(f"{stem}{suffix}")
    if not Path(name).is_absolute():
        for root in resource_roots():
            candidate = root / rel
            if candidate.is_file():
                return candidate
    path = Path(name).expanduser()
    if path.is_file():
        return path
    names = available(suffix, kind)
    hint = did_you_mean(name[: -len(suffix)] if name.endswith(suffix) else name, names)
    raise PresetError(f"no {kind or 'preset'} named {name!r}{hint} and no such file "
                      f"(shipped: {', '.join(names) or 'none'})")


def available(suffix: str = ".yaml", kind: str = "") -> list[str]:
    """Names of the shipped presets (or word lists, with ``kind='wordlists'``)."""
    names: set[str] = set()
    for root in resource_roots():
        base = root / kind if kind else root
        if base.is_dir():
            pattern = f"**/*{suffix}" if kind else f"*{suffix}"
            names.update(str(p.relative_to(base))[: -len(suffix)] for p in base.glob(pattern))
    return sorted(names)


def is_url(ref: str) -> bool:
    """Whether ``ref`` names a file by URL (``s3://...``, ``https://...``) rather than a path."""
    from fsspec.core import split_protocol

    return split_protocol(ref)[0] is not None


def load_words(ref: str, kind: str = "wordlists") -> list[str]:
    """A word list (or, ``kind="blocklists"``, a domain list): ``ja/adult`` (shipped), a path or a
    URL. One entry per line, ``#`` comments."""
    if is_url(ref):
        import fsspec

        with fsspec.open(ref, "rt", encoding="utf-8") as f:
            text = f.read()
    else:
        text = find_resource(ref, ".txt", kind).read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            out.append(word)
    return out


def file_problem(value: str, need: NeedsFile) -> str | None:
    """Why the file ``value`` names cannot be used for ``need``, or None when it can.

    Nothing is loaded: a URL is asked whether it ``exists`` (fsspec), a local file is opened and
    closed; a bare name of a shipped resource is looked up as :func:`find_resource` does.
    """
    what = f"{need.what} {value!r}"
    if is_url(value):
        if not need.remote:
            return f"{what} is a URL; a {need.what} is read from a local path"
        from fsspec.core import url_to_fs

        try:
            fs, root = url_to_fs(value)
            found = fs.exists(root)
        except Exception as e:  # noqa: BLE001 - no such protocol, a missing driver, no network
            return f"cannot check {what}: {type(e).__name__}: {e}"
        return None if found else f"{what} not found"
    path = Path(value).expanduser()
    if need.shipped:
        try:
            path = find_resource(value, need.suffix, need.shipped)
        except PresetError:
            if not path.exists():  # (a folder of that name is said below)
                return _not_shipped(value, need)
    if path.is_dir():
        if need.folder_holds and any(next(path.glob(p), None) for p in need.folder_holds):
            return None
        if need.folder_holds:
            return f"{what} is a folder with no {' or '.join(need.folder_holds)} in it"
        return f"{what} is a folder, not a file"
    if not path.exists():
        return f"{what} not found{_cwd(value)}"
    if not path.is_file():  # a FIFO or a device: opening one to check it could block
        return f"{what} is not a regular file"
    try:
        with path.open("rb"):
            pass
    except OSError as e:
        return f"{what} cannot be read: {e.strerror or e}"
    return None


def _not_shipped(value: str, need: NeedsFile) -> str:
    """Neither a shipped resource nor a file: a name that looks like a path is said to be one."""
    what = f"{need.what} {value!r}"
    if Path(value).expanduser().is_absolute() or value.startswith(".") or value.endswith(need.suffix):
        return f"{what} not found{_cwd(value)}"
    names = available(need.suffix, need.shipped)
    return (f"{what} not found: no shipped {need.what} of that name{did_you_mean(value, names)} "
            f"(shipped: {', '.join(names) or 'none'}) and no such file{_cwd(value)}")


def _cwd(value: str) -> str:
    # a relative path is read from the working directory of the run: say which one that is
    if Path(value).expanduser().is_absolute():
        return ""
    return f" (relative to the working directory {os.getcwd()})"
