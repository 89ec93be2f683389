"""Keep policies: a priority per document; a cluster keeps its highest-priority member
(ties: the first in input order)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.schema import TEXT


class KeepColumnError(ValueError):
    pass


def priority(table: pa.Table, policy: str, column: str | None) -> np.ndarray:
    """float64 priority per row (higher wins; missing values lose)."""
    n = table.num_rows
    if policy == "first":
        return np.zeros(n)
    if policy == "longest":
        return _floats(pc.utf8_length(pc.fill_null(table.column(TEXT), "")))
    assert column is not None
    if column not in table.column_names:
        raise KeepColumnError(f"keep: {policy} compares column {column!r}, which the documents do not have "
                              f"(columns: {', '.join(table.column_names)}); set keep_column")
    values = _floats(table.column(column))
    return -values if policy in ("oldest", "lowest") else values


def _floats(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # dates as text: ISO 8601 parses to a timestamp; otherwise a number
        try:
            col = pc.cast(col, pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            try:
                col = pc.cast(col, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise KeepColumnError(f"cannot compare values of the keep column: {e}") from None
        t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        col = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
    out = pc.cast(col, pa.float64())
    return np.asarray(pc.fill_null(out, -np.inf).to_numpy(zero_copy_only=False), dtype=np.float64)
