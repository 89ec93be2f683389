"""Mixing arithmetic: rates, water-filling under max_epochs, errors, validation, exactness."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from corpusforge.hashing import id_hash
from corpusforge.mix import MixConfig, MixError, plan_mix
from corpusforge.mix.buckets import BITS, buckets
from corpusforge.mix.select import DOWNSAMPLED, EPOCH, KEY, NO_TARGET, select
from corpusforge.schema import REMOVED_REASON

NB = 1 << BITS


def _hist(n_docs: int, tokens_per_doc: int | np.ndarray, seed: int = 0):
    """A subset of n documents spread over buckets like hashed ids would be."""
    rng = np.random.default_rng(seed)
    b = rng.integers(0, NB, n_docs)
    t = np.broadcast_to(tokens_per_doc, n_docs).astype(np.float64)
    return np.bincount(b, weights=t, minlength=NB), np.bincount(b, minlength=NB)


def _by(plan):
    return {(s.source, s.lang): s for s in plan.subsets}


def test_downsampling_hits_targets_within_a_tenth_of_a_percent():
    hists = {("mc4", "ja"): _hist(50_000, 400, 1), ("wiki-ja", "ja"): _hist(5_000, 300, 2),
             ("pile", "en"): _hist(40_000, 500, 3)}
    cfg = MixConfig(targets={"ja": 6e6, "en": 5e6}, sources={"wiki-ja": {"weight": 2.0}})
    plan = plan_mix(hists, cfg)
    m = plan.manifest()
    for lang in ("ja", "en"):
        assert abs(m["languages"][lang]["relative_error"]) < 1e-3
    s = _by(plan)
    # weight 2 doubles wiki's sampling rate relative to mc4's
    assert s["wiki-ja", "ja"].rate == pytest.approx(2 * s["mc4", "ja"].rate)
    assert s["mc4", "ja"].repeats == 0 and 0 < s["mc4", "ja"].frac_below < NB


def test_upsampling_whole_repeats_plus_fraction_and_capping():
    hists = {("wiki", "ja"): _hist(2_000, 100, 4), ("cc", "ja"): _hist(20_000, 100, 5)}
    # wiki at weight 10 would need 9 epochs: capped at 3, the rest goes to cc
    cfg = MixConfig(targets={"ja": 3.6e6}, max_epochs=3, sources={"wiki": {"weight": 10}})
    s = _by(plan_mix(hists, cfg))
    assert s["wiki", "ja"].repeats == 3 and s["wiki", "ja"].frac_below == 0
    assert s["wiki", "ja"].achieved == 3 * 200_000
    assert s["cc", "ja"].requested == pytest.approx(3.6e6 - 600_000)
    assert 0 < s["cc", "ja"].repeats < 3
    total = s["wiki", "ja"].achieved + s["cc", "ja"].achieved
    assert abs(total - 3.6e6) / 3.6e6 < 1e-3
    assert s["cc", "ja"].repeats == 1 and 0 < s["cc", "ja"].frac_below < NB


def test_impossible_target_is_a_clear_error():
    hists = {("cc", "ja"): _hist(1_000, 100)}
    with pytest.raises(MixError, match=r"'ja' cannot be met.*100,000 tokens.*4 epochs gives 400,000"):
        plan_mix(hists, MixConfig(targets={"ja": 5e5}))
    with pytest.raises(MixError, match="cannot be met"):
        plan_mix(hists, MixConfig(targets={"ja": 10, "en": 10}))  # no English at all
    with pytest.raises(MixError, match="too few for a validation split"):
        plan_mix(hists, MixConfig(targets={"ja": 10}, validation={"tokens_per_subset": 1e6}))


def test_fractions_of_a_total_and_scale():
    cfg = MixConfig(targets={"ja": 0.5, "en": 0.5}, total=300e9, scale=1e-6)
    assert cfg.language_targets() == {"ja": pytest.approx(150_000), "en": pytest.approx(150_000)}
    with pytest.raises(ValidationError):
        MixConfig(targets={"ja": 0.7, "en": 0.7}, total=1e9)
    with pytest.raises(ValidationError):
        MixConfig(targets={"ja": 1.0}, epochs=3)


def test_validation_budget_is_held_out_from_the_top_buckets():
    hists = {("cc", "ja"): _hist(10_000, 50, 6)}
    cfg = MixConfig(targets={"ja": 1e5}, validation={"tokens_per_subset": 20_000})
    s = _by(plan_mix(hists, cfg))["cc", "ja"]
    assert abs(s.val_tokens - 20_000) <= 50
    assert s.pool_tokens == 500_000 - s.val_tokens
    assert s.frac_below < s.val_from  # train sample and validation never overlap


def test_select_applies_the_plan_per_document_japanese_and_english():
    n = 3000
    ids = [f"doc-{i}" for i in range(n)]
    texts = [("吾輩は猫である。" if i % 2 else "I am a cat. ") * (1 + i % 5) for i in range(n)]
    t = pa.table({"id": ids, "text": texts, "source": ["cc"] * n,
                  "lang": ["ja" if i % 2 else "en" for i in range(n)], "url": [None] * n,
                  "n_tokens": [10] * n})
    t = t.append_column("lang2", t.column("lang"))
    cfg = MixConfig(targets={"ja": 25_000}, max_epochs=3, validation={"tokens_per_subset": 500})
    b = buckets(id_hash(t.column("id"), "mix:0"))
    hists = {}
    for lang in ("ja", "en"):
        m = np.asarray(t.column("lang").to_pylist()) == lang
        hists["cc", lang] = (np.bincount(b[m], weights=np.full(m.sum(), 10.0), minlength=NB),
                             np.bincount(b[m], minlength=NB))
    plan = plan_mix(hists, cfg)
    plans = {f"{p.source}\x1f{p.lang}": {"val_from": p.val_from, "repeats": p.repeats,
                                          "frac_below": p.frac_below} for p in plan.subsets if p.lang == "ja"}
    # the plan is applied batch by batch: two halves give the same result as the whole
    parts = [select(t.slice(0, 1700), plans, cfg), select(t.slice(1700), plans, cfg)]
    val = pa.concat_tables([p[0] for p in parts])
    train = pa.concat_tables([p[1].take(np.arange(p[1].num_rows)) for p in parts])
    # scattered into output shards, the same copies: each once, in copy order within a shard
    copies = parts[0][1]
    pieces = list(copies.by_shard(4))
    assert sorted(p for p, _ in pieces) == sorted({p for p, _ in pieces})
    assert sum(piece.num_rows for _, piece in pieces) == copies.num_rows
    whole = copies.take(np.arange(copies.num_rows))
    for p, piece in pieces:
        keys = whole.column(KEY).to_numpy()
        assert piece.equals(whole.filter(pa.array((keys >> np.uint64(32)) % np.uint64(4) == p)))
    removed = pa.concat_tables([p[2] for p in parts])
    ja = _by(plan)["cc", "ja"]
    assert val.num_rows == ja.val_docs and set(val.column("lang").to_pylist()) == {"ja"}
    assert train.num_rows == ja.train_docs
    assert sum(train.column("n_tokens").to_pylist()) == ja.achieved
    assert abs(ja.achieved - 25_000) / 25_000 < 1e-3
    assert max(train.column(EPOCH).to_pylist()) == ja.repeats  # repeats + fractional copy
    reasons = removed.column(REMOVED_REASON).to_pylist()
    assert reasons.count(NO_TARGET) == n // 2  # English has no target here
    assert val.num_rows + len(set(train.column("id").to_pylist())) + removed.num_rows == n
    assert DOWNSAMPLED not in reasons or ja.repeats == 0
    # deterministic: same plan, same rows, same order
    again = select(t.slice(0, 1700), plans, cfg)[1]
    assert again.take(np.arange(again.num_rows)).equals(whole)
