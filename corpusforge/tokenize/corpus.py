"""Reading any Parquet / JSONL corpus folder as Arrow batches, for counting and mixing.

Unlike pipeline inputs this keeps every column as it is, recovers hive partition values
from ``key=value`` folders (``lang=ja/part-0.parquet`` gives a ``lang`` column; pyarrow decodes
them as the writers encode them) and lifts the fields of an LLM-jp ``meta`` object to columns
when they are not already there.
Folders and files starting with ``_`` or ``.`` (rejects, errors, state) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.json as pajson
import pyarrow.parquet as pq

from corpusforge.io.files import expand, open_binary
from corpusforge.io.layout import is_document_path

_JSONL = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".jsonl.bz2", ".jsonl.xz", ".json")


def corpus_files(path: str | list[str]) -> list[tuple[str, str]]:
    """``(path, name)`` of the Parquet and JSONL files under a folder, glob or list."""
    return [(p, n) for p, n in expand(path)
            if (p.endswith(".parquet") or p.endswith(_JSONL)) and is_document_path(n)]


def partition_values(name: str) -> dict[str, str | None]:
    """``{"lang": "ja"}`` for ``lang=ja/part-00000-0000.parquet``.

    Values are percent-decoded (``lang=en%20US`` is ``en US``) and the null folder
    (``__HIVE_DEFAULT_PARTITION__``) gives ``None``, as in :func:`corpusforge.io.output.open_output`.
    """
    # pyarrow parses the folders (never the file name) but needs the field names up front;
    # all string-typed, as the folder gives them
    keys = [key for key, eq, _ in (part.partition("=") for part in name.split("/")[:-1]) if key and eq]
    if not keys:
        return {}
    fields = list(dict.fromkeys(keys))
    values = ds.get_partition_keys(ds.HivePartitioning(pa.schema([(k, pa.string()) for k in fields]))
                                   .parse(name))
    return {k: values[k] for k in fields if k in values}  # in folder order, as columns are added


def read_file(path: str, name: str, batch_rows: int = 8192, columns: list[str] | None = None
              ) -> Iterator[pa.Table]:
    """Batches of one corpus file, with partition and ``meta`` fields as columns."""
    parts = partition_values(name)
    if path.endswith(".parquet"):
        with open_binary(path, decompress=False) as f:
            pf = pq.ParquetFile(f)
            cols = None if columns is None else [c for c in columns if c in pf.schema_arrow.names]
            for rb in pf.iter_batches(batch_size=batch_rows, columns=cols):
                yield _finish(pa.Table.from_batches([rb]), parts)
    else:
        with open_binary(path) as f:
            table = pajson.read_json(f, read_options=pajson.ReadOptions(block_size=16 << 20))
        table = _finish(table, parts)
        for start in range(0, table.num_rows, batch_rows):
            yield table.slice(start, batch_rows)


def _finish(table: pa.Table, parts: dict[str, str | None]) -> pa.Table:
    if "meta" in table.column_names and pa.types.is_struct(table.schema.field("meta").type):
        meta = table.column("meta").combine_chunks()
        for i, field in enumerate(meta.type):
            if field.name not in table.column_names:
                table = table.append_column(field.name, meta.field(i))
    for key, value in parts.items():
        if key not in table.column_names:
            table = table.append_column(key, pa.repeat(pa.scalar(value, pa.string()), table.num_rows))
    return table
