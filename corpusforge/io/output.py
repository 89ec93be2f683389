"""Reading a run's output back: its shards and partition folders as one table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.json as pj
from fsspec.core import url_to_fs

from corpusforge.io.files import open_binary
from corpusforge.io.layout import join, list_shards

JSONL_SUFFIXES = (".jsonl", ".jsonl.zst", ".jsonl.gz")


def _shards(path: str, sink: str | None, suffixes: tuple[str, ...]) -> tuple[object, str, list[str]]:
    base = join(path, sink) if sink else path
    fs, root = url_to_fs(base)
    return fs, root, [url_to_fs(f)[1] for f in list_shards(base, suffixes)]


def open_output(path: str, sink: str | None = None) -> ds.Dataset:
    """The Parquet documents a run wrote under ``path`` (or a sink of it: ``"_rejects"``).

    Partition folders (``lang=ja/``) become columns again; ``_``-prefixed folders (rejects,
    errors, state) and ``stats.json`` are not documents and are left out.
    """
    fs, root, files = _shards(path, sink, (".parquet",))
    return ds.dataset(files, filesystem=fs, format="parquet",
                      partitioning=ds.HivePartitioning.discover(infer_dictionary=False),
                      partition_base_dir=root)


def read_output(path: str, sink: str | None = None) -> pa.Table:
    """All documents of a run as one table, in shard order, for Parquet and JSONL outputs."""
    fs, root, files = _shards(path, sink, JSONL_SUFFIXES)
    if not files:
        return open_output(path, sink).to_table()
    tables = []
    for file in files:  # JSONL records keep their partition field, so no folder parsing here
        with open_binary(fs.unstrip_protocol(file) if "://" in path else file) as f:
            data = f.read()
        # pyarrow's JSON reader needs every line inside one block (1 MB by default)
        block = max(2**20, _longest_line(data) + 1)
        tables.append(pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=block)))
    return pa.concat_tables(tables, promote_options="permissive")


def _longest_line(data: bytes) -> int:
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    bounds = np.concatenate(([-1], ends, [len(data)]))
    return int(np.diff(bounds).max()) if len(data) else 0
