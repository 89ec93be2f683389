"""Mixing arithmetic: from per-subset token histograms and targets to per-subset sampling plans.

A *subset* is one (source, language) pair. Every document gets a bucket, the top
:data:`~corpusforge.mix.buckets.BITS` bits of a salted hash of its id, and each subset is
summarised by the tokens per bucket (a histogram merged from all workers). Then:

* validation: the highest buckets, until the validation token budget is reached;
* the rest is the subset's *train pool* ``P``; the language target is shared among its
  subsets in proportion to ``weight * P`` (water-filling: a subset that would need more than
  ``max_epochs`` repeats is capped and the rest goes to the others);
* a rate ``r = k + f`` becomes ``k`` whole repeats of the pool plus the lowest buckets whose
  tokens come closest to ``f * P``.

The achieved count is therefore exact to within one bucket of one subset, and the plan is a
few integers per subset that every worker applies independently.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from corpusforge.mix.buckets import BITS
from corpusforge.mix.config import MixConfig
from corpusforge.yamlsource import ConfigError

NB = 1 << BITS


class MixError(ValueError):
    """A target that the data cannot meet, a subset too small for its validation budget, or
    documents without token counts."""


class MixColumnsError(ConfigError, MixError):
    """A pipeline refused at validation because its mix would find no token counts: a config
    error (with the YAML line) that is also the MixError the run itself would raise."""


@dataclass
class SubsetPlan:
    source: str
    lang: str
    docs: int
    tokens: int
    weight: float
    #: documents with bucket >= val_from are validation
    val_from: int = NB
    val_tokens: int = 0
    val_docs: int = 0
    pool_tokens: int = 0
    rate: float = 0.0
    repeats: int = 0
    #: documents of the train pool with bucket < frac_below get one more copy
    frac_below: int = 0
    requested: float = 0.0
    achieved: int = 0
    train_docs: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.lang


@dataclass
class MixPlan:
    subsets: list[SubsetPlan]
    targets: dict[str, float]
    max_epochs: float
    tolerance: float = 1e-3

    def manifest(self) -> dict:
        langs = {}
        for lang, target in self.targets.items():
            subs = [s for s in self.subsets if s.lang == lang]
            achieved = sum(s.achieved for s in subs)
            langs[lang] = {
                "requested": target, "achieved": achieved,
                "relative_error": (achieved - target) / target if target else 0.0,
                # false when documents are too coarse for the target (few, long documents)
                "met": abs(achieved - target) <= self.tolerance * target,
                "validation_tokens": sum(s.val_tokens for s in subs),
                "available_tokens": sum(s.tokens for s in subs),
            }
        return {
            "max_epochs": self.max_epochs,
            "languages": langs,
            "subsets": [asdict(s) for s in self.subsets],
            "total": {"requested": sum(self.targets.values()),
                      "achieved": sum(s.achieved for s in self.subsets),
                      "validation": sum(s.val_tokens for s in self.subsets)},
        }


def _closest_prefix(cum: np.ndarray, want: float) -> int:
    """How many leading entries of a histogram to take so their sum is closest to ``want``."""
    full = np.concatenate([[0.0], cum])
    i = int(np.searchsorted(full, want))
    if i >= len(full):
        return len(full) - 1
    if i > 0 and want - full[i - 1] <= full[i] - want:
        return i - 1
    return i


def plan_mix(hists: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], cfg: MixConfig) -> MixPlan:
    """Plan every subset. ``hists[(source, lang)] = (tokens per bucket, docs per bucket)``."""
    targets = cfg.language_targets()
    plans: dict[tuple[str, str], SubsetPlan] = {}
    pools: dict[tuple[str, str], np.ndarray] = {}
    for (source, lang), (tok, docs) in sorted(hists.items()):
        tok = np.asarray(tok, dtype=np.float64)
        docs = np.asarray(docs, dtype=np.int64)
        p = SubsetPlan(source, lang, int(docs.sum()), int(tok.sum()),
                       cfg.sources[source].weight if source in cfg.sources else 1.0)
        plans[p.key] = p
        if lang not in targets:
            continue  # removed as "no_target"; nothing held out either
        budget = cfg.validation_tokens
        if budget > 0:
            if budget >= p.tokens:
                raise MixError(
                    f"subset {source}/{lang} has {p.tokens:,} tokens: too few for a validation "
                    f"split of {budget:,.0f} tokens (lower validation.tokens_per_subset or scale)")
            # the fewest top buckets holding at least the budget ("10M tokens per subset")
            m = min(int(np.searchsorted(np.cumsum(tok[::-1]), budget)) + 1, NB)
            p.val_from = NB - m
            p.val_tokens = int(tok[p.val_from:].sum())
            p.val_docs = int(docs[p.val_from:].sum())
        pool = tok.copy()
        pool[p.val_from:] = 0
        pools[p.key] = pool
        p.pool_tokens = int(pool.sum())

    for lang, target in targets.items():
        subs = [p for p in plans.values() if p.lang == lang]
        _share(lang, target, subs, cfg.max_epochs, cfg.tolerance)
        carry = 0.0  # what earlier subsets of the language over- or undershot, made up here
        # capped subsets first (they cannot absorb anything), the finest-grained last
        order = sorted(subs, key=lambda p: (p.requested < max_epochs_of(p, cfg) - 1e-9,
                                            -(p.tokens / max(p.docs, 1)), p.key))
        for p in order:
            p.rate = p.requested / p.pool_tokens if p.pool_tokens else 0.0
            p.repeats = int(math.floor(p.rate + 1e-12))
            pool = pools[p.key]
            frac_tokens = (p.rate - p.repeats) * p.pool_tokens
            if 0 < frac_tokens + carry < p.pool_tokens:
                frac_tokens += carry
            p.frac_below = _closest_prefix(np.cumsum(pool[: p.val_from]), frac_tokens)
            frac = int(pool[: p.frac_below].sum())
            p.achieved = p.repeats * p.pool_tokens + frac
            carry = p.requested + carry - p.achieved if p.rate > 0 else carry
            d = hists[p.key][1]
            pool_docs = int(np.asarray(d[: p.val_from]).sum())
            p.train_docs = p.repeats * pool_docs + int(np.asarray(d[: p.frac_below]).sum())
    return MixPlan(list(plans.values()), targets, cfg.max_epochs, cfg.tolerance)


def max_epochs_of(p: SubsetPlan, cfg: MixConfig) -> float:
    return cfg.max_epochs * p.pool_tokens


def _share(lang: str, target: float, subs: list[SubsetPlan], max_epochs: float, tol: float) -> None:
    """Split a language target over its subsets by ``weight * pool``, capping at ``max_epochs``."""
    free = [p for p in subs if p.pool_tokens > 0]
    remaining = target
    while free:
        denom = sum(p.weight * p.pool_tokens for p in free)
        capped = [p for p in free if remaining * p.weight * p.pool_tokens / denom > max_epochs * p.pool_tokens]
        if not capped:
            for p in free:
                p.requested = remaining * p.weight * p.pool_tokens / denom
            return
        for p in capped:
            p.requested = max_epochs * p.pool_tokens
            remaining -= p.requested
            free.remove(p)
    if remaining > tol * target:
        have = sum(p.pool_tokens for p in subs)
        names = ", ".join(f"{p.source} ({p.pool_tokens:,})" for p in subs) or "none"
        raise MixError(
            f"target for {lang!r} cannot be met: {target:,.0f} tokens requested, the train pool has "
            f"{have:,} tokens in {names}; at most {max_epochs:g} epochs gives {have * max_epochs:,.0f}. "
            "Lower the target, raise max_epochs or add data.")
