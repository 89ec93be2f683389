"""Whole Parquet tables on any filesystem: the shards between phases and stage scratch.

pyarrow would open an ``s3://`` path with its own S3 client, which knows neither the
pipeline's storage options nor its endpoint: every table is opened through fsspec here.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from corpusforge.io.atomic import atomic_write
from corpusforge.io.storage import filesystem


def read_table(path: str, columns: list[str] | None = None) -> pa.Table:
    """The table at ``path``; of ``columns`` only those the file has."""
    fs, root = filesystem(path)
    with fs.open(root, "rb") as f:
        pf = pq.ParquetFile(f)
        cols = None if columns is None else [c for c in columns if c in pf.schema_arrow.names]
        return pf.read(columns=cols)


def num_rows(path: str) -> int:
    fs, root = filesystem(path)
    with fs.open(root, "rb") as f:
        return pq.ParquetFile(f).metadata.num_rows


def write_table(path: str, table: pa.Table, plain: tuple[str, ...] = ()) -> None:
    """Written atomically, zstd-compressed but for the ``plain`` columns (token ids, which
    zstd shrinks by about a tenth at several times the cost of the text)."""
    compression = {c: "none" if c in plain else "zstd" for c in table.column_names} if plain else "zstd"
    with atomic_write(path) as f:
        pq.write_table(table, f, compression=compression)
