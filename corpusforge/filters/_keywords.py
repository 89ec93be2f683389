"""Multi-keyword counting over a whole batch, without a regex alternation.

An RE2 alternation of a thousand Japanese keywords outgrows RE2's DFA budget and falls
back to a slow matcher. Here the batch's code points are scanned once with numpy:

1. every position's first two code points index a Bloom-style table of the keywords'
   two-character prefixes, whose entry is a bit mask of the keyword lengths seen with that
   prefix; this leaves a few candidate positions, each with the lengths worth trying;
2. at the candidates only, windows of those lengths are hashed and looked up in the sorted
   hashes of the keywords of that length.

Hits follow leftmost-longest, non-overlapping semantics (as a regex ``findall`` with the
longest alternative first): at each position the longest keyword wins, and a match that
starts inside an earlier counted match is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.filters import _text_stats as ts
from corpusforge.hashing import GOLDEN, golden_mix

_BLOOM_BITS = 20


def _window_hash(cps: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = np.full(len(starts), np.uint64(length))
        for k in range(length):  # keyword length (a handful), not documents
            h = golden_mix(h * GOLDEN + cps[starts + k].astype(np.uint64))
    return h


def _bloom_index(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Table slot of a two-character prefix (uint32 arithmetic: cheap over every position)."""
    a, b = a.astype(np.uint32, copy=False), b.astype(np.uint32, copy=False)
    with np.errstate(over="ignore"):
        h = (a * np.uint32(0x9E3779B1)) ^ (b * np.uint32(0x85EBCA77))
        h ^= h >> np.uint32(15)
        h *= np.uint32(0x2C1B3C6D)
    return h >> np.uint32(32 - _BLOOM_BITS)


@dataclass
class Prepared:
    """A batch decoded for keyword scanning; shareable by several matchers."""

    cps: np.ndarray  # uint32 code points of the whole batch
    parent: np.ndarray  # document of each code point
    pair_slot: np.ndarray  # table slot of each position's two-character prefix


def prepare(text: pa.Array) -> Prepared:
    cps, parent = ts.codepoints(text)
    m = len(cps)
    slot = np.full(m, 1 << _BLOOM_BITS, dtype=np.uint32)  # the last slot is always empty
    if m > 1:
        slot[:-1] = _bloom_index(cps[:-1], cps[1:])
        slot[:-1][parent[:-1] != parent[1:]] = 1 << _BLOOM_BITS
    return Prepared(cps, parent, slot)


def _len_bit(length: int) -> np.uint32:
    """Bit of a keyword length in the prefix table (lengths >= 32 share the top bit)."""
    return np.uint32(1) << np.uint32(min(length, 32) - 1)


def _is_word_cp(cps: np.ndarray) -> np.ndarray:
    """ASCII letters, digits and underscore: what a whole-word match may not touch.

    Non-ASCII neighbours (Japanese around an English word) do not break a whole word.
    """
    c = cps
    return ((c >= 48) & (c <= 57)) | ((c >= 65) & (c <= 90)) | ((c >= 97) & (c <= 122)) | (c == 95)


class KeywordMatcher:
    """Count keyword hits and matched characters per document."""

    def __init__(self, words: list[str], whole_words: bool = False, ignore_case: bool = False) -> None:
        self.whole_words = whole_words
        self.ignore_case = ignore_case
        words = sorted({w.lower() if ignore_case else w for w in words if w})
        self.lengths: list[int] = sorted({len(w) for w in words}, reverse=True)
        self._by_len: dict[int, np.ndarray] = {}
        self._single: np.ndarray | None = None
        self._bloom = np.zeros((1 << _BLOOM_BITS) + 1, dtype=np.uint32)
        for length in self.lengths:
            group = [w for w in words if len(w) == length]
            cps = np.frombuffer("".join(group).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
            starts = np.arange(len(group), dtype=np.int64) * length
            self._by_len[length] = np.sort(_window_hash(cps, starts, length))
            if length == 1:
                self._single = np.zeros(0x110000, dtype=bool)
                self._single[cps.astype(np.int64)] = True
            else:
                np.bitwise_or.at(self._bloom, _bloom_index(cps[starts], cps[starts + 1]), _len_bit(length))

    def __bool__(self) -> bool:
        return bool(self.lengths)

    def scan(self, text: pa.Array, prepared: Prepared | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per document: number of hits, and characters inside hits.

        ``prepared`` may pass :func:`prepare` of the same text, to share the decoding between
        matchers (ignored with ``ignore_case``, which scans the lower-cased text).
        """
        n = len(text)
        hits = np.zeros(n, np.int64)
        chars = np.zeros(n, np.int64)
        if not self.lengths or n == 0:
            return hits, chars
        if self.ignore_case:
            text = pc.utf8_lower(text)
            prepared = None
        prep = prepared if prepared is not None else prepare(text)
        cps, parent = prep.cps, prep.parent
        m = len(cps)
        if m == 0:
            return hits, chars
        # candidate starts: two-character prefix in the table, or a one-character keyword
        lens_mask = self._bloom[prep.pair_slot]
        if self._single is not None:
            lens_mask[self._single[cps]] |= _len_bit(1)
        starts = np.flatnonzero(lens_mask)
        cand_mask = lens_mask[starts]
        # longest keyword per start
        best = np.zeros(len(starts), np.int64)
        for length in self.lengths:  # longest first
            todo = (best == 0) & (starts + length <= m) & ((cand_mask & _len_bit(length)) > 0)
            s = starts[todo]
            if len(s) == 0:
                continue
            ok = parent[s + length - 1] == parent[s]
            if self.whole_words:
                before = np.where(s > 0, s - 1, 0)
                left = (s == 0) | (parent[before] != parent[s]) | ~_is_word_cp(cps[before])
                after = np.minimum(s + length, m - 1)
                right = (s + length >= m) | (parent[after] != parent[s]) | ~_is_word_cp(cps[after])
                ok &= left & right
            h = _window_hash(cps, s, length)
            keys = self._by_len[length]
            pos = np.minimum(np.searchsorted(keys, h), len(keys) - 1)
            found = ok & (keys[pos] == h)
            idx = np.flatnonzero(todo)[found]
            best[idx] = length
        got = best > 0
        starts, lens = starts[got], best[got]
        if len(starts) == 0:
            return hits, chars
        # leftmost-longest, non-overlapping: a match counts unless it starts inside an earlier
        # *counted* match. That is the fixpoint of keep = f(keep); iterating from "all" gives
        # alternating under/over-estimates that meet at it within a few rounds (the depth of
        # nested overlaps), each O(#matches).
        ends = starts + lens
        keep = np.ones(len(starts), dtype=bool)
        prev_end = np.empty_like(ends)
        for _ in range(len(starts) + 1):
            prev_end[0] = -1
            np.maximum.accumulate(np.where(keep, ends, -1)[:-1], out=prev_end[1:])
            new = starts >= prev_end
            if np.array_equal(new, keep):
                break
            keep = new
        starts, lens = starts[keep], lens[keep]
        doc = parent[starts]
        hits = np.bincount(doc, minlength=n)[:n].astype(np.int64)
        chars = np.bincount(doc, weights=lens, minlength=n)[:n].astype(np.int64)
        return hits, chars
