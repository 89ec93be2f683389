"""Gopher quality and repetition rules (Rae et al. 2021, table A1), whole-batch.

Words are whitespace tokens; punctuation at a token's ends is not part of the word
(so ``world.`` is the word ``world``) and a token made only of punctuation is a symbol,
not a word. This is what spaCy-based splitters approximate, without a per-document
tokenizer call. ``tokens: sudachi`` takes the words of unsegmented Japanese from Sudachi
instead (``filters/ja_words.py``), as FineWeb-2 does.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpusforge.filters import _text_stats as ts
from corpusforge.filters.ja_words import SudachiWords, sudachi_words
from corpusforge.models import Fraction, NonNegativeFloat, NonNegativeInt, PositiveInt
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register

#: characters that do not make a word (ASCII punctuation and common Unicode marks)
PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "‘’“”„«»‹›–—―…•·、。，．！？：；（）「」『』【】〈〉《》・〜～￥＃＆＊＠"
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


def _words(text: pa.Array, tokens: str, sudachi: SudachiWords | None) -> ts.Pieces:
    """The words the rules count: whitespace words, script runs or Sudachi's words."""
    if tokens == "sudachi":
        assert sudachi is not None  # loaded in setup()
        return sudachi.words(text)
    return ts.script_tokens(text) if tokens == "script" else ts.words(text)


def word_cores(words: ts.Pieces) -> pa.Array:
    """Each token with leading/trailing punctuation removed ('' for pure symbols)."""
    return pc.utf8_trim(words.values, characters=PUNCT)


class GopherQualityConfig(FilterConfig):
    #: whitespace words, or Japanese words from Sudachi
    tokens: Literal["whitespace", "sudachi"] = "whitespace"
    # stop words are words: more of them than words allowed leaves no document
    ordered = (("min_words", "max_words"), ("min_avg_word_length", "max_avg_word_length"),
               ("min_stop_words", "max_words"))

    min_words: NonNegativeInt | None = 50
    max_words: NonNegativeInt | None = 100_000
    min_avg_word_length: NonNegativeFloat | None = 3
    max_avg_word_length: NonNegativeFloat | None = 10
    #: '#' and ellipses per word
    max_symbol_word_ratio: NonNegativeFloat | None = 0.1
    max_bullet_lines_ratio: Fraction | None = 0.9
    max_ellipsis_lines_ratio: Fraction | None = 0.3
    #: at least this fraction of tokens contain a letter
    min_alpha_words_ratio: Fraction | None = 0.8
    min_stop_words: NonNegativeInt | None = 2
    stop_words: list[str] = Field(default_factory=lambda: list(STOP_WORDS))


