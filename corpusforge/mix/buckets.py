"""Mix buckets: every document falls in one of ``2**BITS`` buckets, the top bits of a salted
hash of its id (:func:`corpusforge.hashing.id_hash`), and plans cut subsets in bucket space."""

from __future__ import annotations

import numpy as np

BITS = 20  #: bucket resolution of the mixing histograms: 2**20 buckets per subset
NB_DEFAULT = 1 << BITS  #: "no bucket": a cut at this value selects nothing


def buckets(h: np.ndarray, bits: int = BITS) -> np.ndarray:
    """The top ``bits`` bits of a hash: its bucket in ``[0, 2**bits)``."""
    return (h >> np.uint64(64 - bits)).astype(np.int64)
