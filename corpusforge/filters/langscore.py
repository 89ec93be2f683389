"""Language-score threshold: reads the ``lang`` / ``lang_score`` columns of a language-ID step."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.models import Fraction
from corpusforge.schema import LANG, LANG_SCORE
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register


class LangScoreConfig(FilterConfig):
    #: keep documents whose language score is at least this (FineWeb-2 Japanese: 0.886)
    min_score: Fraction = 0.65
    #: keep only these languages (null: any); needs the ``lang`` column
    languages: list[str] | None = None
    score_column: str = LANG_SCORE
    lang_column: str = LANG


@register
class LangScore(Filter[LangScoreConfig]):
    """Threshold on the language-ID score, optionally restricted to some languages."""

    name = "lang_score"

    def needed_columns(self) -> frozenset[str]:
        cfg = self.config
        return frozenset({cfg.score_column, *([cfg.lang_column] if cfg.languages is not None else [])})

    def signal_columns(self) -> frozenset[str]:
        return frozenset({"lang_score_ok", *(["lang_ok"] if self.config.languages is not None else [])})

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        needed = [cfg.score_column] + ([cfg.lang_column] if cfg.languages is not None else [])
        missing = [c for c in needed if c not in batch.column_names]
        if missing:
            raise KeyError(
                f"lang_score needs the column(s) {missing}; run a language-ID step before it "
                f"(batch columns: {batch.column_names})"
            )
        score = pc.fill_null(pc.cast(batch.column(cfg.score_column), pa.float64()), 0.0)
        out = {"lang_score_ok": score.to_numpy() >= cfg.min_score}
        if cfg.languages is not None:
            lang = pc.is_in(pc.fill_null(batch.column(cfg.lang_column), ""), pa.array(cfg.languages))
            out["lang_ok"] = np.asarray(lang.to_numpy(zero_copy_only=False), bool)
        return out

    def decide(self, batch, s):
        rules = [("low_lang_score", ~s["lang_score_ok"])]
        if "lang_ok" in s:
            rules.insert(0, ("language_not_allowed", ~s["lang_ok"]))
        return self.first_failure(rules, batch.num_rows)
