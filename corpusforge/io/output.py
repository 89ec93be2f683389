"""Reading a run's output back: its shards and partition folders as one table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.json as pj

from corpusforge.io.corpus import committed_snapshot_paths, is_corpus
from corpusforge.io.files import open_binary
from corpusforge.io.layout import join, list_shards
from corpusforge.io.storage import StorageOptions, filesystem, register
from corpusforge.io.writers import is_long_partition

JSONL_SUFFIXES = (".jsonl", ".jsonl.zst", ".jsonl.gz")


def _shards(path: str, sink: str | None, suffixes: tuple[str, ...]) -> tuple[object, str, list[str]]:
    """The filesystem, the folder partitions are relative to, and the shards: of one run, or
    of every committed snapshot of an incremental corpus (``snapshot=<id>/`` comes back as a
    column, and a night that has not committed is left out)."""
    if is_corpus(path):
        fs, root = filesystem(path)
        bases = [join(s, sink) if sink else s for s in committed_snapshot_paths(path)]
        return fs, root, [filesystem(f)[1] for b in bases for f in list_shards(b, suffixes)]
    base = join(path, sink) if sink else path
    fs, root = filesystem(base)
    return fs, root, [filesystem(f)[1] for f in list_shards(base, suffixes)]


def open_output(path: str, sink: str | None = None,
                storage_options: StorageOptions | None = None) -> ds.Dataset:
    """The Parquet documents a run wrote under ``path`` (or a sink of it: ``"_rejects"``),
    a folder or a bucket prefix (``storage_options``: credentials, endpoint).

    Partition folders (``lang=ja/``) become columns again; ``_``-prefixed folders (rejects,
    errors, state) and ``stats.json`` are not documents and are left out.
    """
    register(path, storage_options)
    fs, root, files = _shards(path, sink, (".parquet",))
    partitioning = ds.HivePartitioning.discover(infer_dictionary=False)
    long = [_in_long_folder(f, root) for f in files]
    if not any(long):
        return _unified(ds.dataset(files, filesystem=fs, format="parquet", partitioning=partitioning,
                                   partition_base_dir=root))
    # A cut folder name (a long value) is no value to read back, and pyarrow would let it win
    # over the column its files keep: those files are read without partitioning, the others
    # with it, as children of one dataset in shard order.
    plain = [f for f, cut in zip(files, long) if not cut]
    if plain:
        discovered = ds.dataset(plain, filesystem=fs, format="parquet", partitioning=partitioning,
                                partition_base_dir=root)
        partitioning = _as_strings(discovered.partitioning)
    children = []
    start = 0
    for i in range(1, len(files) + 1):
        if i == len(files) or long[i] != long[start]:
            group = files[start:i]
            children.append(_unified(
                ds.dataset(group, filesystem=fs, format="parquet") if long[start] else
                ds.dataset(group, filesystem=fs, format="parquet", partitioning=partitioning,
                           partition_base_dir=root)))
            start = i
    schema = pa.unify_schemas([c.schema for c in children], promote_options="permissive")
    # a union dataset takes no child whose schema differs: each is given the whole one
    return ds.dataset([c.replace_schema(schema) for c in children], schema=schema)


def _unified(dataset: ds.FileSystemDataset) -> ds.FileSystemDataset:
    """``dataset`` with every column of every shard: pyarrow takes the first shard's schema,
    and shards of different sources carry different metadata columns (nulls where absent)."""
    schemas = [f.physical_schema for f in dataset.get_fragments()]
    if all(s.equals(schemas[0]) for s in schemas[1:]):  # also no shard at all
        return dataset
    # the discovered schema goes first: it has the partition fields, as columns come back
    schema = pa.unify_schemas([dataset.schema, *schemas], promote_options="permissive")
    return dataset.replace_schema(schema)


def _in_long_folder(file: str, root: str) -> bool:
    rel = file[len(root):].strip("/").split("/")[:-1]
    return any(is_long_partition(folder) for folder in rel)


def _as_strings(partitioning: ds.Partitioning) -> ds.Partitioning:
    """The discovered hive partitioning with string fields: a long value's files keep their
    column as text, which a field inferred as a number (``year=2024``) would not take."""
    schema = pa.schema([(f.name, pa.string()) for f in partitioning.schema])
    return ds.HivePartitioning(schema, segment_encoding="uri")


def read_output(path: str, sink: str | None = None,
                storage_options: StorageOptions | None = None) -> pa.Table:
    """All documents of a run as one table, in shard order, for Parquet and JSONL outputs
    (local or in a bucket: ``storage_options`` as in :func:`open_output`)."""
    register(path, storage_options)
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
