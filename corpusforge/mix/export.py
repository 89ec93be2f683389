"""Writing training-ready output: Parquet shards, LLM-jp JSONL, Megatron indexed datasets."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.io.batching import BatchConfig, bounded_take
from corpusforge.io.layout import join
from corpusforge.io.megatron import MegatronWriter
from corpusforge.io.writers import ShardedWriter
from corpusforge.schema import TEXT, TOKEN_IDS, public_columns
from corpusforge.tokenize.loader import load_tokenizer

#: the rows written at a time: what a write task holds beyond its shard, in each format
BATCH = BatchConfig(max_docs=16384, max_bytes=64 * 2**20)


def llmjp_rows(table: pa.Table) -> pa.Table:
    """The LLM-jp corpus layout: ``{"text": ..., "meta": {every other column}}``."""
    others = [c for c in table.column_names if c not in (TEXT, TOKEN_IDS)]
    meta = pa.StructArray.from_arrays([table.column(c).combine_chunks() for c in others], names=others) \
        if others else pa.array([{}] * table.num_rows)
    return pa.table({TEXT: table.column(TEXT), "meta": meta})


def token_arrays(table: pa.Table, tokenizer, append_eod: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, flat ids)``: the ``token_ids`` column when present, else the text tokenized."""
    if TOKEN_IDS in table.column_names:
        ids = table.column(TOKEN_IDS).combine_chunks()
        offsets = ids.offsets.to_numpy().astype(np.int64)
        flat = ids.values.to_numpy()[offsets[0]:offsets[-1]]
        return offsets - offsets[0], flat
    tok = load_tokenizer(tokenizer)
    offsets, flat = tok.encode(pc.fill_null(table.column(TEXT), "").to_pylist())
    if append_eod:
        flat = np.insert(flat, offsets[1:], np.uint32(tok.eos_id))
        offsets = offsets + np.arange(len(offsets), dtype=np.int64)
    return offsets, flat


def write_outputs(table: pa.Table, order: pa.Array, root: str, name: str, index: int, outputs: list[str], *,
                  tokenizer=None, append_eod: bool = True, parquet_ids: bool = False,
                  compression: str = "zstd", max_shard_bytes: int = 256 * 2**20) -> list[str]:
    """Write ``table.take(order)`` in every requested format under ``root``.

    The rows go out one bounded batch at a time (:data:`BATCH`), each batch to every format,
    so the task holds its table plus one batch in every form (Python rows for JSONL, token ids
    for Megatron), never a reordered copy of the whole table. ``name`` is the split folder
    (``train``, ``validation/ja_wiki``); ``index`` numbers the shard.
    """
    table = public_columns(table)
    parquet = jsonl = mw = None
    if "parquet" in outputs:
        parquet = ShardedWriter(join(root, name), index, "parquet", compression, max_shard_bytes)
    if "jsonl" in outputs:
        jsonl = ShardedWriter(join(root, "jsonl", name), index, "jsonl", compression, max_shard_bytes)
    prefix = join(root, "megatron", name, f"part-{index:05d}")
    if "megatron" in outputs:
        # written in place, local or remote: each file is atomic (io/atomic.py)
        mw = MegatronWriter(prefix, load_tokenizer(tokenizer).vocab_size)
    for batch in bounded_take(table, order, BATCH):
        if parquet is not None:
            keep_ids = parquet_ids or TOKEN_IDS not in batch.column_names
            parquet.write(batch if keep_ids else batch.drop_columns([TOKEN_IDS]))
        if jsonl is not None:
            jsonl.write(llmjp_rows(batch))
        if mw is not None:
            mw.add(*token_arrays(batch, tokenizer, append_eod))
    files: list[str] = []
    if parquet is not None:
        files += parquet.commit()
    if jsonl is not None:
        files += jsonl.commit()
    if mw is not None:
        mw.commit()
        files += [prefix + ".bin", prefix + ".idx"]
    return files
