"""Writers: Parquet (zstd) and JSONL shards rolled by size, optionally partitioned by a
column, written to temporary names and renamed into place when a task commits."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from functools import lru_cache
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusforge.errors import ErrorRecord
from corpusforge.io.atomic import AtomicFile
from corpusforge.io.layout import join
from corpusforge.io.storage import filesystem
from corpusforge.io.utf8 import check_table

#: the longest ``column=value`` folder name written as is; a longer one is cut (NAME_MAX is
#: 255 bytes on most file systems, less on some, such as encrypted home folders)
MAX_FOLDER_BYTES = 200
#: marks a cut folder name: ``@`` is always percent-encoded in a value, so no value's
#: folder can end like this
LONG_MARK = "@"
_LONG_VALUE = re.compile(r"[^@]*@[0-9a-f]{16}")
#: shards one writer keeps open; past it the least recently written one is closed (and a later
#: row of its partition starts the next numbered shard), so many partitions never run out of
#: file descriptors
MAX_OPEN_SHARDS = 64


def partition_dir(column: str, value: object) -> str:
    """``column=value`` as pyarrow's hive partitioning writes and reads it: the value
    percent-encoded (so ``en US`` or ``a/b`` survive the round trip through the folder name),
    null as ``__HIVE_DEFAULT_PARTITION__``.

    A name over :data:`MAX_FOLDER_BYTES` becomes ``column=<encoded prefix>@<hash>``: the exact
    value is then kept in the files (see :func:`is_long_partition`)."""
    field = pc.field(column)
    folder, _ = _hive(column).format(field.is_null() if value is None else field == str(value))
    if len(folder.encode()) <= MAX_FOLDER_BYTES:
        return folder
    digest = hashlib.sha256(str(value).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    head = folder[: folder.index("=") + 1]
    budget = MAX_FOLDER_BYTES - len(head.encode()) - len(LONG_MARK) - len(digest)
    return head + _cut_encoded(folder[len(head):], budget) + LONG_MARK + digest


def is_long_partition(folder: str) -> bool:
    """Whether a ``column=value`` folder name is a cut one, whose files keep the column."""
    _, sep, value = folder.partition("=")
    return bool(sep) and _LONG_VALUE.fullmatch(value) is not None


def _cut_encoded(encoded: str, budget: int) -> str:
    """The longest prefix of a percent-encoded value within ``budget`` bytes that ends on a
    whole character, so the cut name still decodes to valid UTF-8."""
    end = i = 0
    while i < len(encoded):
        step = 3 if encoded[i] == "%" else 1
        if i + step > budget:
            break
        i += step
        # a UTF-8 continuation byte (%80-%BF) never starts a character: do not cut before it
        if i >= len(encoded) or not (encoded[i] == "%" and encoded[i + 1] in "89AB"):
            end = i
    return encoded[:end]


@lru_cache(maxsize=64)
def _hive(column: str):  # -> pyarrow.dataset.HivePartitioning
    # imported here: pyarrow.dataset loads pandas (0.3 s, 40 MB), which only partitioned
    # writes need
    import pyarrow.dataset as ds

    return ds.HivePartitioning(pa.schema([(column, pa.string())]), segment_encoding="uri")


class _Shard:
    """One open output file."""

    def __init__(self, fs, final: str, fmt: str, compression: str, schema: pa.Schema) -> None:
        self.fmt, self.schema = fmt, schema
        self.file = AtomicFile(final, fs)
        self.raw: IO[bytes] = self.file.file
        try:
            self._open(fmt, compression, schema)
        except BaseException:
            self.file.discard()
            raise
        self.bytes = 0

    def _open(self, fmt: str, compression: str, schema: pa.Schema) -> None:
        if fmt == "parquet":
            self.pq = pq.ParquetWriter(
                self.raw, schema, compression=None if compression == "none" else compression
            )
            self.out = self.raw
        else:
            codec = {"zstd": "zstd", "gzip": "gzip", "none": None}[compression]
            self.out = _compressed(self.raw, codec)

    def takes(self, table: pa.Table) -> bool:
        """Whether ``table`` fits this file: a Parquet file has one schema, JSON lines any."""
        if self.fmt != "parquet" or table.schema == self.schema:
            return True
        if table.schema.names != self.schema.names:
            return False
        try:
            table.cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    def write(self, table: pa.Table) -> None:
        if self.fmt == "parquet":
            if table.schema != self.schema:
                table = table.cast(self.schema)
            self.pq.write_table(table)
            self.bytes = self.raw.tell()
        else:
            lines = b"".join(orjson.dumps(row, default=_json_default) + b"\n" for row in table.to_pylist())
            self.out.write(lines)
            self.bytes += len(lines)

    def close(self) -> None:
        if self.fmt == "parquet":
            self.pq.close()
        elif self.out is not self.raw:
            self.out.close()
        self.file.close()


def _json_default(value: object) -> object:
    """JSON for what orjson does not know: bytes (raw HTML, token buffers) as base64 text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _printable(value: object) -> object:
    """A string with lone surrogates (bytes decoded with ``surrogateescape``) as valid UTF-8,
    the surrogates spelled out as escapes."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _compressed(raw: IO[bytes], codec: str | None) -> IO[bytes]:
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
    if codec == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)  # mtime=0: identical bytes per run
    return raw


class ShardedWriter:
    """The shards one work unit writes into one sink."""

    def __init__(
        self,
        root: str,
        unit_index: int,
        fmt: str = "parquet",
        compression: str = "zstd",
        max_shard_bytes: int = 256 * 2**20,
        partition_by: str | None = None,
    ) -> None:
        self.fs, self.root = filesystem(root)
        self.unit_index, self.fmt, self.compression = unit_index, fmt, compression
        self.max_shard_bytes, self.partition_by = max_shard_bytes, partition_by
        self.open: dict[str, _Shard] = {}
        self.counters: dict[str, int] = {}
        self.done: list[_Shard] = []

    def _ext(self) -> str:
        if self.fmt == "parquet":
            return ".parquet"
        return {"zstd": ".jsonl.zst", "gzip": ".jsonl.gz", "none": ".jsonl"}[self.compression]

    def write(self, table: pa.Table, utf8_checked: bool = False) -> None:
        """Add ``table`` to the shards. Its strings are validated first (a ``UnicodeError``
        when one is not UTF-8) unless the caller says it has checked them."""
        if table.num_rows == 0:
            return
        if not utf8_checked:
            check_table(table)
        if not self.partition_by:
            try:
                self._write_to("", table)
            except BaseException:
                self.discard()
                raise
            return
        if self.partition_by not in table.column_names:
            # no value for any document: they all belong to the null partition
            table = table.append_column(self.partition_by, pa.nulls(table.num_rows, pa.string()))
        keys = table.column(self.partition_by)
        # Parquet follows the hive convention: the value lives in the folder name, not in the
        # file, so `pyarrow.dataset`/Spark/DuckDB read the folder back with the column restored
        # (a copy in the file would clash with it). JSON lines keep the field in every record.
        rows = table.drop_columns([self.partition_by]) if self.fmt == "parquet" else table
        try:
            for value in pc.unique(keys).to_pylist():
                mask = pc.is_null(keys) if value is None else pc.equal(keys, value)
                sub = partition_dir(self.partition_by, value)
                if self.fmt == "parquet" and is_long_partition(sub):
                    # a cut folder name does not give the value back: the files keep it, last
                    # (where hive readers put a partition column), for `open_output` to read
                    part = rows.append_column(self.partition_by, table.column(self.partition_by))
                    self._write_to(sub, part.filter(mask))
                else:
                    self._write_to(sub, rows.filter(mask))
        except BaseException:
            self.discard()
            raise

    def _write_to(self, sub: str, table: pa.Table) -> None:
        shard = self.open.pop(sub, None)
        if shard is not None and not shard.takes(table):
            # other columns than the open file's (e.g. sources with different metadata): the
            # file is finished and a new one holds the new schema; read_output unifies them
            self.done.append(shard)
            shard.close()
            shard = None
        if shard is None:
            if len(self.open) >= MAX_OPEN_SHARDS:
                # the least recently written (dicts keep insertion order, and a write moves its
                # shard to the end): depends only on the rows' order, so runs stay identical
                self._finish(next(iter(self.open)))
            n = self.counters.get(sub, 0)
            self.counters[sub] = n + 1
            name = f"part-{self.unit_index:05d}-{n:04d}{self._ext()}"
            shard = _Shard(self.fs, join(self.root, sub, name), self.fmt, self.compression, table.schema)
        self.open[sub] = shard
        shard.write(table)
        if shard.bytes >= self.max_shard_bytes:
            self._finish(sub)

    def _finish(self, sub: str) -> None:
        shard = self.open.pop(sub)
        self.done.append(shard)  # listed first: discard() removes it even if closing fails
        shard.close()

    def commit(self) -> list[str]:
        """Close everything and rename temporary files into place; returns the final paths."""
        paths: list[str] = []
        try:
            while self.open:
                self._finish(next(iter(self.open)))
            for shard in self.done:
                paths.append(shard.file.commit())
        except BaseException:
            self.done = self.done[len(paths):]  # the renamed ones are complete: they stay
            self.discard()
            raise
        self.done = []
        return paths

    def discard(self) -> None:
        """Close and remove every shard not yet committed (a failed write leaves no ``.tmp``)."""
        shards, self.open, self.done = [*self.done, *self.open.values()], {}, []
        for shard in shards:
            # the file goes anyway; the error that made the write fail is the one raised
            with contextlib.suppress(Exception):
                shard.close()
            shard.file.discard()


class ErrorWriter:
    """Error records of one task, as JSON lines in ``<folder>/<name>.jsonl`` (created on the
    first record: a task without errors leaves no file)."""

    def __init__(self, folder: str, name: str) -> None:
        self.fs, base = filesystem(folder)
        self.final = join(base, f"{name}.jsonl")
        self.file: AtomicFile | None = None

    def write(self, rec: ErrorRecord) -> None:
        if self.file is None:
            self.file = AtomicFile(self.final, self.fs)
        d = rec.to_dict()
        try:
            line = orjson.dumps(d)
        except TypeError:  # a message or snippet with a lone surrogate: written escaped
            line = orjson.dumps({k: _printable(v) for k, v in d.items()})
        self.file.file.write(line + b"\n")

    def commit(self) -> list[str]:
        return [] if self.file is None else [self.file.commit()]

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()
            self.file = None
