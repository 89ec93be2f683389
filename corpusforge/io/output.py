"""Reading a run's output back: one dataset over its shards and partition folders."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
from fsspec.core import url_to_fs


def open_output(path: str, sink: str | None = None) -> ds.Dataset:
    """The documents a run wrote under ``path`` (or one of its sinks: ``"_rejects"``).

    Partition folders (``lang=ja/``) become columns again; ``_``-prefixed folders (rejects,
    errors, state) and ``stats.json`` are not documents and are left out.
    """
    fs, root = url_to_fs(path)
    if sink:
        root = f"{root.rstrip('/')}/{sink}"
    files = sorted(p for p in fs.find(root) if p.endswith(".parquet")
                   and not any(part.startswith("_") for part in p[len(root):].split("/")))
    return ds.dataset(files, filesystem=fs, format="parquet",
                      partitioning=ds.HivePartitioning.discover(infer_dictionary=False),
                      partition_base_dir=root)


def read_output(path: str, sink: str | None = None) -> pa.Table:
    """All documents of ``open_output`` as one table, in shard order."""
    return open_output(path, sink).to_table()
