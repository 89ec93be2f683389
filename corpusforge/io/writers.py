"""Writers: Parquet (zstd) and JSONL shards rolled by size, optionally partitioned by a
column, written to temporary names and renamed into place when a task commits."""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

from corpusforge.errors import ErrorRecord
from corpusforge.io.atomic import AtomicFile
from corpusforge.io.layout import join
from corpusforge.io.utf8 import check_table


def partition_dir(column: str, value: object) -> str:
    """``column=value`` as pyarrow's hive partitioning writes and reads it: the value
    percent-encoded (so ``en US`` or ``a/b`` survive the round trip through the folder name),
    null as ``__HIVE_DEFAULT_PARTITION__``."""
    field = pc.field(column)
    folder, _ = _hive(column).format(field.is_null() if value is None else field == str(value))
    return folder


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
        if fmt == "parquet":
            self.pq = pq.ParquetWriter(
                self.raw, schema, compression=None if compression == "none" else compression
            )
            self.out = self.raw
        else:
            codec = {"zstd": "zstd", "gzip": "gzip", "none": None}[compression]
            self.out = _compressed(self.raw, codec)
        self.bytes = 0

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
        self.fs, self.root = url_to_fs(root)
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
            self._write_to("", table)
            return
        if self.partition_by not in table.column_names:
            # no value for any document: they all belong to the null partition
            table = table.append_column(self.partition_by, pa.nulls(table.num_rows, pa.string()))
        keys = table.column(self.partition_by)
        # Parquet follows the hive convention: the value lives in the folder name, not in the
        # file, so `pyarrow.dataset`/Spark/DuckDB read the folder back with the column restored
        # (a copy in the file would clash with it). JSON lines keep the field in every record.
        rows = table.drop_columns([self.partition_by]) if self.fmt == "parquet" else table
        for value in pc.unique(keys).to_pylist():
            mask = pc.is_null(keys) if value is None else pc.equal(keys, value)
            self._write_to(partition_dir(self.partition_by, value), rows.filter(mask))

    def _write_to(self, sub: str, table: pa.Table) -> None:
        shard = self.open.get(sub)
        if shard is None:
            n = self.counters.get(sub, 0)
            self.counters[sub] = n + 1
            name = f"part-{self.unit_index:05d}-{n:04d}{self._ext()}"
            shard = _Shard(self.fs, join(self.root, sub, name), self.fmt, self.compression, table.schema)
            self.open[sub] = shard
        shard.write(table)
        if shard.bytes >= self.max_shard_bytes:
            shard.close()
            self.done.append(shard)
            del self.open[sub]

    def commit(self) -> list[str]:
        """Close everything and rename temporary files into place; returns the final paths."""
        for shard in self.open.values():
            shard.close()
            self.done.append(shard)
        self.open.clear()
        return [shard.file.commit() for shard in self.done]


class ErrorWriter:
    """Error records of one task, as JSON lines in ``<folder>/<name>.jsonl`` (created on the
    first record: a task without errors leaves no file)."""

    def __init__(self, folder: str, name: str) -> None:
        self.fs, base = url_to_fs(folder)
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
