"""File access through fsspec: globs over any filesystem, compression by extension; the
settings shared by inputs that read files."""

from __future__ import annotations

import os
from typing import IO

import fsspec
from fsspec.core import url_to_fs

from corpusforge.io.layout import is_document_path
from corpusforge.io.zstd import open_zstd
from corpusforge.models import FieldMapping, Size

#: ``.tgz`` is a gzip too (a gzipped tar, read by the ``tar`` input)
COMPRESSED = {".gz": "gzip", ".tgz": "gzip", ".zst": "zstd", ".bz2": "bz2", ".xz": "xz"}


class FileInput(FieldMapping):
    """Fields shared by the inputs that read files of records (JSONL and Parquet)."""

    #: a path, URL or glob (fsspec), or a list of them; .gz/.zst/.bz2/.xz decompress by extension
    path: str | list[str]
    #: value of the ``source`` column (defaults to the input's position: ``input0``)
    source: str | None = None
    #: a document larger than this becomes an error record instead of a batch
    max_doc_bytes: Size = 64 * 2**20


def compression_of(path: str) -> str | None:
    return COMPRESSED.get(os.path.splitext(path)[1].lower())


def expand(patterns: str | list[str]) -> list[tuple[str, str]]:
    """Expand paths, folders and globs into sorted ``(path, name)`` pairs.

    ``name`` is the file's path relative to the pattern's fixed prefix (the folder
    before the first wildcard, or the file's own folder): it goes into document ids
    and error records, so it must not depend on the working directory or machine.
    """
    out: dict[str, str] = {}
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        fs, root = url_to_fs(pattern)
        if any(c in root for c in "*?["):
            base = root[: min(root.find(c) for c in "*?[" if c in root)].rpartition("/")[0]
            found = [p for p in fs.glob(root) if fs.isfile(p)]
        elif fs.isdir(root):
            # a folder: its documents, not a run layout's rejects, errors, state or stats
            # (reading a previous run's output folder reads what it kept)
            base = root.rstrip("/")
            found = [p for p in fs.find(root) if is_document_path(p[len(base) + 1:])]
        else:
            base = root.rpartition("/")[0]
            found = [root] if fs.exists(root) else []
        base = fs._strip_protocol(base) if base else base
        for p in sorted(found):
            name = p[len(base) :].lstrip("/") if base and p.startswith(base) else os.path.basename(p)
            out.setdefault(_unstrip(fs, p, pattern), name)
    return list(out.items())


def _unstrip(fs: fsspec.AbstractFileSystem, path: str, pattern: str) -> str:
    # glob() returns protocol-less paths; keep the protocol so workers can reopen them
    if "://" in pattern and "://" not in path:
        return fs.unstrip_protocol(path)
    return path


def open_binary(path: str, decompress: bool = True) -> IO[bytes]:
    """Open for reading; decompress by extension unless told otherwise. A truncated
    compressed file raises ``EOFError`` where it ends (zstd included, see ``io/zstd.py``)."""
    compression = compression_of(path) if decompress else None
    if compression == "zstd":
        return open_zstd(fsspec.open(path, "rb").open())
    return fsspec.open(path, "rb", compression=compression).open()


def size_of(path: str) -> int:
    fs, root = url_to_fs(path)
    return int(fs.size(root))


class PartialRead(Exception):
    """A read that failed part-way: ``data`` is what was read before ``cause``."""

    def __init__(self, data: bytes, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.data, self.cause = data, cause


def read_upto(f, size: int, piece: int) -> bytes:
    """Read about ``size`` bytes in ``piece``-sized reads; on a stream error keep what was read."""
    if piece >= size:
        try:
            return f.read(size)
        except Exception as e:  # noqa: BLE001 - any decoder or I/O failure ends the file here
            raise PartialRead(b"", e) from e
    parts: list[bytes] = []
    got = 0
    while got < size:
        try:
            part = f.read(piece)
        except Exception as e:  # noqa: BLE001
            raise PartialRead(b"".join(parts), e) from e
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)
