"""Megatron indexed dataset: byte layout, round trip on real Japanese/English token ids."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from corpusforge.io.megatron import MAGIC, MegatronDataset, MegatronWriter, dtype_for_vocab

from conftest import shared_data


def test_layout_bytes_exactly(tmp_path):
    w = MegatronWriter(tmp_path / "d", vocab_size=1000)
    w.add(np.array([0, 3, 5]), np.array([7, 8, 9, 10, 11], dtype=np.uint32))
    w.add(np.array([0, 0]), np.array([], dtype=np.uint32))  # an empty document
    w.commit()
    assert (tmp_path / "d.bin").read_bytes() == np.array([7, 8, 9, 10, 11], "<u2").tobytes()
    idx = (tmp_path / "d.idx").read_bytes()
    expected = (MAGIC + struct.pack("<QBQQ", 1, 8, 3, 4)
                + np.array([3, 2, 0], "<i4").tobytes()
                + np.array([0, 6, 10], "<i8").tobytes()
                + np.array([0, 1, 2, 3], "<i8").tobytes())
    assert idx == expected
    assert not list(tmp_path.glob("*.tmp"))


def test_dtype_rule():
    assert dtype_for_vocab(48586) == np.uint16
    assert dtype_for_vocab(99574) == np.int32


def test_round_trip_real_tokens(tmp_path):
    import sentencepiece as spm

    model = shared_data("tokenizers", "llm-jp-tokenizer", "llm-jp-tokenizer-100k.ver3.1.model")
    sp = spm.SentencePieceProcessor(model_file=str(model))
    texts = ["吾輩は猫である。名前はまだ無い。", "I am a cat. As yet I have no name.", "", "def f():\n    pass\n"]
    docs = sp.encode(texts)
    offsets = np.cumsum([0, *map(len, docs)])
    w = MegatronWriter(tmp_path / "ja_en", vocab_size=sp.get_piece_size())
    w.add(offsets[:3], np.concatenate(docs[:2]))  # two appends: offsets restart per call
    w.add(offsets[2:] - offsets[2], np.concatenate(docs[2:]))
    w.commit()
    ds = MegatronDataset(tmp_path / "ja_en")
    assert ds.dtype == np.int32  # 100k vocabulary does not fit uint16
    assert len(ds) == ds.n_documents == 4
    assert [ds[i].tolist() for i in range(4)] == docs
    assert sp.decode(ds[0].tolist()) == texts[0]
    assert ds.n_tokens == sum(map(len, docs))


def test_rejects_ids_outside_vocabulary_and_bad_files(tmp_path):
    w = MegatronWriter(tmp_path / "x", vocab_size=10)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        w.add(np.array([0, 1]), np.array([10]))
    (tmp_path / "bad.idx").write_bytes(b"NOTMEGATRON" + bytes(30))
    (tmp_path / "bad.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="magic"):
        MegatronDataset(tmp_path / "bad")
