"""Vectorized text kernels shared by the filters.

Everything here works on a whole text column at once: regex counts through
``pyarrow.compute`` (RE2), line/word splitting through list arrays and their parent
indices, and duplicate / n-gram statistics through 64-bit hashes sorted with numpy.
No function loops over documents in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import GOLDEN, golden_mix
from corpusforge.schema import TEXT

#: character classes used by the Japanese filters (RE2 syntax)
HIRAGANA = r"\p{Hiragana}"
KATAKANA = r"[\p{Katakana}ー]"
KANJI = r"\p{Han}"
JAPANESE = r"[\p{Hiragana}\p{Katakana}\p{Han}ー]"

_DOC_MIX = np.uint64(0xC2B2AE3D27D4EB4F)  # spreads the document index of n-gram and line keys


def text_array(batch: pa.Table | pa.Array | pa.ChunkedArray, column: str = TEXT) -> pa.Array:
    """A string column as one contiguous ``string``/``large_string`` array (nulls -> "")."""
    col = batch.column(column) if isinstance(batch, pa.Table) else batch
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = col.cast(pa.string())  # e.g. an all-null column read as type null
    if col.null_count:
        col = pc.fill_null(col, "")
    return col


def np_int(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An integer Arrow array as int64 numpy (nulls -> 0)."""
    if arr.null_count:
        arr = pc.fill_null(arr, 0)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)


def count(text: pa.Array, pattern: str) -> np.ndarray:
    """Non-overlapping matches of an RE2 pattern per document."""
    return np_int(pc.count_substring_regex(text, pattern=pattern))


