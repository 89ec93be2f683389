"""File access through fsspec: globs over any filesystem, compression by extension; the
settings shared by inputs that read files.

Listing is one request (or one paginated listing) per input pattern, never one per file: the
sizes and versions the listing returned are kept (:func:`listed`) for the planners and the
run's fingerprint, which would otherwise ask the store about every file again."""

from __future__ import annotations

import os
import re
from typing import IO

import fsspec
from fsspec.utils import glob_translate

from corpusforge.errors import ErrorRecord
from corpusforge.io.layout import is_document_path
from corpusforge.io.storage import StorageOptions, filesystem
from corpusforge.io.units import WorkUnit
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
    #: fsspec options of the files' bucket: ``key``, ``secret``, ``anon``,
    #: ``client_kwargs: {endpoint_url: ...}`` (without: the AWS_* environment variables)
    storage_options: StorageOptions = {}


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
        fs, root = filesystem(pattern)
        if any(c in root for c in "*?["):
            base = root[: min(root.find(c) for c in "*?[" if c in root)].rpartition("/")[0]
            if "/" in root[len(base) + 1:] or "**" in root:
                # wildcards over several folder levels: fsspec's glob lists folder by folder;
                # one recursive listing of the fixed folder, matched here, is one request
                match = re.compile(glob_translate(root)).match
                listing = fs.find(base, detail=True)
            else:
                listing = fs.glob(root, detail=True)
                match = bool
            found = {p: i for p, i in listing.items() if _is_file(fs, p, i) and match(p)}
        elif fs.isdir(root):
            # a folder: its documents, not a run layout's rejects, errors, state or stats
            # (reading a previous run's output folder reads what it kept)
            base = root.rstrip("/")
            found = {p: i for p, i in fs.find(root, detail=True).items()
                     if is_document_path(p[len(base) + 1:])}
        else:
            base = root.rpartition("/")[0]
            try:
                found = {root: fs.info(root)}
            except FileNotFoundError:
                found = {}
        base = fs._strip_protocol(base) if base else base
        for p in sorted(found):
            name = p[len(base) :].lstrip("/") if base and p.startswith(base) else os.path.basename(p)
            path = _unstrip(fs, p, pattern)
            out.setdefault(path, name)
            _LISTED[path] = _version(found[p])
    return list(out.items())


def _is_file(fs: fsspec.AbstractFileSystem, path: str, info: dict) -> bool:
    """A file, or a link to one (a mirror of links into a shared folder is a mirror too)."""
    if info.get("type") == "file":
        return True
    return bool(info.get("islink")) and fs.isfile(path)


#: ``path -> (size, version)`` of the files the last listings found
_LISTED: dict[str, tuple[int | None, str | None]] = {}
#: what identifies a file's version, by filesystem: the first key its info() has
_VERSION_KEYS = ("mtime", "LastModified", "last_modified", "ETag", "etag", "md5Hash", "created")


def _version(info: dict) -> tuple[int | None, str | None]:
    stamp = next((info[k] for k in _VERSION_KEYS if info.get(k) is not None), None)
    return info.get("size"), str(stamp) if stamp is not None else None


def listed(path: str) -> tuple[int | None, str | None]:
    """``(size, version)`` of a file: from the listing that found it (:func:`expand`), else
    asked of its filesystem."""
    if path not in _LISTED:
        fs, root = filesystem(path)
        _LISTED[path] = _version(fs.info(root))
    return _LISTED[path]


def listed_size(path: str) -> int | None:
    """A file's size if a listing found it (never a request: for estimates only)."""
    return _LISTED.get(path, (None, None))[0]


def _unstrip(fs: fsspec.AbstractFileSystem, path: str, pattern: str) -> str:
    # glob() returns protocol-less paths; keep the protocol so workers can reopen them
    if "://" in pattern and "://" not in path:
        return fs.unstrip_protocol(path)
    return path


def open_binary(path: str, decompress: bool = True) -> IO[bytes]:
    """Open for reading; decompress by extension unless told otherwise. A truncated
    compressed file raises ``EOFError`` where it ends (zstd included, see ``io/zstd.py``)."""
    compression = compression_of(path) if decompress else None
    fs, root = filesystem(path)
    if compression == "zstd":
        return open_zstd(fs.open(root, "rb"))
    # an OpenFile closes the raw file with the decompressor (a GzipFile leaves it open)
    return fsspec.core.OpenFile(fs, root, "rb", compression=compression).open()


def size_of(path: str) -> int:
    size = listed(path)[0]
    if size is None:
        fs, root = filesystem(path)
        size = fs.size(root)
    return int(size)


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


def open_unit(unit: WorkUnit) -> IO[bytes] | ErrorRecord:
    """A work unit's file opened for reading (decompressed by extension), or the one error
    record that stands for it when it cannot be opened (the run goes on with the others)."""
    try:
        return open_binary(unit.path)
    except Exception as e:  # noqa: BLE001 - any open failure: the unit's error record
        return ErrorRecord.from_exception("read", e, file=unit.name, position=0)
