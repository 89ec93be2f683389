"""Mapping a record's fields onto the document schema, shared by the JSONL, Parquet and HF readers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.errors import ErrorRecord
from corpusforge.models import FieldMapping
from corpusforge.schema import derived_ids, make_batch


def column_name(key: str) -> str:
    """Kept metadata ``meta.pile_set_name`` becomes the column ``pile_set_name``."""
    return key.rpartition(".")[2]


def get_path(obj: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else str(value)


def records_to_batch(
    records: list[dict],
    positions: list[int],
    mapping: FieldMapping,
    source: str,
    file: str,
    max_doc_bytes: int,
) -> Iterator[pa.Table | ErrorRecord]:
    """Row-wise path: python records -> one batch, with an error record per bad record."""
    texts, ids, urls, pos = [], [], [], []
    meta: dict[str, list] = {column_name(k): [] for k in mapping.metadata}
    for rec, p in zip(records, positions):
        text = get_path(rec, mapping.text) if isinstance(rec, dict) else None
        if not isinstance(text, str):
            what = "is not a JSON object" if not isinstance(rec, dict) else (
                f"has no text field {mapping.text!r}" if text is None else
                f"field {mapping.text!r} is {type(text).__name__}, not a string")
            yield ErrorRecord("read", "BadRecord", f"record {what}", file, p,
                              snippet=as_text(rec)[:300] if rec is not None else None)
            continue
        if len(text) > max_doc_bytes // 4 and len(text.encode("utf-8", "surrogatepass")) > max_doc_bytes:
            yield _too_large(file, p, len(text.encode("utf-8", "surrogatepass")), max_doc_bytes, text)
            continue
        texts.append(text)
        ids.append(as_text(get_path(rec, mapping.id)) if mapping.id else None)
        urls.append(as_text(get_path(rec, mapping.url)) if mapping.url else None)
        for key in mapping.metadata:
            meta[column_name(key)].append(as_text(get_path(rec, key)))
        pos.append(p)
    if texts:
        yield finish_batch(
            pa.array(texts, pa.string()), pa.array(ids, pa.string()), pa.array(urls, pa.string()),
            {k: pa.array(v, pa.string()) for k, v in meta.items()},
            pa.array(pos, pa.int64()), source, file,
        )


def finish_batch(
    texts: pa.Array,
    ids: pa.Array | None,
    urls: pa.Array | None,
    meta: dict[str, pa.Array],
    positions: pa.Array,
    source: str,
    file: str,
) -> pa.Table:
    """Fill missing ids from provenance and assemble the batch."""
    if ids is None or ids.null_count:
        derived = derived_ids(source, file, positions)
        ids = derived if ids is None else pc.if_else(pc.is_null(ids), derived, ids)
    return make_batch(ids, texts, source, file, positions, urls, meta)


def split_table(
    table: pa.Table, mapping: FieldMapping, source: str, file: str, positions: pa.Array,
    max_doc_bytes: int,
) -> Iterator[pa.Table | ErrorRecord]:
    """Columnar path: a table read by pyarrow -> a batch, bad rows -> error records."""
    text = _flat(table, mapping.text)
    if text is None:
        yield ErrorRecord("read", "MissingColumn", f"no text column {mapping.text!r}; columns: "
                          f"{table.column_names}", file, int(positions[0].as_py()) if len(positions) else None,
                          n_docs=table.num_rows)
        return
    if not pa.types.is_string(text.type) and not pa.types.is_large_string(text.type):
        try:
            text = text.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            yield ErrorRecord("read", "BadColumn", f"text column {mapping.text!r} has type {text.type}",
                              file, int(positions[0].as_py()) if len(positions) else None,
                              n_docs=table.num_rows)
            return
    text = text.cast(pa.string())
    nbytes = pc.binary_length(text).to_numpy(zero_copy_only=False)
    bad = text.is_null().to_numpy(zero_copy_only=False) | (np.nan_to_num(nbytes, nan=0) > max_doc_bytes)
    if bad.any():
        pos_np = positions.to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(bad):
            if text[i].is_valid:
                yield _too_large(file, int(pos_np[i]), int(nbytes[i]), max_doc_bytes, text[i].as_py())
            else:
                yield ErrorRecord("read", "BadRecord", f"record has no text field {mapping.text!r}",
                                  file, int(pos_np[i]))
        keep = pa.array(~bad)
        table, text, positions = table.filter(keep), text.filter(keep), positions.filter(keep)
        if table.num_rows == 0:
            return
    ids = _string_or_none(table, mapping.id)
    urls = _string_or_none(table, mapping.url)
    meta = {column_name(k): _string_or_none(table, k) or pa.nulls(table.num_rows, pa.string())
            for k in mapping.metadata}
    yield finish_batch(text, ids, urls, meta, positions, source, file)


def _too_large(file: str, pos: int, n: int, limit: int, text: str | None) -> ErrorRecord:
    return ErrorRecord("read", "DocumentTooLarge",
                       f"document of {n} bytes exceeds max_doc_bytes={limit}", file, pos,
                       snippet=text[:300] if text else None)


def _flat(table: pa.Table, key: str | None) -> pa.ChunkedArray | None:
    if not key:
        return None
    head, *rest = key.split(".")
    if head not in table.column_names:
        return None
    col = table.column(head)
    for part in rest:
        if not pa.types.is_struct(col.type) or col.type.get_field_index(part) < 0:
            return None
        col = pc.struct_field(col, part)
    return col


def _string_or_none(table: pa.Table, key: str | None) -> pa.ChunkedArray | None:
    col = _flat(table, key)
    if col is None:
        return None
    if pa.types.is_string(col.type):
        return col
    try:
        return col.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.chunked_array([pa.array([as_text(v) for v in col.to_pylist()], pa.string())])


def explicit_schema(mapping: FieldMapping) -> pa.Schema:
    """The JSON parse schema for the mapped fields (nested for dotted keys)."""
    tree: dict = {}
    for key in [mapping.text, mapping.id, mapping.url, *mapping.metadata]:
        if not key:
            continue
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = None

    def to_type(node: dict) -> list[pa.Field]:
        return [pa.field(k, pa.string() if v is None else pa.struct(to_type(v))) for k, v in node.items()]

    return pa.schema(to_type(tree))


