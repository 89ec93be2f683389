"""Mapping a record's fields onto the document schema, shared by the JSONL, Parquet and HF readers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.utf8 import first_invalid, invalid_rows
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
                no_text(mapping.text) if text is None else not_text(mapping.text, type(text).__name__))
            yield ErrorRecord("read", "BadRecord", f"record {what}", file, p,
                              snippet=as_text(rec)[:300] if rec is not None else None)
            continue
        if len(text) > max_doc_bytes // 4 and len(text.encode("utf-8", "surrogatepass")) > max_doc_bytes:
            yield too_large(file, p, len(text.encode("utf-8", "surrogatepass")), max_doc_bytes, text)
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


def no_text(field: str) -> str:
    return f"has no text field {field!r}"


def not_text(field: str, type_name: str) -> str:
    """The one message every reader gives for a text field that is not a string."""
    return f"field {field!r} is {type_name}, not a string"


def is_text_type(t: pa.DataType) -> bool:
    """Types a text column may have: strings, and bytes that must then be valid UTF-8
    (Parquet writers that do not mark text as UTF-8 store it as plain binary)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_null(t)
            or getattr(pa.types, "is_string_view", lambda _: False)(t)
            or getattr(pa.types, "is_binary_view", lambda _: False)(t))


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
    max_doc_bytes: int, utf8_checked: bool = False,
) -> Iterator[pa.Table | ErrorRecord]:
    """Columnar path: a table read by pyarrow -> a batch, bad rows -> error records.

    A row whose text is missing, not a string, too large or not valid UTF-8 (in the text or
    in any other mapped string field) becomes one error record, in row order. With
    ``utf8_checked`` the caller has already validated the bytes the table was parsed from.
    """
    text = _flat(table, mapping.text)
    if text is None:
        yield ErrorRecord("read", "MissingColumn", f"no text column {mapping.text!r}; columns: "
                          f"{table.column_names}", file, int(positions[0].as_py()) if len(positions) else None,
                          n_docs=table.num_rows)
        return
    if table.num_rows == 0:
        return
    pos_np = positions.to_numpy(zero_copy_only=False)
    text = _plain(text)
    if not is_text_type(text.type):
        # the JSON reader refuses such a record; so does every other reader, row by row
        for i, v in enumerate(text.to_pylist()):
            what = no_text(mapping.text) if v is None else not_text(mapping.text, str(text.type))
            yield ErrorRecord("read", "BadRecord", f"record {what}", file, int(pos_np[i]),
                              snippet=None if v is None else as_text(v)[:300])
        return
    problems: dict[int, ErrorRecord] = {}
    binary_text = pa.types.is_binary(text.type) or pa.types.is_large_binary(text.type)
    for key in (mapping.text, mapping.id, mapping.url, *mapping.metadata):
        col = text if key == mapping.text else _flat(table, key) if key else None
        if col is None or (utf8_checked and not (col is text and binary_text)):
            continue
        col = _plain(col)
        if not is_text_type(col.type) or pa.types.is_null(col.type):
            continue
        bad = invalid_rows(col)
        if bad is None:
            continue
        raw = col.cast(pa.large_binary())
        for i in np.flatnonzero(bad).tolist():
            if i not in problems:
                value = raw[i].as_py()
                problems[i] = ErrorRecord("read", "InvalidUtf8", f"field {key!r}: {first_invalid(value)}",
                                          file, int(pos_np[i]), snippet=snippet(value))
    nbytes = np.nan_to_num(pc.binary_length(text).to_numpy(zero_copy_only=False), nan=0)
    missing = text.is_null().to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(missing | (nbytes > max_doc_bytes)).tolist():
        if i in problems:
            continue
        problems[i] = (ErrorRecord("read", "BadRecord", f"record {no_text(mapping.text)}", file, int(pos_np[i]))
                       if missing[i] else too_large(file, int(pos_np[i]), int(nbytes[i]), max_doc_bytes,
                                                     text[i].as_py()))
    if problems:
        for i in sorted(problems):
            yield problems[i]
        keep = np.ones(table.num_rows, dtype=bool)
        keep[list(problems)] = False
        if not keep.any():
            return
        mask = pa.array(keep)
        table, text, positions = table.filter(mask), text.filter(mask), positions.filter(mask)
    text = text.cast(pa.string())
    ids = _string_or_none(table, mapping.id)
    urls = _string_or_none(table, mapping.url)
    meta = {column_name(k): _string_or_none(table, k) or pa.nulls(table.num_rows, pa.string())
            for k in mapping.metadata}
    yield finish_batch(text, ids, urls, meta, positions, source, file)


def _plain(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary-encoded column as its values (Parquet readers may hand text over so)."""
    return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col


def too_large(file: str, pos: int, n: int, limit: int, text: str | bytes | None,
              id: str | None = None) -> ErrorRecord:
    """The one error record every reader gives for a document over ``max_doc_bytes``."""
    return ErrorRecord("read", "DocumentTooLarge",
                       f"document of {n} bytes exceeds max_doc_bytes={limit}", file, pos, id=id,
                       snippet=snippet(text) if text else None)


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


