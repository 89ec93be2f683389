"""The Swallow corpus rules for Japanese Common Crawl (Okazaki et al. 2024), whole-batch.

Letters, hiragana / katakana / Japanese fractions, sentence lengths, duplicate lines
("paragraphs" in the web text) and sentences, top and duplicate n-gram fractions, ellipsis
lines and the NG-word character fraction. N-grams are over script-run tokens by default
(see :func:`_text_stats.script_tokens`): on real Japanese web text, raw character 5-grams
repeat naturally (することが, については) and the duplicate 5-gram rule at 0.15 would drop most
long documents.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.filters import _text_stats as ts
from corpusforge.filters._keywords import KeywordMatcher
from corpusforge.filters.gopher import word_ngram_signals
from corpusforge.filters.repetition import char_ngram_signals
from corpusforge.models import (
    Fraction,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFraction,
    PositiveInt,
)
from corpusforge.resources import WordList, load_words
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register

SENTENCE_END = "。．！？!?"
#: a separator that never occurs in text (a noncharacter), used to cut after each terminator
_CUT = "\ufdd0"


def sentences(text: pa.Array) -> ts.Pieces:
    """Sentences as ``[^。．！？!?]+[。．！？!?]?`` matches: runs of text plus one terminator."""
    marked = pc.replace_substring_regex(text, pattern=f"([{SENTENCE_END}])", replacement=rf"\1{_CUT}")
    p = ts.split(marked, _CUT)
    # a piece that is only a terminator (the second '！' of '！！') is not a sentence
    has_body = pc.match_substring_regex(p.values, f"[^{SENTENCE_END}]")
    return p.select(np.asarray(has_body.to_numpy(zero_copy_only=False), bool))


class SwallowConfig(FilterConfig):
    # a document's average sentence is never longer than its longest
    ordered = (("min_avg_sentence_length", "max_avg_sentence_length"),
               ("min_avg_sentence_length", "max_sentence_length"))

    #: non-whitespace characters, and Japanese ones (kana, kanji, ー)
    min_letters: NonNegativeInt | None = 400
    min_ja_letters: NonNegativeInt | None = 400
    max_dup_para_frac: Fraction | None = 0.30
    max_dup_para_char_frac: Fraction | None = 0.20
    max_dup_sentence_frac: Fraction | None = 0.30
    max_dup_sentence_char_frac: Fraction | None = 0.20
    top_n_grams: list[tuple[PositiveInt, Fraction]] = [(2, 0.20), (3, 0.18), (4, 0.16)]
    dup_n_grams: list[tuple[PositiveInt, Fraction]] = [
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)
    ]
    #: n-gram unit: script-run tokens (濃淡/の/モザイク, word-like) or single characters
    ngram_unit: Literal["token", "char"] = "token"
    min_hiragana_frac: Fraction | None = 0.2
    max_katakana_frac: Fraction | None = 0.5
    min_ja_frac: Fraction | None = 0.5
    min_avg_sentence_length: NonNegativeFloat | None = 20
    max_avg_sentence_length: NonNegativeFloat | None = 90
    max_sentence_length: NonNegativeInt | None = 200
    #: fraction of lines ending in an ellipsis (… or ...)
    max_ellipsis_frac: Fraction | None = 0.2
    ng_lists: list[WordList] = ["ja/adult", "ja/discrimination", "ja/violence"]
    #: reject at or above this fraction of characters inside NG words
    max_ng_char_frac: PositiveFraction | None = 0.05


@register
class SwallowQuality(Filter[SwallowConfig]):
    """Swallow corpus quality rules for Japanese web text."""

    name = "swallow"

    def signal_columns(self) -> frozenset[str]:
        cfg = self.config
        return frozenset({
            "n_letters", "n_ja_letters", "hiragana_frac", "katakana_frac", "ja_frac", "dup_para_frac",
            "dup_para_char_frac", "dup_sentence_frac", "dup_sentence_char_frac", "avg_sentence_length",
            "max_sentence_length", "ellipsis_line_frac", "ng_char_frac",
            *(f"top_{n}_gram_frac" for n, _ in cfg.top_n_grams),
            *(f"dup_{n}_gram_frac" for n, _ in cfg.dup_n_grams),
        })

    def setup(self) -> None:
        words = [w for ref in self.config.ng_lists for w in load_words(ref)]
        self._ng = KeywordMatcher(words)

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        text = ts.text_array(batch)
        total = ts.n_chars(text)
        letters = total - ts.count(text, r"\s")
        ja = ts.count(text, ts.JAPANESE)
        ln = ts.nonempty(ts.lines(text))
        para_dup, para_dup_chars = ts.duplicate_stats(ln)
        sent = sentences(text)
        sent_len = sent.lengths()
        n_sent = sent.per_doc()
        sent_dup, sent_dup_chars = ts.duplicate_stats(sent, sent_len)
        max_sent = np.zeros(len(text))
        if len(sent_len):
            np.maximum.at(max_sent, sent.parent, sent_len)
        ell = np.asarray(pc.match_substring_regex(pc.utf8_rtrim_whitespace(ln.values), r"(…|\.\.\.)$")
                         .to_numpy(zero_copy_only=False), bool)
        out = {
            "n_letters": letters,
            "n_ja_letters": ja,
            "hiragana_frac": ts.safe_div(ts.count(text, ts.HIRAGANA), letters),
            "katakana_frac": ts.safe_div(ts.count(text, ts.KATAKANA), letters),
            "ja_frac": ts.safe_div(ja, letters),
            "dup_para_frac": ts.safe_div(para_dup, ln.per_doc()),
            "dup_para_char_frac": ts.safe_div(para_dup_chars, total),
            "dup_sentence_frac": ts.safe_div(sent_dup, n_sent),
            "dup_sentence_char_frac": ts.safe_div(sent_dup_chars, total),
            "avg_sentence_length": ts.safe_div(sent.per_doc(sent_len), n_sent),
            "max_sentence_length": max_sent,
            "ellipsis_line_frac": ts.safe_div(ln.count_per_doc(ell), ln.per_doc()),
        }
        top, dup = [n for n, _ in cfg.top_n_grams], [n for n, _ in cfg.dup_n_grams]
        if cfg.ngram_unit == "char":
            grams = char_ngram_signals(text, top, dup, total)
        else:
            grams = word_ngram_signals(ts.script_tokens(text), total, top, dup)
        out.update({k.replace("_char_gram", "_gram"): v for k, v in grams.items()})
        out["ng_char_frac"] = ts.safe_div(self._ng.scan(text)[1], total)
        return out

    def decide(self, batch, s):
        cfg = self.config
        n = batch.num_rows
        off = np.zeros(n, bool)

        def lt(key, bound):
            return off if bound is None else s[key] < bound

        def gt(key, bound):
            return off if bound is None else s[key] > bound

        rules = [
            ("too_few_letters", lt("n_letters", cfg.min_letters)),
            ("too_few_ja_letters", lt("n_ja_letters", cfg.min_ja_letters)),
            ("dup_para_frac", gt("dup_para_frac", cfg.max_dup_para_frac)),
            ("dup_para_char_frac", gt("dup_para_char_frac", cfg.max_dup_para_char_frac)),
            ("dup_sentence_frac", gt("dup_sentence_frac", cfg.max_dup_sentence_frac)),
            ("dup_sentence_char_frac", gt("dup_sentence_char_frac", cfg.max_dup_sentence_char_frac)),
        ]
        rules += [(f"top_{k}_gram_frac", gt(f"top_{k}_gram_frac", b)) for k, b in cfg.top_n_grams]
        rules += [(f"dup_{k}_gram_frac", gt(f"dup_{k}_gram_frac", b)) for k, b in cfg.dup_n_grams]
        rules += [
            ("low_hiragana_frac", lt("hiragana_frac", cfg.min_hiragana_frac)),
            ("high_katakana_frac", gt("katakana_frac", cfg.max_katakana_frac)),
            ("low_ja_frac", lt("ja_frac", cfg.min_ja_frac)),
            ("short_sentences", lt("avg_sentence_length", cfg.min_avg_sentence_length)),
            ("long_sentences", gt("avg_sentence_length", cfg.max_avg_sentence_length)),
            ("very_long_sentence", gt("max_sentence_length", cfg.max_sentence_length)),
            ("ellipsis_lines", gt("ellipsis_line_frac", cfg.max_ellipsis_frac)),
            ("ng_char_frac", off if cfg.max_ng_char_frac is None else s["ng_char_frac"] >= cfg.max_ng_char_frac),
        ]
        return self.first_failure(rules, n)
