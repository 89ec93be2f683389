"""The tokenize step: SentencePiece and HF tokenizers, Japanese and English, ids and EOS."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.tokenize import Tokenize, load_tokenizer

from conftest import read_output, shared_data

TEXTS = [
    "吾輩は猫である。名前はまだ無い。\nどこで生れたかとんと見当がつかぬ。",
    "The quick brown fox jumps over the lazy dog 12345 times.",
    "def add(a, b):\n    return a + b\n",
    "",
    "東京都の人口は約1400万人です。Tokyo has about 14 million people.",
]


def _model() -> str:
    return str(shared_data("tokenizers", "llm-jp-tokenizer", "code10K_en20K_ja30K.ver2.2.model"))


def _hf() -> str:
    return str(shared_data("tokenizers", "llm-jp-tokenizer", "hf_code10K_en20K_ja30K.ver2.2"))


def _batch(texts=TEXTS) -> pa.Table:
    n = len(texts)
    return pa.table({"id": [f"d{i}" for i in range(n)], "text": texts, "source": ["s"] * n, "url": [None] * n})


def test_sentencepiece_counts_and_ids_match_direct_encoding():
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=_model())
    out = Tokenize(tokenizer=_model(), ids=True, threads=2)(_batch())
    expected = [sp.encode(t) for t in TEXTS]
    assert out.column("n_tokens").to_pylist() == [len(e) for e in expected]
    assert out.column("token_ids").to_pylist() == expected
    assert out.schema.field("token_ids").type == pa.list_(pa.uint32())
    assert out.column("n_tokens").to_pylist()[3] == 0
    # Japanese really is tokenized into several pieces, not bytes or one unknown
    assert 5 < out.column("n_tokens")[0].as_py() < len(TEXTS[0])
    assert out.column("text").equals(_batch().column("text"))


def test_hf_tokenizer_json_agrees_with_sentencepiece_model():
    sp_out = Tokenize(tokenizer=_model(), ids=True)(_batch())
    hf_out = Tokenize(tokenizer={"hf_tokenizer": _hf()}, ids=True)(_batch())
    assert load_tokenizer(_hf()).kind == "hf"
    assert hf_out.column("token_ids").to_pylist() == sp_out.column("token_ids").to_pylist()


def test_append_eos_adds_one_token_per_document():
    plain = Tokenize(tokenizer=_model(), ids=True)(_batch())
    eos = Tokenize(tokenizer=_model(), ids=True, append_eos=True)(_batch())
    eos_id = load_tokenizer(_model()).eos_id
    assert np.array_equal(np.asarray(eos.column("n_tokens")), np.asarray(plain.column("n_tokens")) + 1)
    for a, b in zip(plain.column("token_ids").to_pylist(), eos.column("token_ids").to_pylist()):
        assert b == [*a, eos_id]


def test_config_is_typed_and_strict():
    with pytest.raises(ValidationError):
        Tokenize(tokenizer=_model(), threads=-1)
    with pytest.raises(ValidationError):
        Tokenize(tokenizer=_model(), vocab=3)
    with pytest.raises(ValidationError):
        Tokenize(tokenizer={"sentencepiece": _model(), "hf_tokenizer": _hf()})


def test_missing_model_file_fails_at_setup(tmp_path):
    step = Tokenize(tokenizer=str(tmp_path / "nope.model"))
    with pytest.raises(FileNotFoundError):
        step(_batch())


def test_tokenize_in_a_pipeline_run(tmp_path):
    yaml = f"""
name: tok
inputs: [{{type: demo, docs: 300, units: 2, source: demo}}]
steps:
  - step: corpusforge.tokenize:Tokenize
    label: tokenize
    tokenizer: {{sentencepiece: {_model()}}}
    ids: true
output: {{path: {tmp_path / "out"}}}
"""
    stats = run_pipeline(pipeline_from_yaml(yaml), workers=1)
    out = read_output(tmp_path / "out")
    assert stats.steps[-1].docs_in == out.num_rows == 300
    lengths = pa.compute.list_value_length(out.column("token_ids")).cast(pa.int64())
    assert lengths.equals(out.column("n_tokens"))
    has_ja = pa.compute.match_substring_regex(out.column("text"), r"\p{Hiragana}")
    assert pa.compute.sum(has_ja).as_py() > 0


def test_count_only_path_agrees_with_ids_path():
    for tok in (_model(), {"hf_tokenizer": _hf()}):
        for eos in (False, True):
            counts = Tokenize(tokenizer=tok, append_eos=eos)(_batch())
            with_ids = Tokenize(tokenizer=tok, ids=True, append_eos=eos)(_batch())
            assert "token_ids" not in counts.column_names
            assert counts.column("n_tokens").equals(with_ids.column("n_tokens"))
