"""MinHash kernels, normalisation, LSH parameters and clustering helpers, on Japanese and
English text."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dedup_corpus import jaccard, shingle_set

from corpusforge.dedup.components import component_labels
from corpusforge.dedup.keep import priority
from corpusforge.dedup.lsh import band_keys, candidate_probability, optimal_params
from corpusforge.dedup.minhash import MinHasher, ShingleSpec, japanese_fraction, text_hashes
from corpusforge.dedup.normalize import normalize_for_hash

from conftest import shared_data


@pytest.fixture(scope="module")
def ja_sentences() -> list[str]:
    with gzip.open(shared_data("ja", "aozora_neko", "wagahaiwa_nekodearu.txt.gz"), "rt",
                   encoding="utf-8") as f:
        text = f.read()
    return [s + "。" for s in text.replace("\n", "").split("。") if len(s) > 10]


@pytest.fixture(scope="module")
def en_sentences() -> list[str]:
    with gzip.open(shared_data("en", "botchan.txt.gz"), "rt", encoding="utf-8") as f:
        text = f.read()
    return [s.strip() + "." for s in text.replace("\n", " ").split(".") if len(s.split()) > 4]


def test_normalize_japanese_and_english() -> None:
    texts = pa.array(["ＡＢＣ、「吾輩は猫」である。１２３　円！", "Hello,   WORLD! It's 2024…", None])
    char = normalize_for_hash(texts, "char").to_pylist()
    word = normalize_for_hash(texts, "word").to_pylist()
    assert char == ["abc吾輩は猫である123円", "helloworldits2024", ""]
    assert word == ["abc 吾輩は猫 である 123 円", "hello world it s 2024", ""]
    # width, case, punctuation and spacing variants hash alike
    a = normalize_for_hash(pa.array(["吾輩は猫である。名前はまだ無い。", "吾輩は　猫である、名前は まだ無い"]), "char")
    assert len(set(text_hashes(a).tolist())) == 1


def _arrow_reference(texts: pa.Array, mode: str) -> pa.Array:
    """The default rules with Arrow's NFKC and regular expressions (slow, obviously right;
    every other option set is checked in test_dedup_normalise)."""
    t = pc.utf8_lower(pc.utf8_normalize(pc.fill_null(texts, ""), "NFKC"))
    if mode == "char":
        return pc.replace_substring_regex(t, r"[\p{P}\p{S}\s\p{Z}]+", "")
    t = pc.replace_substring_regex(pc.replace_substring_regex(t, r"[\p{P}\p{S}]+", " "), r"[\s\p{Z}]+", " ")
    return pc.utf8_trim_whitespace(t)


def test_normalize_matches_arrow_nfkc_on_real_text(ja_sentences, en_sentences) -> None:
    with gzip.open(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz"), "rt", encoding="utf-8") as f:
        cc = [d["text"] for group in json.load(f).values() for d in group]
    texts = pa.array(cc + ja_sentences[:2000] + en_sentences[:2000] + [None, "", "ＡＢＣ ｱｲｳ ①②"])
    for mode in ("char", "word"):
        assert normalize_for_hash(texts, mode).to_pylist() == _arrow_reference(texts, mode).to_pylist()


def test_normalize_composes_like_nfkc() -> None:
    texts = pa.array(["ｶﾞｷﾞ ﾊﾟﾝ", "Cafe\u0301 CAFÉ", "㍻ ﬁne ⑴ 🎉"])
    assert normalize_for_hash(texts, "char").to_pylist() == ["ガギパン", "cafécafé", "平成fine1"]
    assert normalize_for_hash(texts, "word").to_pylist() == ["ガギ パン", "café café", "平成 fine 1"]


def test_signatures_estimate_jaccard_japanese_and_english(ja_sentences, en_sentences) -> None:
    rng = random.Random(0)
    hasher = MinHasher(128, seed=3)
    for sentences, spec in ((ja_sentences, ShingleSpec("char", 5)), (en_sentences, ShingleSpec("word", 5))):
        a_docs, b_docs = [], []
        for _ in range(150):
            start = rng.randrange(len(sentences) - 30)
            base = sentences[start:start + rng.randint(5, 20)]
            other = list(base)
            for _ in range(rng.randint(0, len(base))):  # replace some sentences: any similarity
                other[rng.randrange(len(other))] = rng.choice(sentences)
            a_docs.append(" ".join(base) if spec.mode == "word" else "".join(base))
            b_docs.append(" ".join(other) if spec.mode == "word" else "".join(other))
        na = normalize_for_hash(pa.array(a_docs), spec.mode)
        nb = normalize_for_hash(pa.array(b_docs), spec.mode)
        est = np.mean(hasher.signatures(na, spec, normalized=True) == hasher.signatures(nb, spec, normalized=True), axis=1)
        truth = np.array([jaccard(shingle_set(x, spec), shingle_set(y, spec))
                          for x, y in zip(na.to_pylist(), nb.to_pylist())])
        err = est - truth
        assert truth.min() < 0.3 and truth.max() > 0.9  # the set spans the range
        assert abs(err.mean()) < 0.02, spec  # unbiased
        assert np.sqrt(np.mean(err ** 2)) < 0.06, spec  # about sqrt(J(1-J)/128)


def test_signature_independent_of_batch_and_slicing(ja_sentences) -> None:
    docs = ["".join(ja_sentences[i:i + 3]) for i in range(0, 60, 3)]
    hasher = MinHasher(64)
    full = hasher.signatures(pa.array(docs), "char5")
    alone = np.vstack([hasher.signatures(pa.array([d]), "char5") for d in docs])
    sliced = hasher.signatures(pa.array(docs).slice(5, 7), "char5")
    chunked = hasher.signatures(pa.chunked_array([docs[:4], docs[4:]]), "char5")
    assert (full == alone).all() and (full[5:12] == sliced).all() and (full == chunked).all()
    assert not (MinHasher(64, seed=2).signatures(pa.array(docs), "char5") == full).all()


def test_short_and_empty_documents() -> None:
    hasher = MinHasher(32)
    texts = pa.array(["猫", "吾輩は", "cat", "", None, "!!!"])
    for spec in ("char5", "word5"):
        sig, counts = hasher.signatures_and_counts(texts, spec)
        # shorter than n: one shingle, and a full (densified) signature
        assert counts[0] == 1 and counts[1] == 1 and counts[2] == 1
        assert (sig[:3] != 0xFFFFFFFF).all()
        assert counts[3] == counts[4] == counts[5] == 0
        assert (sig[1] != sig[0]).any()
    # a short document equals itself, not its prefix
    s = hasher.signatures(pa.array(["吾輩は", "吾輩は", "吾輩"]), "char5")
    assert (s[0] == s[1]).all() and not (s[0] == s[2]).all()


def test_char_and_word_ngrams_match_reference_counts(ja_sentences, en_sentences) -> None:
    hasher = MinHasher(16)
    ja = normalize_for_hash(pa.array(ja_sentences[:50]), "char")
    en = normalize_for_hash(pa.array(en_sentences[:50]), "word")
    for arr, spec in ((ja, ShingleSpec("char", 5)), (en, ShingleSpec("word", 3))):
        _, counts = hasher.signatures_and_counts(arr, spec, normalized=True)
        ref = []
        for t in arr.to_pylist():
            units = list(t) if spec.mode == "char" else t.split()
            ref.append(max(len(units) - spec.n + 1, 1 if units else 0))
        assert counts.tolist() == ref


def test_shingle_spec_parsing() -> None:
    assert ShingleSpec.parse("char5") == ShingleSpec("char", 5)
    assert str(ShingleSpec.parse("WORD3")) == "word3"
    for bad in ("chars5", "word0", "char65", "5"):
        with pytest.raises(ValueError):
            ShingleSpec.parse(bad)


def test_optimal_params_match_datasketch() -> None:
    assert optimal_params(0.8, 128) == (9, 13)
    lsh = pytest.importorskip("datasketch")
    for t, k in ((0.5, 128), (0.7, 128), (0.85, 256), (0.9, 64)):
        ref = lsh.MinHashLSH(threshold=t, num_perm=k)
        assert optimal_params(t, k) == (ref.b, ref.r)
    p = candidate_probability(np.array([0.5, 0.8, 0.95]), 9, 13)
    assert p[0] < 0.01 and 0.3 < p[1] < 0.7 and p[2] > 0.99


def test_band_keys() -> None:
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, size=(4, 128), dtype=np.uint32)
    sig[1] = sig[0]
    sig[2, :13] = sig[0, :13]  # shares band 0 only
    keys = band_keys(sig, 9, 13)
    assert keys.shape == (4, 9) and keys.dtype == np.uint64
    assert (keys[0] == keys[1]).all()
    assert keys[2, 0] == keys[0, 0] and (keys[2, 1:] != keys[0, 1:]).all()
    same = sig.copy()
    same[:, 13:26] = same[:, :13]  # equal registers in two bands still give different keys
    k2 = band_keys(same, 9, 13)
    assert (k2[:, 0] != k2[:, 1]).all()
    with pytest.raises(ValueError):
        band_keys(sig, 20, 13)


def test_component_labels() -> None:
    # 10-11-12 chain, 13-14, 16-17-18 via 18; 15 and every other node in no edge
    nodes, labels = component_labels(np.array([11, 12, 14, 16, 17, 17]), np.array([10, 11, 13, 18, 18, 17]))
    assert nodes.tolist() == [10, 11, 12, 13, 14, 16, 17, 18]
    assert labels.tolist() == [10, 10, 10, 13, 13, 16, 16, 16]  # the smallest node of each
    assert component_labels(np.zeros(0, np.int64), np.zeros(0, np.int64))[0].tolist() == []


def test_keep_priorities() -> None:
    t = pa.table({"text": ["短い", "ずっと長い文書です", None],
                  "date": ["2024-01-02", "2023-05-01T10:00:00", None], "score": [0.5, 2.0, 1.0]})
    assert priority(t, "first", None).tolist() == [0, 0, 0]
    assert priority(t, "longest", None).tolist() == [2, 9, 0]
    newest = priority(t, "newest", "date")
    assert newest[0] > newest[1] > newest[2] == -np.inf
    oldest = priority(t, "oldest", "date")
    assert oldest[1] > oldest[0]
    assert priority(t, "highest", "score").tolist() == [0.5, 2.0, 1.0]
    with pytest.raises(ValueError, match="keep_column"):
        priority(t, "newest", "crawl_date")


def test_japanese_fraction() -> None:
    f = japanese_fraction(pa.array(["吾輩は猫である", "hello world", "猫 cat", ""]))
    assert f[0] == 1.0 and f[1] == 0.0 and 0.1 < f[2] < 0.5 and f[3] == 0.0


def test_signatures_from_precomputed_hashes() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2**63, size=300, dtype=np.uint64)
    b = np.concatenate([a[:240], rng.integers(0, 2**63, size=60, dtype=np.uint64)])  # J = 240/360
    hashes = np.concatenate([a, a[::-1], b, a[:3]])
    offsets = np.array([0, 300, 600, 900, 903])
    sig = MinHasher(128).from_hashes(hashes, offsets)
    assert (sig[0] == sig[1]).all()  # order does not matter
    assert abs(np.mean(sig[0] == sig[2]) - 240 / 360) < 0.15
    assert (sig[3] != 0xFFFFFFFF).all()  # three shingles: rounds, then densification
