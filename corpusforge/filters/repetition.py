"""Repetition measures over characters and words, whole-batch.

* character n-gram statistics for unsegmented text (Japanese): top n-gram and duplicate
  n-gram character fractions (used by the Swallow rules), computed from the batch's code
  points with hashed windows;
* HojiChar-style ratios (after BigScience's cleaning): :class:`CharRepetition` is the share
  of character n-gram occurrences taken by the sqrt(#distinct) most frequent ones;
  :class:`WordRepetition` is the share of word n-gram occurrences whose n-gram repeats.
  Words are whitespace tokens: for Japanese, which has none, use the character measure.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpusforge.filters import _text_stats as ts
from corpusforge.models import PositiveFraction, PositiveInt
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register


def char_ngram_signals(
    text: pa.Array, top: list[int], dup: list[int], total: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Character n-gram fractions: ``top_{n}_char_gram_frac`` and ``dup_{n}_char_gram_frac``."""
    cps, parent = ts.codepoints(text)
    ids = cps.astype(np.uint64)
    n_docs = len(text)
    total = ts.n_chars(text) if total is None else total
    out: dict[str, np.ndarray] = {}
    top_set, dup_set = set(top), set(dup)
    for n, starts, h in ts.ngram_hashes_multi(ids, parent, [*top, *dup]):
        if n in top_set:
            top_chars = ts.top_ngram_chars(starts, h, parent, np.full(len(starts), n), n_docs)
            # overlapping occurrences (ああああ) can exceed the text length: clip to 1
            out[f"top_{n}_char_gram_frac"] = np.minimum(ts.safe_div(top_chars, total), 1.0)
        if n in dup_set:
            covered = ts.dup_ngram_covered(starts, h, len(ids), n)
            per_doc = np.bincount(parent[covered], minlength=n_docs)[:n_docs]
            out[f"dup_{n}_char_gram_frac"] = ts.safe_div(per_doc, total)
            del covered
        del starts, h  # before the next size's arrays are made
    # the signals in the order of the settings
    return {k: out[k] for k in [*(f"top_{n}_char_gram_frac" for n in top), *(f"dup_{n}_char_gram_frac" for n in dup)]}


def top_sqrt_ratio(ids: np.ndarray, parent: np.ndarray, n: int, n_docs: int) -> np.ndarray:
    """Share of n-gram occurrences held by the min(sqrt(#distinct), #repeated) most frequent."""
    out = np.zeros(n_docs)
    starts, h = ts.ngram_hashes(ids, parent, n)
    if len(h) == 0:
        return out
    rep, cnt = ts.group(h).representatives()
    doc = parent[starts[rep]]
    distinct = np.bincount(doc, minlength=n_docs)[:n_docs]
    # only repeated n-grams can be among the top ones (k <= #repeated): rank just those
    multi = cnt > 1
    doc, cnt = doc[multi], cnt[multi]
    repeated = np.bincount(doc, minlength=n_docs)[:n_docs]
    k = np.minimum(np.floor(np.sqrt(distinct)).astype(np.int64), repeated)
    # one sort of (document, descending count) packed in a uint64
    low = np.uint64(0xFFFFFFFF)
    packed = np.sort((doc.astype(np.uint64) << np.uint64(32)) | (low - cnt.astype(np.uint64)))
    doc_s = (packed >> np.uint64(32)).astype(np.int64)
    cnt_s = (low - (packed & low)).astype(np.int64)
    first_of_doc = np.cumsum(repeated) - repeated
    take = (np.arange(len(doc_s)) - first_of_doc[doc_s]) < k[doc_s]
    top = np.bincount(doc_s[take], weights=cnt_s[take], minlength=n_docs)[:n_docs]
    totals = np.bincount(parent[starts], minlength=n_docs)[:n_docs]
    return ts.safe_div(top, totals)


class CharRepetitionConfig(FilterConfig):
    n: PositiveInt = 5
    #: reject at or above this ratio
    threshold: PositiveFraction = 0.33


@register
class CharRepetition(Filter[CharRepetitionConfig]):
    """Character n-gram repetition ratio (HojiChar ``CharRepetitionRatioFilter`` semantics)."""

    name = "char_repetition"
    adds = ("char_rep_ratio",)

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        text = ts.text_array(batch)
        cps, parent = ts.codepoints(text)
        n = self.config.n
        return {"char_rep_ratio": top_sqrt_ratio(cps.astype(np.uint64), parent, n, len(text))}

    def decide(self, batch, s):
        thr = self.config.threshold
        return self.first_failure([("char_repetition", s["char_rep_ratio"] >= thr)], batch.num_rows)


class WordRepetitionConfig(FilterConfig):
    n: PositiveInt = 7
    #: reject at or above this ratio
    threshold: PositiveFraction = 0.40


@register
class WordRepetition(Filter[WordRepetitionConfig]):
    """Share of word n-gram occurrences whose n-gram occurs more than once (whitespace words)."""

    name = "word_repetition"
    adds = ("word_rep_ratio",)

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        text = ts.text_array(batch)
        w = ts.words(text)
        n = self.config.n
        starts, h = ts.ngram_hashes(ts.string_ids(w.values), w.parent, n)
        if len(h) == 0:
            return {"word_rep_ratio": np.zeros(len(text))}
        repeated = ts.group(h).sizes() > 1
        doc = w.parent[starts]
        num = np.bincount(doc[repeated], minlength=w.n)[: w.n]
        den = np.bincount(doc, minlength=w.n)[: w.n]
        return {"word_rep_ratio": ts.safe_div(num, den)}

    def decide(self, batch, s):
        thr = self.config.threshold
        return self.first_failure([("word_repetition", s["word_rep_ratio"] >= thr)], batch.num_rows)
