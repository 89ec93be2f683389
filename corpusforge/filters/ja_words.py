"""Japanese words from a morphological analyser: Sudachi (``sudachipy`` + ``sudachidict-core``).

Word-based rules (Gopher repetition n-grams, FineWeb's newline-per-word ratio, stop words) mean
nothing on unsegmented Japanese: a whole sentence is one whitespace "word". FineWeb-2 segments
Japanese with SudachiPy (through spaCy's Japanese tokenizer, split mode A); this module gives the
filters the same words for a whole text column as :class:`~corpusforge.filters._text_stats.Pieces`.

The analyser is one call per document (per 40 kB chunk of a longer one): that is its API. Around
it everything is columnar: Sudachi returns only the end offset of each morpheme, and the words are
zero-copy slices of the batch's own UTF-8 buffer. One analyser is loaded per process and mode and
shared by every filter that asks for it; it remembers the words of the documents it segmented in
its last call, so the filters of one chain (repetition, then FineWeb, then stop words) segment a
document once, not three times.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import pyarrow as pa

from corpusforge.filters import _text_stats as ts

#: Sudachi refuses inputs over 49,149 bytes; longer documents are cut at line ends below this
MAX_CHUNK_BYTES = 40_000

SplitMode = Literal["A", "B", "C"]


class SudachiWords:
    """Words of a text column from Sudachi; ``SudachiWords("A").words(text)`` -> ``Pieces``."""

    def __init__(self, mode: SplitMode = "A") -> None:
        try:
            from sudachipy import Dictionary
        except ImportError as e:  # pragma: no cover - both are dependencies of the package
            raise ImportError("Japanese word segmentation needs sudachipy and sudachidict-core "
                              "(pip install sudachipy sudachidict-core)") from e
        dictionary = Dictionary(dict="core")
        # no morpheme fields are read (only offsets): loading none keeps the analyser lean
        self._tokenizer = dictionary.tokenizer(mode=mode, fields=set())
        # one morpheme list, refilled by every call (no allocation per document)
        self._morphemes = self._tokenizer.tokenize("")
        self.mode = mode
        #: morpheme end offsets (characters) of the documents of the last call, by text
        self._memo: dict[str, np.ndarray] = {}

    def _ends(self, text: str) -> np.ndarray:
        """End offset (in characters) of every morpheme of ``text``, whitespace included."""
        out: list[np.ndarray] = []
        for start, chunk in _chunks(text):
            morphemes = self._tokenizer.tokenize(chunk, out=self._morphemes)
            out.append(np.fromiter((m.end() for m in morphemes), np.int64, len(morphemes)) + start)
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def words(self, text: pa.Array) -> ts.Pieces:
        """The words of every document, in order (whitespace-only morphemes left out)."""
        n = len(text)
        memo: dict[str, np.ndarray] = {}
        ends: list[np.ndarray] = []
        for doc in text.to_pylist():
            doc = doc or ""
            found = memo.get(doc)
            if found is None:
                found = self._memo.get(doc)
                if found is None:
                    found = self._ends(doc)
                memo[doc] = found
            ends.append(found)
        self._memo = memo  # one call's documents: memory stays bounded by one batch
        counts = np.fromiter((len(e) for e in ends), np.int64, n)
        parent = np.repeat(np.arange(n, dtype=np.int64), counts)
        if not counts.sum():
            return ts.Pieces(pa.array([], pa.string()), parent, n)
        # morpheme ends in characters -> byte offsets into the batch's UTF-8 buffer
        large = pa.types.is_large_string(text.type)
        _, offsets_buf, data_buf = text.buffers()[:3]
        offsets = np.frombuffer(offsets_buf, np.int64 if large else np.int32)[text.offset:text.offset + n + 1]
        data = np.frombuffer(data_buf, np.uint8)[: int(offsets[-1])]
        char_at = np.flatnonzero((data & 0xC0) != 0x80)  # byte position of every character
        char_at = np.append(char_at, len(data))
        first_char = np.searchsorted(char_at, offsets[:-1])  # each document's first character
        doc_of_first = np.repeat(first_char, counts)
        char_ends = np.concatenate(ends) + doc_of_first
        # morphemes cover their document end to end: each starts where the one before it
        # ended, the first of a document where the document starts
        char_starts = np.empty_like(char_ends)
        char_starts[1:] = char_ends[:-1]
        firsts = np.cumsum(counts) - counts
        char_starts[firsts[counts > 0]] = first_char[counts > 0]
        values = _slices(data_buf, char_at[char_starts], char_at[char_ends], large)
        return ts.nonempty(ts.Pieces(values, parent, n))


def _slices(data: pa.Buffer, starts: np.ndarray, ends: np.ndarray, large: bool) -> pa.Array:
    """Strings ``data[starts[i]:ends[i]]``; contiguous runs are zero-copy views of ``data``."""
    if len(starts) and np.array_equal(starts[1:], ends[:-1]):
        offsets = np.append(starts[:1], ends).astype(np.int64 if large else np.int32)
        kind = pa.LargeStringArray if large else pa.StringArray
        return kind.from_buffers(len(starts), pa.py_buffer(offsets), data)
    # documents separated by bytes no morpheme covers (a sliced or reordered text column):
    # gather the pieces (one numpy copy, still no per-piece Python)
    lens = ends - starts
    raw = np.frombuffer(data, np.uint8)
    idx = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(lens.sum())
    offsets = np.zeros(len(lens) + 1, np.int64 if large else np.int32)
    np.cumsum(lens, out=offsets[1:])
    kind = pa.LargeStringArray if large else pa.StringArray
    return kind.from_buffers(len(lens), pa.py_buffer(offsets), pa.py_buffer(raw[idx].tobytes()))


def _chunks(text: str) -> list[tuple[int, str]]:
    """``(character offset, piece)`` of ``text`` in pieces Sudachi accepts, cut at line ends."""
    if len(text) * 4 <= MAX_CHUNK_BYTES or len(text.encode("utf-8")) <= MAX_CHUNK_BYTES:
        return [(0, text)] if text else []
    out: list[tuple[int, str]] = []
    start, size, pos = 0, 0, 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8"))
        if size and size + n > MAX_CHUNK_BYTES:
            out.append((start, text[start:pos]))
            start, size = pos, 0
        if n > MAX_CHUNK_BYTES:  # one huge line: cut it where 4-byte characters would still fit
            step = MAX_CHUNK_BYTES // 4
            for i in range(0, len(line), step):
                out.append((pos + i, line[i:i + step]))
            pos += len(line)
            start = pos
            continue
        size += n
        pos += len(line)
    if pos > start:
        out.append((start, text[start:pos]))
    return out


@functools.lru_cache(maxsize=3)
def sudachi_words(mode: SplitMode = "A") -> SudachiWords:
    """The process's analyser for ``mode`` (the dictionary is loaded once, on first use)."""
    return SudachiWords(mode)
