"""FineWeb quality rules (Penedo et al. 2024): line punctuation, short lines, duplicates, lists."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.filters import _text_stats as ts
from corpusforge.filters.ja_words import sudachi_words
from corpusforge.models import Fraction, NonNegativeFloat, NonNegativeInt
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register

#: sentence-terminal punctuation of the common scripts (Latin, CJK, Devanagari, Arabic, ...)
TERMINAL = "!.?։؟۔।॥။።‼‽⁇⁈⁉。！．？｡﹒﹖﹗"
#: a token for the words-per-newline ratio: a run of word characters or of punctuation
TOKEN = r"[\p{L}\p{N}_]+|[^\p{L}\p{N}_\s]+"


class FineWebConfig(FilterConfig):
    #: at least this fraction of (non-blank) lines end in terminal punctuation
    line_punct_thr: Fraction = 0.12
    #: ...unless no line does and this is set (for languages without punctuation habits)
    line_punct_exclude_zero: bool = False
    terminal_punct: str = TERMINAL
    short_line_length: NonNegativeInt = 30
    short_line_thr: Fraction = 0.67
    char_duplicates_ratio: Fraction = 0.01
    #: newlines per word (a list of one-word lines has about 1)
    new_line_ratio: NonNegativeFloat = 0.3
    #: the words of the newline/word ratio: runs of word characters or of punctuation, or
    #: Sudachi's words (unsegmented Japanese, as FineWeb-2)
    tokens: Literal["default", "sudachi"] = "default"


@register
class FineWebQuality(Filter[FineWebConfig]):
    """FineWeb: terminal punctuation, short lines, duplicate-line characters, newline/word ratio."""

    name = "fineweb"
    adds = ("n_lines", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "newline_word_ratio")

    def setup(self) -> None:
        self.sudachi = sudachi_words() if self.config.tokens == "sudachi" else None

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        text = ts.text_array(batch)
        ln = ts.nonempty(ts.split(text, "\n"))
        n_lines = ln.per_doc()
        last = pc.utf8_slice_codeunits(ln.values, -1)
        punct = np.asarray(pc.is_in(last, pa.array(list(cfg.terminal_punct))).to_numpy(zero_copy_only=False), bool)
        short = ts.n_chars(ln.values) <= cfg.short_line_length
        _, dup_chars = ts.duplicate_stats(ln)
        chars_no_nl = ts.n_chars(text) - ts.count(text, "\n")
        newlines = ts.count(text, "\n")
        tokens = ts.count(text, TOKEN) if self.sudachi is None else self.sudachi.words(text).per_doc()
        return {
            "n_lines": n_lines.astype(np.int64),
            "line_punct_ratio": ts.safe_div(ln.count_per_doc(punct), n_lines),
            "short_line_ratio": ts.safe_div(ln.count_per_doc(short), n_lines),
            "char_dup_ratio": ts.safe_div(dup_chars, chars_no_nl),
            "newline_word_ratio": ts.safe_div(newlines, tokens),
        }

    def decide(self, batch, s):
        cfg = self.config
        punct = s["line_punct_ratio"]
        low_punct = punct < cfg.line_punct_thr
        if cfg.line_punct_exclude_zero:
            low_punct &= punct > 0
        rules = [
            ("empty", s["n_lines"] == 0),
            ("line_punct_ratio", low_punct),
            ("short_line_ratio", s["short_line_ratio"] > cfg.short_line_thr),
            ("char_dup_ratio", s["char_dup_ratio"] > cfg.char_duplicates_ratio),
            ("list_ratio", s["newline_word_ratio"] > cfg.new_line_ratio),
        ]
        return self.first_failure(rules, batch.num_rows)
