"""per_source: a chain applied to some sources only, order kept, reasons prefixed, presets expanded."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pydantic import ValidationError

from corpusforge.schema import REMOVED_REASON
from corpusforge.steps.per_source import PerSource

JA_OK = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 6


def _batch() -> pa.Table:
    return pa.table({
        "id": ["a", "b", "c", "d", "e", "f"],
        "text": [JA_OK, "The Pile text.", "記事の本文です。\n脚注\n^ 出典", "A book.", "短い", "Article.\nReferences\n^ x"],
        "source": ["mc4", "pile", "wiki", "pile", "mc4", "wiki"],
        "url": ["https://example.jp/a", None, None, None, "https://example.jp/e", None],
        "pile_set_name": [None, "Pile-CC", None, "Books3", None, None],
    })


def test_drop_where_and_order_kept():
    r = PerSource(sources=["pile"], drop_where={"pile_set_name": ["Books3"]}).apply(_batch())
    assert r.out.column("id").to_pylist() == ["a", "b", "c", "e", "f"]
    assert r.removed.select(["id", REMOVED_REASON]).to_pylist() == [{"id": "d", REMOVED_REASON: "pile_set_name=Books3"}]


def test_inner_chain_touches_only_its_sources_japanese_and_english():
    r = PerSource(sources=["wiki"], steps=[{"step": "ja_normalize", "nfkc": False,
                                           "fix_punctuation": False}]).apply(_batch())
    text = dict(zip(r.out.column("id").to_pylist(), r.out.column("text").to_pylist()))
    assert text["c"] == "記事の本文です。" and text["f"] == "Article."
    assert text["b"] == "The Pile text." and r.removed is None


def test_preset_inside_and_reasons_prefixed():
    step = PerSource(sources=["mc4"], steps=[{"use": "ja-web"}])
    r = step.apply(_batch())
    assert "e" not in r.out.column("id").to_pylist()  # too short for the Japanese chain
    assert {"b", "c", "d", "f"} <= set(r.out.column("id").to_pylist())  # other sources untouched
    reasons = r.removed.column(REMOVED_REASON).to_pylist()
    assert all(x.startswith("ja-web:") for x in reasons)
    assert r.out.num_rows + r.removed.num_rows == 6


def test_bad_inner_step_is_refused_up_front():
    with pytest.raises(ValidationError):
        PerSource(sources=["x"], steps=[{"step": "length", "min_chars": "many"}])
    with pytest.raises(ValidationError):
        PerSource(sources=["x"], steps=[{"min_chars": 3}])
