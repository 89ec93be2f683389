"""The document schema every reader produces and every step receives.

A batch is a ``pyarrow.Table`` with at least these columns. Steps add columns;
internal provenance columns (prefixed ``__``) travel with the batch so that an
error or a reject can name the file and record it came from, and are dropped by
the writers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ID, TEXT, SOURCE, URL = "id", "text", "source", "url"
#: Provenance: the file a document was read from and its position there
#: (byte offset for JSONL, row index for Parquet and datasets, record number for demo).
FILE, POS = "__file", "__pos"
#: the rejects sink's extra columns: the step that removed a document, and ``reject_*`` keys
#: (e.g. the id a near-duplicate was matched to) that travel with it
STEP, REJECT_PREFIX = "step", "reject_"
#: where a removed document came from, in the rejects sink (the provenance, made public)
REJECT_FILE, REJECT_POSITION = "file", "position"

# Columns that steps add and later steps, stages and tools read (the default names: several
# steps let a config rename them).
#: a document's language (``langid``, ``code_route`` or the input) and its language-ID score
LANG, LANG_SCORE = "lang", "lang_score"
#: token counts and token ids (``tokenize``)
N_TOKENS, TOKEN_IDS = "n_tokens", "token_ids"
#: a filter's decision as ``Filter.score`` reports it (``<label>_keep``/``<label>_reason`` in
#: annotate mode)
KEEP, REASON = "keep", "reason"
#: the column carrying a removed row's reason from a step or stage to the rejects sink (internal,
#: so that a document's own ``reason`` field never collides with it)
REMOVED_REASON = "__reason"

DOC_SCHEMA = pa.schema(
    [
        pa.field(ID, pa.string(), nullable=False),
        pa.field(TEXT, pa.string(), nullable=False),
        pa.field(SOURCE, pa.string(), nullable=False),
        pa.field(URL, pa.string()),
    ]
)


def make_batch(
    ids: pa.Array | list,
    texts: pa.Array | list,
    source: str,
    file: str,
    positions: pa.Array | list,
    urls: pa.Array | list | None = None,
    extra: dict[str, pa.Array] | None = None,
) -> pa.Table:
    """Assemble a document batch with provenance columns."""
    n = len(texts)
    cols: dict[str, pa.Array | pa.ChunkedArray] = {
        ID: _array(ids, pa.string()),
        TEXT: _array(texts, pa.string()),
        SOURCE: pa.repeat(pa.scalar(source, pa.string()), n),
        URL: _array(urls, pa.string()) if urls is not None else pa.nulls(n, pa.string()),
    }
    for name, arr in (extra or {}).items():
        cols[name] = arr
    cols[FILE] = pa.repeat(pa.scalar(file, pa.string()), n)
    cols[POS] = _array(positions, pa.int64())
    return pa.table(cols)


def _array(values, type_: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """Arrow data as is (cast if needed, never through Python objects); lists converted."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values if values.type == type_ else values.cast(type_)
    return pa.array(values, type_)


def derived_ids(source: str, file: str, positions: pa.Array) -> pa.Array:
    """Stable ids for documents whose source has none: ``source:file:position``."""
    prefix = f"{source}:{file}:"
    return pc.binary_join_element_wise(prefix, pc.cast(positions, pa.string()), "")


def text_bytes(batch: pa.Table) -> int:
    """UTF-8 bytes of the text column (what throughput and accounting count)."""
    if batch.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(batch.column(TEXT))).as_py() or 0)


def public_columns(batch: pa.Table) -> pa.Table:
    """Drop the internal provenance columns before writing."""
    internal = [n for n in batch.column_names if n.startswith("__")]
    return batch.drop_columns(internal) if internal else batch


#: the language of a document that has none, in token counts and mixes
NO_LANG = "und"


def token_counts(batch: pa.Table, n_tokens: str = N_TOKENS) -> dict[str, dict[str, int]] | None:
    """Tokens per source and language (``und`` without one) of a batch, or None when it
    carries no token counts. What the stats count for each step after a tokenize step."""
    if n_tokens not in batch.column_names:
        return None
    out: dict[str, dict[str, int]] = {}
    for row in _by_source_and_lang(batch, {"n": batch.column(n_tokens).cast(pa.int64())}, [("n", "sum")]):
        out.setdefault(row[SOURCE], {})[row[LANG]] = int(row["n_sum"] or 0)
    return out


def doc_counts(batch: pa.Table) -> dict[str, dict[str, list[int]]]:
    """``{source: {language: [documents, text bytes]}}`` of a batch (``und`` without a language):
    what the output of a run's map phase holds, for the report."""
    out: dict[str, dict[str, list[int]]] = {}
    sizes = pc.binary_length(batch.column(TEXT)).cast(pa.int64())
    for row in _by_source_and_lang(batch, {"b": sizes}, [("b", "count"), ("b", "sum")]):
        out.setdefault(row[SOURCE], {})[row[LANG]] = [int(row["b_count"]), int(row["b_sum"] or 0)]
    return out


def _by_source_and_lang(batch: pa.Table, values: dict[str, pa.Array], aggregations: list) -> list[dict]:
    """``aggregations`` (``sum`` or ``count`` of non-null values) of the ``values`` columns per
    source and language of ``batch``, groups in order of first appearance.

    Grouped with numpy on dictionary codes, not ``Table.group_by``: that loads Acero and
    ``pyarrow.dataset`` (~10 MB of RSS in every worker, and pandas if not yet loaded) for a
    few groups.
    """
    if batch.num_rows == 0:
        return []
    n = batch.num_rows
    lang = batch.column(LANG).cast(pa.string()) if LANG in batch.column_names else pa.nulls(n, pa.string())
    src = _codes(batch.column(SOURCE).cast(pa.string()))
    lng = _codes(pc.fill_null(lang, NO_LANG))
    key = src[0] * len(lng[1]) + lng[0]
    uniq, first, group = np.unique(key, return_index=True, return_inverse=True)
    rank = np.argsort(first, kind="stable")  # group ids -> rows in order of first appearance
    rows: list[dict] = [{SOURCE: src[1][k // len(lng[1])], LANG: lng[1][k % len(lng[1])]} for k in uniq]
    for column, agg in aggregations:
        arr = values[column]
        valid = np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)
        if agg == "count":
            out = np.bincount(group[valid], minlength=len(uniq)).tolist()
        elif agg == "sum":
            vals = np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
            sums = np.zeros(len(uniq), np.int64)
            np.add.at(sums, group, vals)  # int64, exact (bincount's weights are floats)
            sums = sums.tolist()
            has = np.bincount(group[valid], minlength=len(uniq))
            out = [total if k else None for total, k in zip(sums, has)]  # all null: None, as Arrow
        else:
            raise ValueError(f"unknown aggregation {agg!r}")
        for row, x in zip(rows, out):
            row[f"{column}_{agg}"] = x
    return [rows[g] for g in rank]


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list]:
    """Integer code per row and the distinct values (nulls are one value of their own)."""
    enc = pc.dictionary_encode(column, null_encoding="encode")
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.unify_dictionaries().combine_chunks() if enc.num_chunks else pa.array([], enc.type)
    return (np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64),
            enc.dictionary.to_pylist())
