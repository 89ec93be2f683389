"""Fixed-bin histograms of filter signals, mergeable across units, workers and runs.

Every signal of every filter is counted on the same edges, whatever its range, so that two
histograms merge by adding their counts (no pass over the data to agree on bins): 50 linear
bins over ``[0, 1)`` (fractions and ratios), then 20 logarithmic bins per decade up to
``1e10`` (counts, lengths), mirrored for negative values (scores). A histogram is sparse:
``{bin index (str): count}``, plus ``"nan"`` for missing values; the index is a position in
:data:`EDGES`, so the bin of index ``i`` is ``[EDGES[i], EDGES[i + 1])``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_POSITIVE = np.concatenate([np.linspace(0.0, 1.0, 51), 10.0 ** (np.arange(1, 201) / 20)])
#: the bin edges every histogram shares, ascending
EDGES = np.concatenate([-_POSITIVE[:0:-1], _POSITIVE])
#: the key of missing values (null or NaN)
NAN = "nan"

Histogram = dict[str, int]


def numeric(values: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray | None:
    """A signal as float64 (nulls as NaN), or None when it is not numbers (a string signal)."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1 or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
            return None
        return values.astype(np.float64, copy=False)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
            or pa.types.is_boolean(values.type)):
        return None
    floats = pc.cast(values, pa.float64())
    return np.asarray(pc.fill_null(floats, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def counts(values: np.ndarray) -> Histogram:
    """The sparse histogram of ``values`` (floats, NaN for missing)."""
    out: Histogram = {}
    missing = np.isnan(values)
    if missing.any():
        out[NAN] = int(missing.sum())
    present = values[~missing]
    if present.size:
        idx = bins_of(present)
        found = np.bincount(idx, minlength=len(EDGES) - 1)
        for i in np.flatnonzero(found):
            out[str(int(i))] = int(found[i])
    return out


def bins_of(values: np.ndarray | float) -> np.ndarray:
    """The bin index of each value (below the first edge: the first bin; above: the last)."""
    return np.clip(np.searchsorted(EDGES, values, side="right") - 1, 0, len(EDGES) - 2)


def add(into: Histogram, other: Histogram) -> None:
    for key, n in other.items():
        into[key] = into.get(key, 0) + n


def total(h: Histogram) -> int:
    return sum(h.values())


def bin_range(key: str) -> tuple[float, float] | None:
    """The ``[low, high)`` of a bin key; None for the missing values' key."""
    if key == NAN:
        return None
    i = int(key)
    return float(EDGES[i]), float(EDGES[i + 1])