@register
class GopherQuality(Filter[GopherQualityConfig]):
    """Gopher quality: word counts, mean word length, symbols, bullets, ellipses, stop words."""

    name = "gopher_quality"
    adds = ("n_words", "avg_word_length", "hash_word_ratio", "ellipsis_word_ratio", "bullet_lines_ratio",
            "ellipsis_lines_ratio", "alpha_words_ratio", "n_stop_words")

    def setup(self) -> None:
        self.sudachi = sudachi_words() if self.config.tokens == "sudachi" else None

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        text = ts.text_array(batch)
        w = _words(text, cfg.tokens, self.sudachi)
        cores = word_cores(w)
        core_len = ts.n_chars(cores)
        is_word = core_len > 0
        n_tokens = w.per_doc()
        n_words = w.count_per_doc(is_word)
        alpha = ts.np_int(pc.cast(pc.match_substring_regex(w.values, r"\p{L}"), pa.int64())) > 0
        stop_words = pa.array([x.lower() for x in cfg.stop_words], pa.string())
        # a stop word is the token (・ in FineWeb-2's Japanese list is all punctuation) or
        # its core (`the,` is the stop word `the`)
        raw = pc.utf8_lower(w.values)
        lower = pc.if_else(pc.is_in(raw, stop_words), raw, pc.utf8_lower(cores))
        stop = np.asarray(pc.is_in(lower, stop_words).to_numpy(zero_copy_only=False), dtype=bool)
        # distinct stop words per document: dedupe (doc, word) pairs
        stop_ids = ts.string_ids(lower.filter(pa.array(stop)))
        stop_keys = (w.parent[stop].astype(np.uint64) << np.uint64(32)) | stop_ids
        uniq = np.unique(stop_keys)
        n_stop = np.bincount((uniq >> np.uint64(32)).astype(np.int64), minlength=w.n)[: w.n]
        ln = ts.lines(text)
        n_lines = np.maximum(ln.per_doc(), 1)
        stripped_l = pc.utf8_ltrim_whitespace(ln.values)
        stripped_r = pc.utf8_rtrim_whitespace(ln.values)
        bullets = ts.np_int(pc.cast(pc.match_substring_regex(stripped_l, r"^[•\-]"), pa.int64())) > 0
        ell = ts.np_int(pc.cast(pc.match_substring_regex(stripped_r, r"(\.\.\.|…)$"), pa.int64())) > 0
        hashes = ts.count(text, "#")
        ellipses = ts.count(text, r"\.\.\.|…")
        return {
            "n_words": n_words.astype(np.int64),
            "avg_word_length": ts.safe_div(w.per_doc(np.where(is_word, core_len, 0)), n_words),
            "hash_word_ratio": ts.safe_div(hashes, n_tokens),
            "ellipsis_word_ratio": ts.safe_div(ellipses, n_tokens),
            "bullet_lines_ratio": ln.count_per_doc(bullets) / n_lines,
            "ellipsis_lines_ratio": ln.count_per_doc(ell) / n_lines,
            "alpha_words_ratio": ts.safe_div(w.count_per_doc(alpha), n_tokens),
            "n_stop_words": n_stop.astype(np.int64),
        }

    def decide(self, batch, s):
        cfg = self.config
        off = np.zeros(batch.num_rows, dtype=bool)

        def lt(x, bound):
            return off if bound is None else x < bound

        def gt(x, bound):
            return off if bound is None else x > bound

        rules = [
            ("too_few_words", lt(s["n_words"], cfg.min_words)),
            ("too_many_words", gt(s["n_words"], cfg.max_words)),
            ("short_avg_word", lt(s["avg_word_length"], cfg.min_avg_word_length)),
            ("long_avg_word", gt(s["avg_word_length"], cfg.max_avg_word_length)),
            ("too_many_hashes", gt(s["hash_word_ratio"], cfg.max_symbol_word_ratio)),
            ("too_many_ellipses", gt(s["ellipsis_word_ratio"], cfg.max_symbol_word_ratio)),
            ("too_many_bullets", gt(s["bullet_lines_ratio"], cfg.max_bullet_lines_ratio)),
            ("too_many_end_ellipses", gt(s["ellipsis_lines_ratio"], cfg.max_ellipsis_lines_ratio)),
            ("few_alpha_words", lt(s["alpha_words_ratio"], cfg.min_alpha_words_ratio)),
            ("few_stop_words", lt(s["n_stop_words"], cfg.min_stop_words)),
        ]
        return self.first_failure(rules, batch.num_rows)


class GopherRepetitionConfig(FilterConfig):
    #: word n-grams over whitespace words, over script-run tokens (濃淡/の/モザイク) or over
    #: Sudachi's words, for unsegmented Japanese
    tokens: Literal["whitespace", "script", "sudachi"] = "whitespace"
    dup_line_frac: Fraction | None = 0.3
    dup_para_frac: Fraction | None = 0.3
    dup_line_char_frac: Fraction | None = 0.2
    dup_para_char_frac: Fraction | None = 0.2
    #: (n, max fraction of characters in the most frequent word n-gram)
    top_n_grams: list[tuple[PositiveInt, Fraction]] = [(2, 0.20), (3, 0.18), (4, 0.16)]
    #: (n, max fraction of characters in repeated word n-grams)
    dup_n_grams: list[tuple[PositiveInt, Fraction]] = [
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)
    ]


