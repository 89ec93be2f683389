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


#: date-time forms tried one value at a time when a text column is not uniformly one of them
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def _text_values(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A text column as timestamps (ISO 8601, with or without a zone: WARC-Date is
    ``2024-04-25T16:24:47Z``) or numbers. Values of a date column that parse as no date (a
    crawler's malformed WARC-Date) become null, and lose."""
    errors = (pa.ArrowInvalid, pa.ArrowNotImplementedError)
    for kind in (pa.timestamp("us"), pa.timestamp("us", "UTC"), pa.float64()):
        try:
            return pc.cast(col, kind)
        except errors:
            pass
    # a column of dates, some malformed (a shard may hold only malformed ones): those lose; a
    # column that holds no date at all is a wrong keep_column
    if not pc.any(pc.match_substring_regex(col, r"^\d{4}-\d{2}-\d{2}")).as_py():
        example = pc.drop_null(col)[0].as_py() if len(col) > col.null_count else None
        raise KeepColumnError(f"cannot compare values of the keep column: neither dates nor numbers "
                              f"(e.g. {example!r})")
    parsed = [pc.cast(pc.strptime(col, format=f, unit="us", error_is_null=True), pa.int64())
              for f in _DATE_FORMATS]
    return pc.cast(pc.coalesce(*parsed), pa.timestamp("us"))


def _floats(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        col = _text_values(col)
        t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        col = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
    out = pc.cast(col, pa.float64())
    return np.asarray(pc.fill_null(out, -np.inf).to_numpy(zero_copy_only=False), dtype=np.float64)
