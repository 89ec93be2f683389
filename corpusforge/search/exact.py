"""Exact search: a suffix array over a shard's ``text.bin`` (libdivsufsort, via pydivsufsort).

Every occurrence of a byte string is a prefix of one suffix of the text, and the suffixes that
start with it are one contiguous range of the sorted array: count is the range's length, found
by two searches; locate maps the range's positions back to documents. No tokenizer is involved,
so Japanese, English and code are searched alike.

The searches are k-ary: each step compares the query with 64 suffixes at once (one numpy
gather of their first bytes from the memory-mapped text) and narrows the range 64-fold, so a
count over a billion suffixes takes five steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from corpusforge.io.atomic import atomic_write
from corpusforge.io.layout import join
from corpusforge.search.layout import local_path
from corpusforge.search.store import Store

#: suffixes compared per step of a search
FANOUT = 64


def build_suffix_array(folder: str) -> dict:
    """Write ``sa.npy`` for the store in ``folder``; returns its size."""
    from pydivsufsort import divsufsort

    text = np.fromfile(local_path(join(folder, "text.bin")), dtype=np.uint8)
    sa = divsufsort(text) if len(text) else np.zeros(0, dtype=np.int64)
    # int32 halves the array where positions fit (shards under 2 GiB of text)
    sa = sa.astype(np.int32 if len(text) < 2**31 else np.int64, copy=False)
    with atomic_write(join(folder, "sa.npy")) as f:
        np.save(f, sa)
    return {"sa_bytes": int(sa.nbytes)}


def _compare(text: np.ndarray, starts: np.ndarray, query: np.ndarray) -> np.ndarray:
    """-1, 0 or 1 per suffix start: its first ``len(query)`` bytes against ``query``.

    Positions past the end are clipped to the last byte, which is a separator (0xFF): a
    comparison always ends at a separator or before, since a query holds none."""
    idx = np.minimum(starts[:, None] + np.arange(len(query)), len(text) - 1)
    window = text[idx]
    differ = window != query
    first = differ.argmax(axis=1)
    rows = np.arange(len(starts))
    sign = np.sign(window[rows, first].astype(np.int16) - query[first].astype(np.int16))
    return np.where(differ.any(axis=1), sign, 0)


@dataclass
class ExactIndex:
    """One shard's suffix array next to its store."""

    store: Store

    @cached_property
    def sa(self) -> np.ndarray:
        return np.load(local_path(join(self.store.folder, "sa.npy")), mmap_mode="r")

    def _first(self, query: np.ndarray, upper: bool, lo: int = 0, hi: int | None = None) -> int:
        """The first suffix (in ``[lo, hi)``) whose prefix is >= ``query`` (> for ``upper``)."""
        hi = len(self.sa) if hi is None else hi
        text = self.store.text
        # invariant: every suffix before lo fails the test, every one from hi on passes
        while hi - lo > 0:
            if hi - lo <= FANOUT:
                probe = np.arange(lo, hi)
            else:
                probe = np.unique(np.linspace(lo, hi - 1, FANOUT).astype(np.int64))
            cmp = _compare(text, np.asarray(self.sa[probe], dtype=np.int64), query)
            passes = cmp > 0 if upper else cmp >= 0
            j = int(passes.argmax()) if passes.any() else len(probe)
            if hi - lo <= FANOUT:
                return int(lo + j)
            new_hi = int(probe[j]) if j < len(probe) else hi
            lo = int(probe[j - 1]) + 1 if j > 0 else lo
            hi = new_hi
        return lo

    def range(self, query: bytes, within: tuple[int, int] | None = None) -> tuple[int, int]:
        """``[lo, hi)``: the suffixes that start with ``query``; ``within``: the range of a
        prefix of ``query``, which holds it (a narrower, faster search)."""
        if not query or not len(self.sa):
            return 0, 0
        lo, hi = within if within is not None else (0, len(self.sa))
        q = np.frombuffer(query, dtype=np.uint8)
        lo = self._first(q, upper=False, lo=lo, hi=hi)
        hi = self._first(q, upper=True, lo=lo, hi=hi)
        return lo, hi

    def count(self, query: bytes) -> int:
        lo, hi = self.range(query)
        return hi - lo

    def locate(self, query: bytes, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(documents, byte offsets in them)`` of the occurrences of ``query`` (the first
        ``limit`` of the suffix range when given), sorted by document and offset."""
        lo, hi = self.range(query)
        if limit is not None:
            hi = min(hi, lo + limit)
        positions = np.sort(np.asarray(self.sa[lo:hi], dtype=np.int64))
        docs = self.store.documents_of(positions)
        return docs, positions - self.store.starts[docs]
