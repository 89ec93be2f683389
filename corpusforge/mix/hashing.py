"""Deterministic hashes of document ids, whole column at once.

The hash must not depend on the worker, the batch or the Python process (``hash()`` is
salted per process), so it is computed from the UTF-8 bytes of the id: 64-bit FNV-1a over
the bytes, vectorised across documents (one numpy pass per byte *position*, not per
document), then a SplitMix64 finaliser so that the top bits — the buckets — are uniform.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
BITS = 20  #: bucket resolution of the mixing histograms: 2**20 buckets per subset
NB_DEFAULT = 1 << BITS  #: "no bucket": a cut at this value selects nothing


def salt_of(name: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little"))


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (bijective, avalanching) over a uint64 array."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def id_hash(ids: pa.Array | pa.ChunkedArray, salt: str = "") -> np.ndarray:
    """A uint64 per id; equal ids and salt give equal hashes everywhere. Nulls hash like ``""``."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks else pa.array([], pa.string())
    arr = pc.fill_null(ids.cast(pa.large_string()), "")
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    active = np.arange(n)
    j = 0
    with np.errstate(over="ignore"):
        while active.size:
            active = active[lengths[active] > j]  # ids still longer than j bytes
            if not active.size:
                break
            h[active] = (h[active] ^ data[starts[active] + j].astype(np.uint64)) * _FNV_PRIME
            j += 1
    return mix64(h ^ salt_of(salt))


def buckets(h: np.ndarray, bits: int = BITS) -> np.ndarray:
    """The top ``bits`` bits of a hash: its bucket in ``[0, 2**bits)``."""
    return (h >> np.uint64(64 - bits)).astype(np.int64)
