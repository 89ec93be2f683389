"""Declared columns: every built-in step adds exactly the columns it says it adds, and needs what
it says it needs (on Japanese, English and code documents)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from corpusforge.steps import Filter, registered_steps
from corpusforge.steps.build import build_step

from conftest import shared_data

TEXTS = [
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。",
    "メールは taro@example.jp まで。電話 075-123-4567、カード 4111 1111 1111 1111。",
    "The quick brown fox jumps over the lazy dog.\nIt was the best of times, it was the worst of times...",
    "def add(a, b):\n    return a + b\n",
]


def _batch(with_lang: bool = False) -> pa.Table:
    """Documents; with the columns a language-ID step adds when ``with_lang``."""
    n = len(TEXTS)
    batch = pa.table({
        "id": [f"d{i}" for i in range(n)],
        "text": TEXTS,
        "source": ["web", "web", "web", "code"],
        "url": ["https://example.jp/neko", None, "https://example.com/a", "https://git.example/r/add.py"],
    })
    if with_lang:
        batch = batch.append_column("lang", pa.array(["ja", "ja", "en", None]))
        batch = batch.append_column("lang_score", pa.array([0.99, 0.9, 0.95, None]))
    return batch


#: steps that need more than defaults to run here; each is covered below with its parameters
SPECIAL = {"tokenize", "extract_html", "per_source"}

#: configs whose columns differ from the defaults'
VARIANTS = [
    {"step": "gopher_repetition", "top_n_grams": [[2, 0.3]], "dup_n_grams": [[7, 0.2], [9, 0.1]]},
    {"step": "swallow", "ngram_unit": "char", "top_n_grams": [[3, 0.2]], "dup_n_grams": [[6, 0.1]]},
    {"step": "ng_words", "words": ["猫"], "signal": "neko"},
    {"step": "lang_score", "languages": ["ja"]},
    {"step": "pii_mask", "ip": None, "card": None},
    {"step": "pii_mask", "count_columns": False},
    {"step": "langid", "keep_signals": False},
    {"step": "code_route", "sources": ["code"]},
]


def _entries() -> list[dict]:
    plain = [{"step": name} for name in registered_steps() if name not in SPECIAL]
    return plain + VARIANTS


def _added(step, batch: pa.Table) -> set[str]:
    result = step.apply(batch)
    return set(result.out.column_names) - set(batch.column_names)


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: "-".join(str(v) for v in e.values())[:60])
def test_declared_columns_are_the_columns_added(entry):
    first = build_step(entry)
    batch = _batch(with_lang=bool(first.needed_columns()))
    modes = [{}]
    if isinstance(first, Filter):
        modes = [{"mode": "filter"}, {"mode": "annotate"}, {"mode": "filter", "keep_signals": True}]
    for mode in modes:
        step = build_step({**entry, **mode}, label="x")
        declared = step.added_columns()
        assert declared is not None, f"{entry['step']} does not declare its columns"
        assert _added(step, batch) == declared, (entry, mode)


def test_declared_needs_are_needed():
    batch = _batch(with_lang=True)
    for entry in ({"step": "lang_score"}, {"step": "lang_score", "languages": ["ja"]},
                  {"step": "url_filter", "url_column": "link"}):
        step = build_step(entry)
        for column in step.needed_columns():
            missing = batch.drop_columns([column]) if column in batch.column_names else batch
            with pytest.raises(KeyError):
                step.apply(missing)


def test_tokenize_declares_its_columns():
    model = str(shared_data("tokenizers", "llm-jp-tokenizer", "code10K_en20K_ja30K.ver2.2.model"))
    batch = _batch()
    for entry in ({"tokenizer": model}, {"tokenizer": model, "ids": True, "n_tokens_column": "toks"}):
        step = build_step({"step": "tokenize", **entry})
        assert _added(step, batch) == step.added_columns()


def test_per_source_declares_what_its_chain_needs_and_adds():
    inner = [{"step": "lang_score", "languages": ["ja"]}, {"step": "length", "mode": "annotate"},
             {"step": "tokenize", "tokenizer": "x.model"}]
    step = build_step({"step": "per_source", "sources": ["web"], "steps": inner})
    assert step.needed_columns() == {"lang", "lang_score"}
    assert step.added_columns() == {"length_keep", "length_reason", "n_chars", "n_bytes", "n_tokens"}
    # an inner langid provides what an inner lang_score after it reads
    chain = [{"step": "langid"}, {"step": "lang_score"}]
    assert build_step({"step": "per_source", "sources": ["web"], "steps": chain}).needed_columns() == set()
    batch = _batch(with_lang=True)
    applied = build_step({"step": "per_source", "sources": ["web"], "steps": inner[:2]}).apply(batch)
    assert set(applied.out.column_names) - set(batch.column_names) == {"length_keep", "length_reason",
                                                                       "n_chars", "n_bytes"}
