"""MinHash signatures for a whole Arrow batch at once.

>>> hasher = MinHasher(num_perm=128)
>>> sig = hasher.signatures(pa.array(["吾輩は猫である。名前はまだ無い。"]), "char5")
>>> sig.shape
(1, 128)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.dedup import kernels
from corpusforge.dedup.buffers import utf8_buffers
from corpusforge.dedup.normalize import normalize_for_hash
from corpusforge.hashing import mix64

_SPEC = re.compile(r"^(char|word)(\d+)$")
#: registers of a document with no shingle at all (empty after normalisation)
EMPTY = np.uint32(0xFFFFFFFF)


@dataclass(frozen=True)
class ShingleSpec:
    """``char5``: code-point 5-grams; ``word5``: 5-grams of whitespace-separated words."""

    mode: str
    n: int

    @classmethod
    def parse(cls, spec: str | ShingleSpec) -> ShingleSpec:
        if isinstance(spec, ShingleSpec):
            return spec
        m = _SPEC.match(spec.strip().lower())
        if not m or not 1 <= int(m.group(2)) <= 64:
            raise ValueError(f"shingles are `char<n>` or `word<n>` with n in 1..64 (e.g. char5), got {spec!r}")
        return cls(m.group(1), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.mode}{self.n}"


class MinHasher:
    """One-permutation MinHash with densification (see ``kernels``), ``num_perm`` registers."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        if num_perm < 1 or num_perm > 2**16:
            raise ValueError("num_perm must be in 1..65536")
        self.num_perm = num_perm
        self.seed = np.uint64(mix64(np.uint64(seed)) if seed else 0)

    def signatures(self, texts: pa.Array | pa.ChunkedArray, spec: str | ShingleSpec,
                   normalized: bool = False) -> np.ndarray:
        """``(len(texts), num_perm)`` uint32 signatures; normalises first unless told not to."""
        sig, _ = self.signatures_and_counts(texts, spec, normalized)
        return sig

    def signatures_and_counts(self, texts: pa.Array | pa.ChunkedArray, spec: str | ShingleSpec,
                              normalized: bool = False, rows: np.ndarray | None = None,
                              out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Signatures plus the number of shingles per document (0: no signature).

        With ``rows``, only those documents are signed (into ``out``, which the caller
        may share between calls with different specs).
        """
        s = ShingleSpec.parse(spec)
        if not normalized:
            texts = normalize_for_hash(texts, s.mode)  # type: ignore[arg-type]
        data, starts, ends = utf8_buffers(texts)
        n = len(starts)
        if out is None:
            out = np.empty((n, self.num_perm), np.uint32)
        counts = np.zeros(n, np.int32)
        rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        kernels.signatures(data, starts, ends, rows, s.n, self.num_perm, self.seed, out, counts,
                           s.mode != "char")
        return out, counts

    def from_hashes(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures from precomputed uint64 shingle hashes grouped by ``offsets``."""
        out = np.empty((len(offsets) - 1, self.num_perm), np.uint32)
        kernels.hashes_signatures(np.asarray(hashes, np.uint64), np.asarray(offsets, np.int64),
                                  self.num_perm, self.seed, out)
        return out


def text_hashes(texts: pa.Array | pa.ChunkedArray, seed: int = 0) -> np.ndarray:
    """A uint64 hash per string (no normalisation: pass normalised text for exact dedup)."""
    data, starts, ends = utf8_buffers(texts)
    out = np.empty(len(starts), np.uint64)
    kernels.text_hashes(data, starts, ends, np.uint64(seed), out)
    return out


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise fraction of equal registers of two signature arrays."""
    return np.mean(np.asarray(a) == np.asarray(b), axis=-1)


def japanese_fraction(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Share of Hiragana, Katakana and Han characters per document (for ``auto`` shingling)."""
    ja = pc.count_substring_regex(pc.fill_null(texts, ""), r"[\p{Hiragana}\p{Katakana}\p{Han}]")
    total = pc.utf8_length(pc.fill_null(texts, ""))
    ja_np = np.asarray(ja.to_numpy(zero_copy_only=False), dtype=np.float64)
    tot = np.asarray(total.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.divide(ja_np, tot, out=np.zeros_like(ja_np), where=tot > 0)
