"""Atomic writes: a file is written under a temporary name and renamed into place.

A reader (or a resumed run) therefore sees either the whole file or none of it; a killed
writer leaves only ``*.tmp`` files, which a resume removes. Every writer of the project goes
through :class:`AtomicFile` (long-lived shards) or :func:`atomic_write` (one-shot files).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import orjson
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

TMP_SUFFIX = ".tmp"


class AtomicFile:
    """A file opened under ``<path>.tmp``; :meth:`commit` renames it to ``path``.

    ``shared=True`` is for a file several processes may write at once (a cache): each
    writes its own ``<path>.<pid>.tmp`` and the last rename wins.
    """

    def __init__(self, path: str, fs: AbstractFileSystem | None = None, *, shared: bool = False) -> None:
        if fs is None:
            fs, path = url_to_fs(path)
        tmp = f"{path}.{os.getpid()}{TMP_SUFFIX}" if shared else path + TMP_SUFFIX
        self.fs, self.final, self.tmp = fs, path, tmp
        parent = path.rpartition("/")[0]
        if parent:
            fs.makedirs(parent, exist_ok=True)
        self.file: IO[bytes] = fs.open(self.tmp, "wb")

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def commit(self) -> str:
        """Close (if still open) and move into place; returns the final path."""
        self.close()
        self.fs.mv(self.tmp, self.final)
        return self.final

    def discard(self) -> None:
        self.close()
        if self.fs.exists(self.tmp):
            self.fs.rm(self.tmp)


@contextmanager
def atomic_write(path: str, fs: AbstractFileSystem | None = None, *,
                 shared: bool = False) -> Iterator[IO[bytes]]:
    """``with atomic_write(path) as f: f.write(...)``: in place only if the block succeeds."""
    target = AtomicFile(path, fs, shared=shared)
    try:
        yield target.file
    except BaseException:
        target.discard()
        raise
    target.commit()


def write_bytes(path: str, data: bytes, fs: AbstractFileSystem | None = None) -> None:
    with atomic_write(path, fs) as f:
        f.write(data)


def write_json(path: str, value: Any, *, indent: bool = False,
               fs: AbstractFileSystem | None = None) -> None:
    """JSON (orjson, numpy values allowed) written atomically."""
    option = orjson.OPT_SERIALIZE_NUMPY | (orjson.OPT_INDENT_2 if indent else 0)
    write_bytes(path, orjson.dumps(value, option=option), fs)


def read_json(path: str, fs: AbstractFileSystem | None = None) -> Any | None:
    """The JSON at ``path``, or None when there is no such file."""
    if fs is None:
        fs, path = url_to_fs(path)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as f:
        return orjson.loads(f.read())