def word_ngram_signals(
    w: ts.Pieces, total_chars: np.ndarray, top: list[int], dup: list[int]
) -> dict[str, np.ndarray]:
    """Top and duplicate word n-gram character fractions (Gopher's definitions)."""
    out: dict[str, np.ndarray] = {}
    ids = ts.string_ids(w.values)
    lens = ts.n_chars(w.values)
    cum = np.zeros(len(lens) + 1, np.int64)
    np.cumsum(lens, out=cum[1:])
    top_set, dup_set = set(top), set(dup)
    for n, starts, h in ts.ngram_hashes_multi(ids, w.parent, [*top, *dup]):
        if n in top_set:
            # a top n-gram is measured joined with spaces, as the reference does
            chars = cum[starts + n] - cum[starts] + (n - 1)
            top_chars = ts.top_ngram_chars(starts, h, w.parent, chars, w.n)
            out[f"top_{n}_gram_frac"] = ts.safe_div(top_chars, total_chars)
            del chars
        if n in dup_set:
            covered = ts.dup_ngram_covered(starts, h, len(ids), n)
            out[f"dup_{n}_gram_frac"] = ts.safe_div(w.per_doc(np.where(covered, lens, 0)), total_chars)
            del covered
        del starts, h  # before the next size's arrays are made
    # the signals in the order of the settings
    return {k: out[k] for k in [*(f"top_{n}_gram_frac" for n in top), *(f"dup_{n}_gram_frac" for n in dup)]}


@register
class GopherRepetition(Filter[GopherRepetitionConfig]):
    """Gopher repetition: duplicate lines/paragraphs and repeated word n-grams."""

    name = "gopher_repetition"

    def setup(self) -> None:
        self.sudachi = sudachi_words() if self.config.tokens == "sudachi" else None

    def signal_columns(self) -> frozenset[str]:
        cfg = self.config
        return frozenset({"dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
                          *(f"top_{n}_gram_frac" for n, _ in cfg.top_n_grams),
                          *(f"dup_{n}_gram_frac" for n, _ in cfg.dup_n_grams)})

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        text = ts.text_array(batch)
        total = ts.n_chars(text)
        paras = ts.split_regex(pc.utf8_trim_whitespace(text), r"\n{2,}")
        para_dup, para_dup_chars = ts.duplicate_stats(paras)
        ln = ts.split_regex(text, r"\n+")
        line_dup, line_dup_chars = ts.duplicate_stats(ln)
        out = {
            "dup_para_frac": ts.safe_div(para_dup, paras.per_doc()),
            "dup_para_char_frac": ts.safe_div(para_dup_chars, total),
            "dup_line_frac": ts.safe_div(line_dup, ln.per_doc()),
            "dup_line_char_frac": ts.safe_div(line_dup_chars, total),
        }
        words = _words(text, cfg.tokens, self.sudachi)
        out.update(word_ngram_signals(
            words, total, [n for n, _ in cfg.top_n_grams], [n for n, _ in cfg.dup_n_grams]
        ))
        return out

    def decide(self, batch, s):
        cfg = self.config
        n = batch.num_rows
        rules = [
            (name, s[name] > bound if bound is not None else np.zeros(n, bool))
            for name, bound in (
                ("dup_para_frac", cfg.dup_para_frac),
                ("dup_para_char_frac", cfg.dup_para_char_frac),
                ("dup_line_frac", cfg.dup_line_frac),
                ("dup_line_char_frac", cfg.dup_line_char_frac),
            )
        ]
        rules += [(f"top_{k}_gram_frac", s[f"top_{k}_gram_frac"] > b) for k, b in cfg.top_n_grams]
        rules += [(f"dup_{k}_gram_frac", s[f"dup_{k}_gram_frac"] > b) for k, b in cfg.dup_n_grams]
        return self.first_failure(rules, n)
