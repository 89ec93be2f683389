"""A shard's dedup keys bucketed by their leading bits, so that a ``group`` task reads only
its hash range of each shard instead of the whole key row.

Per shard (and per persistent-index part) two arrays:

* ``grouped``: ``(m, 2)`` uint64, one row per valid key: ``(key, document's index in the
  shard)``, ordered by key row, then by the key's leading :data:`BUCKET_BITS` bits;
* ``directory``: ``(key rows, 2**BUCKET_BITS + 1)`` int64: where each bucket of each key row
  starts in ``grouped`` (the last column: where the key row ends).

A group task of hash range ``p`` of ``parts`` (a range of the key's top 32 bits, see
:func:`partition_of`) reads one directory row (8 kB) and the buckets its range overlaps:
the traffic of the whole ``group`` phase is the keys once, whatever the number of ranges,
instead of every key row once per range.
"""

from __future__ import annotations

import numpy as np

from corpusforge.io.arrays import load_rows, save_array

#: leading key bits of a directory bucket (1,024 buckets: a range reads at most two buckets
#: it does not need, while there are fewer ranges than buckets)
BUCKET_BITS = 10
_SHIFT = np.uint64(64 - BUCKET_BITS)


def partition_of(keys: np.ndarray, parts: int) -> np.ndarray:
    """The hash range of each key: a range of its top 32 bits (keys are hashes, so even)."""
    return ((keys >> np.uint64(32)) * np.uint64(parts)) >> np.uint64(32)


def write_grouped(grouped_path: str, directory_path: str, keys: np.ndarray, valid: np.ndarray) -> None:
    """Write the grouped keys and their directory for ``keys``/``valid`` of shape (rows, n)."""
    rows = keys.shape[0]
    buckets = 1 << BUCKET_BITS
    directory = np.zeros((rows, buckets + 1), np.int64)
    grouped = np.empty((int(np.count_nonzero(valid)), 2), np.uint64)
    start = 0
    for r in range(rows):
        idx = np.flatnonzero(valid[r])
        k = keys[r, idx]
        bucket = (k >> _SHIFT).astype(np.uint16)  # a 16-bit stable sort is a radix sort
        order = np.argsort(bucket, kind="stable")
        stop = start + len(idx)
        grouped[start:stop, 0] = k[order]
        grouped[start:stop, 1] = idx[order]
        directory[r] = start + np.searchsorted(bucket[order], np.arange(buckets + 1, dtype=np.uint16))
        start = stop
    save_array(grouped_path, grouped)
    save_array(directory_path, directory)


def read_range(grouped_path: str, directory_path: str, row: int, part: int, parts: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, index in the shard)`` of key row ``row`` in hash range ``part`` of ``parts``,
    reading only the directory row and the buckets the range overlaps."""
    if not 0 <= part < parts:
        raise ValueError(f"hash range {part} of {parts} does not exist")
    lo = -(-part * (1 << 32) // parts)  # the range's first top-32-bit value (ceil)
    hi = -(-(part + 1) * (1 << 32) // parts)
    if hi <= lo:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    shift = 32 - BUCKET_BITS
    first, last = lo >> shift, (hi - 1) >> shift
    directory = load_rows(directory_path, row, row + 1)[0]
    data = load_rows(grouped_path, int(directory[first]), int(directory[last + 1]))
    keys, idx = data[:, 0], data[:, 1].astype(np.int64)
    if parts > 1:
        inside = partition_of(keys, parts) == part
        keys, idx = keys[inside], idx[inside]
    return keys, idx