def n_chars(text: pa.Array) -> np.ndarray:
    return np_int(pc.utf8_length(text))


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass
class Pieces:
    """Documents split into pieces (lines, words, sentences): a flat array plus owners."""

    values: pa.Array
    #: index of the document each piece belongs to
    parent: np.ndarray
    #: number of documents
    n: int

    def per_doc(self, values: np.ndarray | None = None) -> np.ndarray:
        """Sum a per-piece value (default 1) per document."""
        w = None if values is None else np.asarray(values, dtype=np.float64)
        return np.bincount(self.parent, weights=w, minlength=self.n)[: self.n]

    def count_per_doc(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.parent[np.asarray(mask, dtype=bool)], minlength=self.n)[: self.n]

    def lengths(self) -> np.ndarray:
        return n_chars(self.values)

    def select(self, mask: np.ndarray) -> Pieces:
        mask = np.asarray(mask, dtype=bool)
        return Pieces(self.values.filter(pa.array(mask)), self.parent[mask], self.n)

    def join(self, sep: str) -> pa.Array:
        """Re-assemble one string per document from the pieces (in order)."""
        counts = np.bincount(self.parent, minlength=self.n)[: self.n]
        offsets = np.zeros(self.n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        values = self.values
        if values.type == pa.null():
            values = values.cast(pa.string())
        lists = pa.ListArray.from_arrays(pa.array(offsets), values)
        return pc.binary_join(lists, pa.scalar(sep, values.type))


def _split(lists: pa.Array, n: int) -> Pieces:
    flat = pc.list_flatten(lists)
    parent = np_int(pc.list_parent_indices(lists)) if len(flat) else np.zeros(0, np.int64)
    return Pieces(flat, parent, n)


def split(text: pa.Array, pattern: str = "\n") -> Pieces:
    """Split on a literal separator (``str.split`` semantics: empty pieces kept)."""
    return _split(pc.split_pattern(text, pattern=pattern), len(text))


def split_regex(text: pa.Array, pattern: str) -> Pieces:
    return _split(pc.split_pattern_regex(text, pattern=pattern), len(text))


def words(text: pa.Array) -> Pieces:
    """Whitespace-separated words (``str.split()`` semantics: no empty words)."""
    p = _split(pc.utf8_split_whitespace(text), len(text))
    # Arrow keeps an empty piece for leading/trailing whitespace; str.split() does not
    return p.select(n_chars(p.values) > 0)


def nonempty(pieces: Pieces) -> Pieces:
    """Drop pieces that are empty or only whitespace."""
    return pieces.select(np_int(pc.utf8_length(pc.utf8_trim_whitespace(pieces.values))) > 0)


# --- hashing -------------------------------------------------------------------------


def string_ids(values: pa.Array) -> np.ndarray:
    """Batch-wide integer id per distinct string (equal strings, equal ids)."""
    if len(values) == 0:
        return np.zeros(0, np.uint64)
    enc = pc.dictionary_encode(values)
    return np_int(enc.indices).astype(np.uint64)


def ngram_hashes_multi(
    ids: np.ndarray, parent: np.ndarray, sizes: list[int]
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Hashes of every window of ``n`` consecutive elements inside one document, per size.

    Yields ``(n, starts, hashes)`` in increasing ``n``: the index of each window's first
    element and a hash that also encodes the document, so equal windows in different
    documents differ. The hash of the n-windows extends that of the (n-1)-windows: one pass
    per extra element. One size at a time, so a caller that is done with a size before
    asking for the next holds one size's arrays, not all of them (16 bytes per element
    and size: the peak memory of the repetition filters).
    """
    m = len(ids)
    wanted = sorted(set(sizes))
    if not wanted:
        return
    done = 0
    with np.errstate(over="ignore"):
        h = golden_mix(parent.astype(np.uint64) * _DOC_MIX + np.uint64(1))
        for n in range(1, min(wanted[-1], m) + 1):  # a loop over window sizes (<= 10)
            h = golden_mix(h[: m - n + 1] * GOLDEN + ids[n - 1 :] + np.uint64(n))
            if n in wanted:
                starts = np.flatnonzero(parent[: m - n + 1] == parent[n - 1 :])
                yield n, starts, h[starts]
                done = n
    del h
    for n in wanted:
        if n > done:  # longer than all the elements of the batch: no window
            yield n, np.zeros(0, np.int64), np.zeros(0, np.uint64)


def ngram_hashes(ids: np.ndarray, parent: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the n-element windows inside each document (see :func:`ngram_hashes_multi`)."""
    _, starts, h = next(ngram_hashes_multi(ids, parent, [n]))
    return starts, h


@dataclass
class Groups:
    """Equal-key groups over hashed elements (keys already encode the document).

    Only sorted-space arrays are kept; each accessor derives what a caller needs.
    """

    order: np.ndarray  # element indices sorted by key (first occurrence first within a key)
    boundary: np.ndarray  # bool, sorted space: first element of its group

    @property
    def first(self) -> np.ndarray:
        """Bool per element (original order): first occurrence of its key."""
        out = np.zeros(len(self.order), dtype=bool)
        out[self.order[self.boundary]] = True
        return out

    def repeats(self) -> np.ndarray:
        """Indices of the elements that repeat an earlier element's key."""
        return self.order[~self.boundary]

    def representatives(self) -> tuple[np.ndarray, np.ndarray]:
        """(first element of each group, group size)."""
        b = np.flatnonzero(self.boundary)
        size = np.diff(np.append(b, len(self.order)))
        return self.order[b], size

    def sizes(self) -> np.ndarray:
        """Size of its group for every element (original order)."""
        b = np.flatnonzero(self.boundary)
        size = np.diff(np.append(b, len(self.order)))
        out = np.empty(len(self.order), np.int64)
        out[self.order] = np.repeat(size, size)
        return out


def group(keys: np.ndarray) -> Groups:
    """Group equal keys; within a group, elements keep their original order.

    The element's position is packed into the low bits of its key so that one plain
    ``np.sort`` of uint64 (much faster than a stable argsort) gives both the grouping and
    the order. The hash keeps ``64 - log2(len)`` bits (>= 39 for 32M elements): a false
    match between two different keys is a ~len^2 / 2^65 event per batch.
    """
    m = len(keys)
    if m == 0:
        return Groups(np.zeros(0, np.int64), np.zeros(0, bool))
    bits = np.uint64(max(1, int(m).bit_length()))
    low = (np.uint64(1) << bits) - np.uint64(1)
    # in place where numpy allows: these arrays are the filters' largest (8 bytes per word)
    packed = keys & ~low
    packed |= np.arange(m, dtype=np.uint64)
    packed.sort()
    order = (packed & low).view(np.int64)  # positions < 2**bits: the same value as int64
    hk = packed
    hk >>= bits
    boundary = np.empty(m, dtype=bool)
    boundary[0] = True
    np.not_equal(hk[1:], hk[:-1], out=boundary[1:])
    return Groups(order, boundary)


def duplicate_stats(pieces: Pieces, lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per document: number of repeated pieces and their characters (first occurrence excluded)."""
    if len(pieces.values) == 0:
        z = np.zeros(pieces.n)
        return z, z
    ids = string_ids(pieces.values)
    with np.errstate(over="ignore"):
        keys = golden_mix(ids * GOLDEN + pieces.parent.astype(np.uint64) * _DOC_MIX)
    rep = group(keys).repeats()
    lens = pieces.lengths() if lengths is None else lengths
    doc = pieces.parent[rep]
    n = pieces.n
    return (np.bincount(doc, minlength=n)[:n].astype(np.float64),
            np.bincount(doc, weights=lens[rep], minlength=n)[:n])


def top_ngram_chars(
    starts: np.ndarray, hashes: np.ndarray, parent: np.ndarray, gram_chars: np.ndarray, n_docs: int
) -> np.ndarray:
    """Per document: characters covered by its most frequent n-gram (count x length).

    Ties between equally frequent n-grams are broken by the longer one. An n-gram that
    occurs once is not repetition, so a document without any repeated n-gram scores 0.
    """
    out = np.zeros(n_docs)
    if len(hashes) == 0:
        return out
    rep, c = group(hashes).representatives()
    multi = c >= 2
    rep, c = rep[multi], c[multi]
    if len(rep) == 0:
        return out
    d, chars = parent[starts[rep]], gram_chars[rep]
    # best count per document, then the longest n-gram among those with that count
    best = np.zeros(n_docs, np.int64)
    np.maximum.at(best, d, c)
    on_best = c == best[d]
    np.maximum.at(out, d[on_best], (c * chars)[on_best].astype(np.float64))
    return out


def dup_ngram_covered(
    starts: np.ndarray, hashes: np.ndarray, n_elems: int, n: int
) -> np.ndarray:
    """Bool per element: covered by a repeated (not first) occurrence of some n-gram.

    Overlapping duplicate windows count each element once, as Gopher describes.
    """
    covered = np.zeros(n_elems, dtype=bool)
    if len(hashes) == 0:
        return covered
    dup_starts = starts[group(hashes).repeats()]
    for k in range(n):  # window offsets (n <= 10), over the repeated windows only
        covered[dup_starts + k] = True
    return covered


# --- characters ------------------------------------------------------------------------


def codepoints(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """All characters of the batch as uint32 code points, plus the owning document of each.

    The UTF-8 data buffer is decoded once for the whole batch (one call, not one per doc).
    """
    n = len(text)
    lens = n_chars(text)
    if n == 0 or lens.sum() == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.int64)
    off_type = np.int32 if pa.types.is_string(text.type) else np.int64
    _, offsets_buf, data_buf = text.buffers()[:3]
    offsets = np.frombuffer(offsets_buf, dtype=off_type)[text.offset : text.offset + n + 1]
    raw = memoryview(data_buf)[int(offsets[0]) : int(offsets[-1])]
    cps = np.frombuffer(bytes(raw).decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
    parent = np.repeat(np.arange(n, dtype=np.int64), lens)
    return cps, parent


#: line breaks as ``str.splitlines`` knows them
LINE_BREAKS = r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x{85}\x{2028}\x{2029}]"


def lines(text: pa.Array) -> Pieces:
    """Lines with ``str.splitlines`` semantics (no empty piece after a final newline)."""
    p = split_regex(text, LINE_BREAKS)
    if len(p.values) == 0:
        return p
    counts = np.bincount(p.parent, minlength=p.n)[: p.n]
    last = np.cumsum(counts) - 1
    last = last[counts > 0]
    empty_last = n_chars(p.values.take(pa.array(last))) == 0
    drop = np.zeros(len(p.values), dtype=bool)
    drop[last[empty_last]] = True
    return p.select(~drop)


#: one token per run of a script (kanji, hiragana, katakana, Latin/digits) or per other char
SCRIPT_RUN = r"(\p{Han}+|\p{Hiragana}+|[\p{Katakana}ー]+|[\p{Latin}0-9]+|\s+|.)"
_CUT = "\ufdd0"  # a noncharacter: never in text, used as a split marker


def script_tokens(text: pa.Array) -> Pieces:
    """Word-like tokens for unsegmented text: runs of one script (濃淡 / の / モザイク).

    A cheap, dictionary-free stand-in for a morphological analyser: repetition measured on
    these tokens behaves like word n-grams, where raw character n-grams over-count.
    """
    marked = pc.replace_substring_regex(text, pattern=SCRIPT_RUN, replacement=r"\1" + _CUT)
    p = split(marked, _CUT)
    return p.select(np_int(pc.utf8_length(pc.utf8_trim_whitespace(p.values))) > 0)
