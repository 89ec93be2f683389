"""The project's hashes: dedup signatures, mix buckets and shuffles and the filters' n-gram keys
are all built from what is here, so changing any bit of it changes outputs.

Three families:

* **FNV-1a** over the UTF-8 bytes of a string column, in numpy (:func:`fnv1a`, :func:`id_hash`).
  A document-id hash must not depend on the worker, the batch or the process (``hash()`` is
  salted per process), so it is computed from the bytes, vectorised across documents: one
  numpy pass per byte *position*, not per document. :data:`FNV_PRIME` is also the multiplier
  of the dedup kernels' rolling shingle polynomial.
* **SplitMix64's finaliser** (:func:`splitmix64`, :func:`mix64`): a bijective, avalanching
  64-bit mixer. It finishes id hashes (so that their top bits, the mix buckets, are uniform)
  and the dedup kernels inline it for shingles, registers and band keys.
* **Golden-ratio mixers** (:data:`GOLDEN`, :func:`golden_mix`): multiplication by 2**64/phi,
  the cheap finaliser of the filters' n-gram and duplicate keys, and the odd constant that
  spreads small integers (round, band, epoch numbers) over 64 bits.

Nothing here imports numba: the filters and the mix use these functions without paying for
it. The dedup kernels compile :func:`splitmix64` themselves (see ``dedup/kernels.py``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FNV_OFFSET = np.uint64(0xCBF29CE484222325)  #: 64-bit FNV offset basis
FNV_PRIME = np.uint64(0x100000001B3)  #: 64-bit FNV prime
SPLITMIX_M1 = np.uint64(0xBF58476D1CE4E5B9)  #: SplitMix64 finaliser, first multiplier
SPLITMIX_M2 = np.uint64(0x94D049BB133111EB)  #: SplitMix64 finaliser, second multiplier
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  #: 2**64 / golden ratio, odd


def splitmix64(x):
    """SplitMix64's finaliser, written once for both callers: a numba kernel compiles it for a
    ``uint64`` scalar, numpy runs it on ``uint64`` arrays (see :func:`mix64`).

    numba's cache only notices edits to the file of the cached kernel: after changing this
    function, delete ``corpusforge/dedup/__pycache__`` so the kernels are compiled again.
    """
    x = (x ^ (x >> np.uint64(30))) * SPLITMIX_M1
    x = (x ^ (x >> np.uint64(27))) * SPLITMIX_M2
    return x ^ (x >> np.uint64(31))


def mix64(x: np.ndarray | np.uint64) -> np.ndarray | np.uint64:
    """:func:`splitmix64` over a ``uint64`` array or scalar (wrapping, no overflow warnings)."""
    with np.errstate(over="ignore"):
        return splitmix64(np.asarray(x, dtype=np.uint64))


def golden_mix(h: np.ndarray) -> np.ndarray:
    """A cheap 64-bit finaliser (shift-xor, multiply by :data:`GOLDEN`, shift-xor), so that sums
    and products of small ids do not collide structurally. ``uint64`` arrays, wrapping."""
    h = h ^ (h >> np.uint64(31))
    h = h * GOLDEN
    return h ^ (h >> np.uint64(29))


def salt_of(name: str) -> np.uint64:
    """A 64-bit salt from a name (its BLAKE2b digest), the same in every process."""
    return np.uint64(int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little"))


def fnv1a(strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """64-bit FNV-1a of each string's UTF-8 bytes (nulls hash like ``""``), as ``uint64``."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks() if strings.num_chunks else pa.array([], pa.string())
    arr = pc.fill_null(strings.cast(pa.large_string()), "")
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    h = np.full(n, FNV_OFFSET, dtype=np.uint64)
    active = np.arange(n)
    j = 0
    with np.errstate(over="ignore"):
        while active.size:
            active = active[lengths[active] > j]  # strings still longer than j bytes
            if not active.size:
                break
            h[active] = (h[active] ^ data[starts[active] + j].astype(np.uint64)) * FNV_PRIME
            j += 1
    return h


def id_hash(ids: pa.Array | pa.ChunkedArray, salt: str = "") -> np.ndarray:
    """A uint64 per id; equal ids and salt give equal hashes everywhere. Nulls hash like ``""``."""
    return mix64(fnv1a(ids) ^ salt_of(salt))
