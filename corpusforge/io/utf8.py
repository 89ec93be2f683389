"""UTF-8 validity of what readers produce, checked by Arrow in bulk.

Arrow string arrays are assumed to hold valid UTF-8, but neither pyarrow's JSON parser
nor its Parquet reader checks the bytes they copy into them: an invalid byte then travels
to a step or a writer and fails there (or is written as if it were text). The readers
therefore check whole buffers at C speed (``Array.validate(full=True)`` releases the GIL)
and only look at single rows when a buffer fails.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def is_utf8(data: bytes | memoryview) -> bool:
    """Whether ``data`` as a whole is valid UTF-8 (one vectorised pass, GIL released)."""
    n = len(data)
    if n == 0:
        return True
    buf = pa.py_buffer(data)
    offsets = pa.array([0, n], pa.int64()).buffers()[1]
    arr = pa.LargeStringArray.from_buffers(1, offsets, buf)
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def invalid_rows(column: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Rows of a string or binary column that are not valid UTF-8 (a boolean mask), or None
    when every row is (the common case, decided without leaving Arrow)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    masks: list[np.ndarray] = []
    any_bad = False
    for chunk in chunks:
        if _chunk_valid(chunk):
            masks.append(np.zeros(len(chunk), dtype=bool))
            continue
        any_bad = True
        masks.append(_row_mask(chunk))
    if not any_bad:
        return None
    return np.concatenate(masks) if masks else np.zeros(0, dtype=bool)


def _chunk_valid(chunk: pa.Array) -> bool:
    if pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type):
        chunk = chunk.view(pa.large_string() if pa.types.is_large_binary(chunk.type) else pa.string())
    try:
        chunk.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _row_mask(chunk: pa.Array) -> np.ndarray:
    """Row by row, for a chunk known to hold a bad row: Python's decoder on each value."""
    as_bytes = chunk.cast(pa.large_binary()) if not pa.types.is_large_binary(chunk.type) else chunk
    out = np.zeros(len(chunk), dtype=bool)
    for i, value in enumerate(as_bytes.to_pylist()):
        if value is None:
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            out[i] = True
    return out


def bad_lines(data: bytes | memoryview, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Indices of the lines ``data[starts[i]:ends[i]]`` that are not valid UTF-8."""
    view = memoryview(data)
    bad = []
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        try:
            str(view[s:e], "utf-8")
        except UnicodeDecodeError:
            bad.append(i)
    return np.asarray(bad, dtype=np.int64)


def first_invalid(data: bytes) -> str:
    """Where and what the first invalid byte of ``data`` is, for an error message."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"invalid UTF-8 at byte {e.start}: {data[e.start:e.end]!r} ({e.reason})"
    return "valid UTF-8"


def _is_string(t: pa.DataType) -> bool:
    return (pa.types.is_string(t) or pa.types.is_large_string(t)
            or getattr(pa.types, "is_string_view", lambda _: False)(t))


def _data_buffer(chunk: pa.Array) -> pa.Buffer | None:
    """The buffer a string array's characters live in (None: none, or all inline)."""
    bufs = chunk.buffers()
    return bufs[2] if len(bufs) > 2 else None


def _data_buffers(table: pa.Table) -> set[int]:
    out = set()
    for col in table.columns:
        if _is_string(col.type):
            for chunk in col.chunks:
                buf = _data_buffer(chunk)
                if buf is not None:
                    out.add(buf.address)
    return out


def invalid_new_rows(table: pa.Table, before: pa.Table) -> np.ndarray | None:
    """Rows of ``table`` holding invalid UTF-8 in a string column whose bytes are not those
    of ``before`` (already checked); None when there are none. A step that passes its
    input on, or slices it, costs nothing here."""
    known = _data_buffers(before)
    mask: np.ndarray | None = None
    for col in table.columns:
        if not _is_string(col.type):
            continue
        start = 0
        for chunk in col.chunks:
            buf = _data_buffer(chunk)
            if (buf is None or buf.address not in known) and len(chunk) and not _chunk_valid(chunk):
                if mask is None:
                    mask = np.zeros(table.num_rows, dtype=bool)
                mask[start : start + len(chunk)] |= _row_mask(chunk)
            start += len(chunk)
    return mask if mask is not None and mask.any() else None


def invalid_columns(table: pa.Table) -> list[str]:
    """The string columns of ``table`` that hold invalid UTF-8."""
    return [name for name, col in zip(table.column_names, table.columns)
            if _is_string(col.type) and not all(_chunk_valid(c) for c in col.chunks)]


def check_table(table: pa.Table) -> None:
    """Raise ``UnicodeError`` when a string column of ``table`` holds invalid UTF-8: the
    writers' last line of defence, so that no file ever holds such text."""
    bad = invalid_columns(table)
    if bad:
        raise UnicodeError(f"refusing to write invalid UTF-8 (columns {', '.join(bad)})")
