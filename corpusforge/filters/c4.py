"""C4 cleanup (Raffel et al. 2020): line rules that rewrite the text, document rules that drop.

Line rules: keep a line only if it ends in terminal punctuation (not an ellipsis), has
at least 3 words, no word over 1000 characters, no "javascript" and no cookie/policy
boilerplate. Document rules: drop pages with "lorem ipsum", a curly bracket, or fewer
than 5 sentences in the kept lines. The kept lines become the document's new text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.filters import _text_stats as ts
from corpusforge.filters._rewrite import RewriteFilter
from corpusforge.models import NonNegativeInt, PositiveInt
from corpusforge.steps.base import FilterConfig
from corpusforge.steps.registry import register

POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"


def _flag(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


class C4Config(FilterConfig):
    #: a kept line ends with one of these (after citation removal)
    terminal_punct: list[str] = [".", "?", "!", '"', "'"]
    min_words_per_line: NonNegativeInt = 3
    max_word_length: PositiveInt = 1000
    min_sentences: NonNegativeInt = 5
    remove_citations: bool = True
    filter_javascript: bool = True
    filter_policy: bool = True
    filter_lorem_ipsum: bool = True
    filter_curly_bracket: bool = True
    #: pattern that ends a sentence (counted in the kept lines; each kept line counts >= 1)
    #: (Western punctuation needs a following space or line end; 。！？ end a sentence as is)
    sentence_end: str = r"[.!?]+['\")\]”’]*(\s|$)|[。！？]+"


@register
class C4Quality(RewriteFilter[C4Config]):
    """C4 line cleanup plus document rules; kept documents carry the cleaned text."""

    name = "c4"
    adds = ("c4_lines", "c4_kept_lines", "c4_sentences", "c4_lorem_ipsum", "c4_curly_bracket")

    def rewrite(self, batch: pa.Table) -> tuple[pa.Array, dict[str, np.ndarray]]:
        cfg = self.config
        text = ts.text_array(batch)
        ln = ts.lines(text)
        line = pc.utf8_trim_whitespace(ln.values)
        lw = ts.words(line)
        n_words = lw.per_doc()
        longest = np.zeros(len(line), np.int64)
        if len(lw.values):
            np.maximum.at(longest, lw.parent, ts.n_chars(lw.values))
        if cfg.remove_citations:
            line = pc.replace_substring_regex(line, pattern=CITATION, replacement="")
        ends = np.zeros(len(line), dtype=bool)
        for p in cfg.terminal_punct:
            ends |= _flag(pc.ends_with(line, p))
        ends &= ~_flag(pc.ends_with(line, "..."))
        lower = pc.utf8_lower(line)
        pass1 = (longest <= cfg.max_word_length) & ends & (n_words >= cfg.min_words_per_line)
        lorem = _flag(pc.match_substring(lower, "lorem ipsum")) & pass1 if cfg.filter_lorem_ipsum else np.zeros_like(pass1)
        pass2 = pass1 & ~(_flag(pc.match_substring(lower, "javascript")) if cfg.filter_javascript else False)
        curly = _flag(pc.match_substring(line, "{")) & pass2 if cfg.filter_curly_bracket else np.zeros_like(pass2)
        kept = pass2
        if cfg.filter_policy:
            pol = np.zeros(len(line), dtype=bool)
            for p in POLICY:
                pol |= _flag(pc.match_substring(lower, p))
            kept = kept & ~pol
        sentences = np.maximum(ts.count(line, cfg.sentence_end), 1)
        pieces = ts.Pieces(line, ln.parent, ln.n).select(kept)
        cleaned = pc.utf8_trim_whitespace(pieces.join("\n"))
        sig = {
            "c4_lines": ln.per_doc().astype(np.int64),
            "c4_kept_lines": ln.count_per_doc(kept).astype(np.int64),
            "c4_sentences": ln.per_doc(np.where(kept, sentences, 0)).astype(np.int64),
            "c4_lorem_ipsum": ln.count_per_doc(lorem) > 0,
            "c4_curly_bracket": ln.count_per_doc(curly) > 0,
        }
        return cleaned, sig

    def decide(self, batch, s):
        cfg = self.config
        rules = [
            ("lorem_ipsum", s["c4_lorem_ipsum"]),
            ("curly_bracket", s["c4_curly_bracket"]),
            ("too_few_sentences", s["c4_sentences"] < cfg.min_sentences),
        ]
        return self.first_failure(rules, batch.num_rows)
