"""Zero-copy numpy views of an Arrow string column: the UTF-8 bytes and row bounds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def utf8_buffers(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(data uint8, starts int64, ends int64)``: row ``i`` is ``data[starts[i]:ends[i]]``.

    The bytes are a view of the Arrow buffer (no copy); nulls read as empty strings.
    A chunked column is combined first (one copy).
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        off_type = np.int64
    elif pa.types.is_string(arr.type) or pa.types.is_binary(arr.type):
        off_type = np.int32
    else:
        raise TypeError(f"expected a string column, got {arr.type}")
    n = len(arr)
    bufs = arr.buffers()
    if n == 0 or bufs[2] is None:
        empty = np.zeros(n, np.int64)
        return np.zeros(0, np.uint8), empty, empty.copy()
    offsets = np.frombuffer(bufs[1], dtype=off_type, count=n + 1 + arr.offset)[arr.offset:]
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    starts = offsets[:-1].astype(np.int64)
    ends = offsets[1:].astype(np.int64)
    if arr.null_count:
        valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        ends = np.where(valid, ends, starts)
    return data, starts, ends
