"""Reading any Parquet / JSONL corpus folder as Arrow batches, for counting and mixing.

Unlike pipeline inputs this keeps every column as it is, recovers hive partition values
from ``key=value`` folders (``lang=ja/part-0.parquet`` gives a ``lang`` column; pyarrow decodes
them as the writers encode them) and lifts the fields of an LLM-jp ``meta`` object to columns
when they are not already there.
Folders and files starting with ``_`` or ``.`` (rejects, errors, state) are skipped, and so
are the files a run writes next to its documents (``stats.json``, ``mix_manifest.json``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.json as pajson
import pyarrow.parquet as pq

from corpusforge.io.files import expand, open_binary
from corpusforge.io.layout import is_document_path
from corpusforge.io.megatron import MegatronDataset
from corpusforge.schema import N_TOKENS

_JSONL = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".jsonl.bz2", ".jsonl.xz", ".json")
#: a Megatron indexed dataset is named by its index (its ``.bin`` sits next to it)
MEGATRON_INDEX = ".idx"
#: where the mix writes its other copies of each split (``jsonl/train/``, ``megatron/train/``),
#: in the order a copy is preferred after the Parquet one (``train/``)
COPY_FOLDERS = ("jsonl", "megatron")


def corpus_files(path: str | list[str], megatron: bool = False) -> list[tuple[str, str]]:
    """``(path, name)`` of the Parquet and JSONL files under a folder, glob or list (and the
    ``.idx`` of Megatron datasets when ``megatron``)."""
    kinds = (".parquet", *_JSONL, *((MEGATRON_INDEX,) if megatron else ()))
    return [(p, n) for p, n in expand(path) if p.endswith(kinds) and is_document_path(n)]


def without_copies(files: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(files to read, copies left out)``: a file under ``jsonl/<split>/`` or
    ``megatron/<split>/`` is another copy of the same documents when a preferred copy of
    ``<split>`` (Parquet ``<split>/``, then JSONL) is among ``files``, as in a mix output."""
    def copy_of(name: str) -> tuple[str, str]:
        head, _, rest = name.partition("/")
        family, inner = (head, rest) if head in COPY_FOLDERS and rest else ("", name)
        return family, inner.rpartition("/")[0]

    splits: dict[str, set[str]] = {}
    for _, name in files:
        family, split = copy_of(name)
        splits.setdefault(family, set()).add(split)
    order = ("", *COPY_FOLDERS)
    keep, copies = [], []
    for path, name in files:
        family, split = copy_of(name)
        # only named splits: a lone jsonl/ folder next to root files is documents of its own
        better = order[:order.index(family)]
        is_copy = bool(split) and any(split in splits.get(b, ()) for b in better)
        (copies if is_copy else keep).append((path, name))
    return keep, copies


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
    if path.endswith(MEGATRON_INDEX):
        # token ids only: a document's length is its token count (end-of-document id included)
        lengths = MegatronDataset(path).lengths
        for start in range(0, len(lengths), batch_rows):
            yield _finish(pa.table({N_TOKENS: pa.array(lengths[start:start + batch_rows], pa.int64())}),
                          parts)
    elif path.endswith(".parquet"):
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
