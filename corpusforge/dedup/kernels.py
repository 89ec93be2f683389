"""Compiled kernels: shingle hashing and one-permutation MinHash over a whole batch.

A batch's text is one UTF-8 buffer plus row bounds (see ``buffers``). The kernels walk
it once per document: each shingle (``n`` consecutive code points, or ``n`` consecutive
words) is hashed to 64 bits into a scratch array reused for every document, and the
signature is built from those hashes. Nothing runs in Python per document or per
shingle, and no shingle string is ever made.

Signatures use one-permutation hashing (one hash per shingle: its top bits pick one of
``k`` bins, its low bits compete for the bin's minimum). A document with too few
shingles to reach every bin gets more rounds (every shingle hashed again into a fresh
bin, with values that lose to earlier rounds'), and what is still empty after them is
filled by *optimal densification*: an empty bin takes the value of the first non-empty
bin in a pseudo-random probe sequence that depends only on the bin and the attempt, so
two documents fill their empty bins from the same places and stay comparable. The
fraction of equal registers estimates Jaccard similarity like ``k`` independent
permutations do, at the cost of one hash per shingle (more only for short documents)
instead of ``k``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from corpusforge.hashing import FNV_PRIME, GOLDEN, SPLITMIX_M1, splitmix64

_EMPTY = np.uint32(0xFFFFFFFF)

#: the project's 64-bit finaliser, compiled here so that every kernel inlines it
mix64 = njit(inline="always")(splitmix64)


@njit(inline="always")
def _utf8_cp(data, i, end):
    """(code point, length) of the UTF-8 sequence at ``data[i]`` (invalid bytes count as one)."""
    b0 = np.uint32(data[i])
    if b0 < 0x80:
        return b0, 1
    if b0 >= 0xF0 and i + 3 < end:
        return ((b0 & 0x07) << 18) | ((np.uint32(data[i + 1]) & 0x3F) << 12) | (
            (np.uint32(data[i + 2]) & 0x3F) << 6) | (np.uint32(data[i + 3]) & 0x3F), 4
    if b0 >= 0xE0 and i + 2 < end:
        return ((b0 & 0x0F) << 12) | ((np.uint32(data[i + 1]) & 0x3F) << 6) | (
            np.uint32(data[i + 2]) & 0x3F), 3
    if b0 >= 0xC0 and i + 1 < end:
        return ((b0 & 0x1F) << 6) | (np.uint32(data[i + 1]) & 0x3F), 2
    return b0, 1


#: rounds of one-permutation hashing before densification (see ``_fill``)
ROUNDS = 3
_LOW30 = np.uint64(0x3FFFFFFF)


@njit(inline="always")
def _add(reg, x, k, rnd):
    # top 32 bits pick the bin (multiply-shift range reduction); the value is the round in
    # the top 2 bits and 30 hash bits, so any value of an earlier round beats a later one
    b = (x >> np.uint64(32)) * np.uint64(k) >> np.uint64(32)
    v = np.uint32((np.uint64(rnd) << np.uint64(30)) | (x & _LOW30))
    # branch-free: about half the updates of a short document win, unpredictably
    reg[b] = min(reg[b], v)


@njit(cache=True, nogil=True)
def _fill(reg, hashes, m, k, seed):
    """Signature registers from the ``m`` shingle hashes in ``hashes``.

    Round 1 is one-permutation hashing. A short document leaves bins empty; rather than
    filling them all by densification (copies of other registers, which makes the
    registers of a band move together), further rounds hash every shingle again into a
    fresh bin, with values that lose to any earlier round's: a bin keeps the first
    round that reached it, so two documents still agree on a register with probability
    equal to their Jaccard similarity. Bins still empty after ``ROUNDS`` rounds (documents
    of a handful of shingles) are densified.
    """
    reg[:] = _EMPTY
    if m == 0:
        return
    for t in range(m):
        _add(reg, hashes[t], k, 0)
    for rnd in range(1, ROUNDS):
        empty = 0
        for b in range(k):
            empty += reg[b] == _EMPTY
        if empty == 0:
            return
        salt = np.uint64(rnd) * GOLDEN
        for t in range(m):
            _add(reg, mix64(hashes[t] ^ salt), k, rnd)
    _densify(reg, k, seed)


@njit(cache=True, nogil=True)
def _densify(reg, k, seed):
    """Fill empty bins from non-empty ones along a fixed probe sequence per bin."""
    filled = 0
    for b in range(k):
        if reg[b] != _EMPTY:
            filled += 1
    if filled == 0 or filled == k:
        return
    orig = reg.copy()
    for b in range(k):
        if orig[b] != _EMPTY:
            continue
        attempt = np.uint64(0)
        while True:
            attempt += np.uint64(1)
            h = mix64(seed ^ (np.uint64(b) * GOLDEN) ^ (attempt * SPLITMIX_M1))
            c = (h >> np.uint64(32)) * np.uint64(k) >> np.uint64(32)
            if orig[c] != _EMPTY:
                reg[b] = orig[c]
                break


# Two passes per document. The byte loop has no data-dependent branch (a mispredicted
# branch per word costs more than the hashing): flags become 0/1 integers and masks.
#   1. bytes -> units: a code point's raw UTF-8 bytes packed in an integer (``char``),
#      or a rotate-xor hash of a word's bytes (``word``);
#   2. units -> shingles: a rolling polynomial over the mixed units
#      (H_i = H_{i-1} * P + u_i - u_{i-n} * P^n, mod 2^64) finished by mix64, so a
#      shingle costs O(1) whatever n is, and goes straight into the signature.
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@njit(inline="always")
def _char_units(data, start, end, units):
    nu = _ZERO
    cur = _ZERO
    for i in range(start, end):
        b = np.uint64(data[i])
        lead = np.uint64((b & np.uint64(0xC0)) != np.uint64(0x80))
        units[nu] = cur  # the previous code point is complete when a lead byte starts one
        nu += lead
        cur = ((cur << np.uint64(8)) & (lead - _ONE)) | b
    units[nu] = cur
    # units[0] is the empty unit before the first lead byte
    return np.int64(nu)


@njit(inline="always")
def _word_units(data, start, end, units):
    nu = _ZERO
    h = _ZERO
    in_word = _ZERO
    for i in range(start, end):
        b = np.uint64(data[i])
        letter = np.uint64(b > np.uint64(0x20))
        units[nu] = h  # a word is complete at the first separator after it
        nu += in_word & (letter ^ _ONE)
        # rotate-xor: a 3-cycle dependency chain instead of a multiply's 5; ASCII bytes
        # carry 7 bits, so words of up to 9 ASCII letters hash without any collision
        h = (((h << np.uint64(7)) | (h >> np.uint64(57))) ^ b) & (_ZERO - letter)
        in_word = letter
    units[nu] = h
    nu += in_word
    return np.int64(nu)


@njit(inline="always")
def _sign_units(units, nu, n, pn, k, seed, reg, hashes):
    """Fold the n-grams of ``units[:nu]`` into ``reg``; returns the number of shingles."""
    h = np.uint64(0)
    m = 0
    for j in range(nu):
        h = h * FNV_PRIME + units[j]
        if j >= n:
            h -= units[j - n] * pn
        if j >= n - 1:
            hashes[m] = mix64(h ^ seed)
            m += 1
    if 0 < nu < n:
        # a document shorter than n is one shingle of all its units
        hashes[0] = mix64(h ^ seed)
        m = 1
    _fill(reg, hashes, m, k, seed)
    return m


@njit(cache=True, nogil=True)
def signatures(data, starts, ends, rows, n, k, seed, out, counts, words):
    """Signatures of the documents ``rows`` (into ``out[rows]``) from ``n``-grams of code points,
    or of words (runs of bytes > 0x20) when ``words`` is true."""
    longest = 0
    for r in rows:
        longest = max(longest, ends[r] - starts[r])
    units = np.empty(longest + 2, np.uint64)
    hashes = np.empty(longest + 2, np.uint64)
    pn = np.uint64(1)
    for _ in range(n):
        pn *= FNV_PRIME
    for r in rows:
        if words:
            nu = _word_units(data, starts[r], ends[r], units)
            counts[r] = _sign_units(units, nu, n, pn, k, seed, out[r], hashes)
        else:
            nu = _char_units(data, starts[r], ends[r], units)
            counts[r] = _sign_units(units[1:], nu, n, pn, k, seed, out[r], hashes)


@njit(cache=True, nogil=True)
def hashes_signatures(hashes, offsets, k, seed, out):
    """Signatures from precomputed 64-bit shingle hashes (document ``d`` owns
    ``hashes[offsets[d]:offsets[d+1]]``), for callers that shingle themselves."""
    longest = 0
    for d in range(len(offsets) - 1):
        longest = max(longest, offsets[d + 1] - offsets[d])
    mixed = np.empty(longest + 1, np.uint64)
    for d in range(len(offsets) - 1):
        m = offsets[d + 1] - offsets[d]
        for j in range(m):
            mixed[j] = mix64(hashes[offsets[d] + j] ^ seed)
        _fill(out[d], mixed, m, k, seed)


@njit(cache=True, nogil=True)
def text_hashes(data, starts, ends, seed, out):
    """A 64-bit hash of each row's bytes (exact dedup keys)."""
    for r in range(len(starts)):
        h = seed ^ np.uint64(ends[r] - starts[r])
        i, end = starts[r], ends[r]
        while i + 8 <= end:
            w = np.uint64(0)
            for j in range(8):
                w |= np.uint64(data[i + j]) << np.uint64(8 * j)
            h = mix64(h ^ w) * GOLDEN
            i += 8
        w = np.uint64(0)
        sh = 0
        while i < end:
            w |= np.uint64(data[i]) << np.uint64(sh)
            sh += 8
            i += 1
        out[r] = mix64(h ^ w ^ np.uint64(0xA5))


@njit(cache=True, nogil=True)
def band_hashes(sig, bands, rows, seed, out):
    """One 64-bit key per (document, band) from the band's ``rows`` registers."""
    n = sig.shape[0]
    for d in range(n):
        for b in range(bands):
            h = seed ^ (np.uint64(b + 1) * GOLDEN)
            for j in range(b * rows, (b + 1) * rows):
                h = mix64(h ^ np.uint64(sig[d, j]))
            out[d, b] = h
