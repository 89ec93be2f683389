"""Atomic writes: a reader (or a resumed run) sees either the whole file or none of it.

On a filesystem with renames (local disk, memory) a file is written under ``<name>.tmp``
and renamed into place when complete; a killed writer leaves only ``*.tmp`` files, which a
resume removes. On an object store (S3, GCS) an upload becomes visible whole, and only when
it completes: the file is written at its own name and completed by :meth:`AtomicFile.commit`
(a killed writer leaves an unfinished multipart upload, invisible, which the bucket's
lifecycle rule removes). Every writer of the project goes through :class:`AtomicFile`
(long-lived shards) or :func:`atomic_write` (one-shot files).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import orjson
from fsspec import AbstractFileSystem

from corpusforge.io.storage import filesystem, is_object_store

TMP_SUFFIX = ".tmp"
#: part size of an upload to an object store (S3 takes 5 MiB at least); also what an open
#: file holds in memory, and the size below which a file is one PUT
UPLOAD_PART_BYTES = 8 * 2**20


class _Upload(io.RawIOBase):
    """A file on an object store that appears only on :meth:`commit`.

    Its bytes stay in memory up to one part and are then one PUT; a larger file becomes a
    multipart upload as it is written (autocommit off: closing uploads the last part, only
    ``commit`` completes it). Dropped without a commit (an error, the garbage collector, a
    killed process), nothing appears.
    """

    def __init__(self, fs: AbstractFileSystem, path: str) -> None:
        super().__init__()
        self.fs, self.path = fs, path
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._remote: IO[bytes] | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        if self._remote is not None:
            return self._remote.write(data)
        assert self._buffer is not None, "written after discard"
        n = self._buffer.write(data)
        if self._buffer.tell() >= UPLOAD_PART_BYTES:
            self._remote = self.fs.open(self.path, "wb", autocommit=False, block_size=UPLOAD_PART_BYTES)
            self._remote.write(self._buffer.getbuffer())
            self._buffer = None
        return n

    def tell(self) -> int:
        return self._remote.tell() if self._remote is not None else self._buffer.tell()  # type: ignore[union-attr]

    def close(self) -> None:
        if self._remote is not None and not self._remote.closed:
            self._remote.close()
        super().close()

    def commit(self) -> None:
        self.close()
        if self._remote is not None:
            self._remote.commit()  # type: ignore[attr-defined]
        elif self._buffer is not None:
            self.fs.pipe_file(self.path, self._buffer.getvalue())
            self._buffer = None

    def discard(self) -> None:
        self.close()
        if self._remote is not None:
            self._remote.discard()  # type: ignore[attr-defined]
        self._buffer = None


class AtomicFile:
    """A file that appears at ``path`` complete, on :meth:`commit`, or not at all.

    Written under ``<path>.tmp`` and renamed, or, on an object store, uploaded to ``path``
    and completed by :meth:`commit` (:meth:`discard` aborts the upload).
    ``shared=True`` is for a file several processes may write at once (a cache): each
    writes its own ``<path>.<pid>.tmp`` and the last rename (or upload) wins.
    """

    def __init__(self, path: str, fs: AbstractFileSystem | None = None, *, shared: bool = False) -> None:
        if fs is None:
            fs, path = filesystem(path)
        self.fs, self.final = fs, path
        self.direct = is_object_store(fs)
        if self.direct:
            self.tmp = path
            self.file: IO[bytes] = _Upload(fs, path)
            return
        self.tmp = f"{path}.{os.getpid()}{TMP_SUFFIX}" if shared else path + TMP_SUFFIX
        parent = path.rpartition("/")[0]
        if parent:
            fs.makedirs(parent, exist_ok=True)
        self.file = fs.open(self.tmp, "wb")

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def commit(self) -> str:
        """Close (if still open) and move into place; returns the final path."""
        if self.direct:
            self.file.commit()  # type: ignore[attr-defined]
        else:
            self.close()
            self.fs.mv(self.tmp, self.final)
        return self.final

    def discard(self) -> None:
        self.close()
        if self.direct:
            self.file.discard()  # type: ignore[attr-defined]
        elif self.fs.exists(self.tmp):
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
        fs, path = filesystem(path)
    try:
        data = fs.cat_file(path)
    except FileNotFoundError:
        return None
    return orjson.loads(data)
