"""LSH banding: choosing bands x rows for a threshold, and one key per (document, band).

Two documents become candidates when all ``rows`` registers of at least one of the
``bands`` bands agree: for Jaccard similarity ``s`` that happens with probability
``1 - (1 - s**rows)**bands``. The parameters minimise the (equally weighted) area of
false positives below the threshold plus false negatives above it, over every
``bands * rows <= num_perm`` — the same criterion datasketch's ``MinHashLSH`` uses, so
the two pick the same parameters for the same threshold.
"""

from __future__ import annotations

import numpy as np

from corpusforge.dedup import kernels


def candidate_probability(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return 1.0 - (1.0 - np.asarray(s, np.float64) ** rows) ** bands


def _area(f, lo: float, hi: float, points: int = 1001) -> float:
    x = np.linspace(lo, hi, points)
    return float(np.trapezoid(f(x), x)) if hi > lo else 0.0


def optimal_params(threshold: float, num_perm: int, fp_weight: float = 0.5,
                   fn_weight: float = 0.5) -> tuple[int, int]:
    """``(bands, rows)`` minimising weighted false-positive and false-negative areas."""
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be in (0, 1)")
    best, best_err = (1, 1), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = _area(lambda s, b=b, r=r: candidate_probability(s, b, r), 0.0, threshold)
            fn = _area(lambda s, b=b, r=r: 1.0 - candidate_probability(s, b, r), threshold, 1.0)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err:
                best, best_err = (b, r), err
    return best


def band_keys(sig: np.ndarray, bands: int, rows: int, seed: int = 0) -> np.ndarray:
    """``(n, bands)`` uint64: a hash of each band's ``rows`` registers (band index included)."""
    sig = np.ascontiguousarray(sig, dtype=np.uint32)
    if bands * rows > sig.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows needs {bands * rows} registers, "
                         f"signatures have {sig.shape[1]}")
    out = np.empty((sig.shape[0], bands), np.uint64)
    kernels.band_hashes(sig, bands, rows, np.uint64(seed), out)
    return out
