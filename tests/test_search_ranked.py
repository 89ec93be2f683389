"""BM25 (tantivy) and dense retrieval (the static default and a sentence-transformers model
saved by the test) on Japanese and English: known-item recall@10, a query being an edited
paragraph of a document, against brute-force scoring of every document."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from corpusforge import search
from corpusforge.search.analysis import terms

from search_corpus import edited, write_run

K = 10


def known_items(docs: list[dict], lang: str, n: int = 20) -> list[tuple[str, str]]:
    """``(query, id of the document it was made from)`` for ``n`` documents of ``lang``."""
    rng = random.Random(f"known-{lang}")
    mine = [d for d in docs if d["lang"] == lang and len(d["text"]) > 300]
    return [(edited(d["text"], lang, rng), d["id"]) for d in rng.sample(mine, n)]


class BruteBM25:
    """BM25 of every document of the corpus at once (global term statistics)."""

    def __init__(self, docs: list[dict], k1: float = 1.2, b: float = 0.75) -> None:
        self.ids = [d["id"] for d in docs]
        self.bags = [Counter(terms(d["text"])) for d in docs]
        lengths = np.array([sum(bag.values()) for bag in self.bags], dtype=float)
        self.norm = k1 * (1 - b + b * lengths / lengths.mean())
        self.df = Counter(t for bag in self.bags for t in bag)
        self.k1 = k1

    def top(self, query: str) -> list[str]:
        scores = np.zeros(len(self.ids))
        n = len(self.ids)
        for term in set(terms(query)):
            df = self.df.get(term, 0)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = np.array([bag.get(term, 0) for bag in self.bags], dtype=float)
            scores += idf * tf * (self.k1 + 1) / (tf + self.norm)
        return [self.ids[i] for i in np.argsort(-scores, kind="stable")[:K]]


def recall(found: list[list[str]], wanted: list[str]) -> float:
    return sum(w in f for f, w in zip(found, wanted)) / len(wanted)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_bm25_known_item_recall_against_brute_force_scoring(search_run, lang):
    out, docs = search_run
    items = known_items(docs, lang)
    engine = recall([[h.id for h in search.search(out, q, "bm25", K)] for q, _ in items], [w for _, w in items])
    scorer = BruteBM25(docs)
    brute = recall([scorer.top(q) for q, _ in items], [w for _, w in items])
    print(f"bm25 {lang}: recall@{K} tantivy {engine:.2f}, brute force {brute:.2f}")
    assert brute >= 0.9 and engine >= brute - 0.05
    # hits carry what a person needs, and the language filter holds
    hits = search.search(out, items[0][0], "bm25", 5, lang=lang)
    assert hits and all(h.lang == lang for h in hits) and hits[0].highlights


def dense_recall(out: str, docs: list[dict], lang: str) -> tuple[float, float]:
    """Recall@10 of the ANN index and of a brute-force scan of every stored vector."""
    from corpusforge.search.encoders import load_encoder
    from corpusforge.search.layout import model_dir

    corpus = search.corpus(out)
    items = known_items(docs, lang)
    ann = recall([[h.id for h in corpus.search(q, "dense", K)] for q, _ in items], [w for _, w in items])
    vectors, ids = [], []
    for ix in corpus._dense.values():
        vectors.append(np.load(f"{ix.store.folder}/dense.npy"))
        ids += ix.store.meta["id"].to_pylist()
    matrix = np.concatenate(vectors)
    encoder = load_encoder(model_dir(out))
    scan = []
    for q, _ in items:
        scores = matrix @ encoder.encode([q])[0]
        scan.append([ids[i] for i in np.argsort(-scores)[:K]])
    return ann, recall(scan, [w for _, w in items])


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_dense_static_model_known_item_recall(search_run, lang):
    out, docs = search_run
    ann, scan = dense_recall(out, docs, lang)
    print(f"dense static {lang}: recall@{K} HNSW {ann:.2f}, brute force {scan:.2f}")
    assert scan >= 0.8 and ann >= scan - 0.05


def tiny_sentence_transformer(path, docs: list[dict]) -> str:
    """A sentence-transformers model built here: a WordPiece vocabulary trained on the corpus
    and random static token embeddings (near-orthogonal: a text's mean vector keeps which
    tokens it holds), saved as sentence-transformers saves any model."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator([d["text"] for d in docs],
                                  trainers.WordPieceTrainer(vocab_size=4000, special_tokens=["[UNK]", "[PAD]"]))
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((tokenizer.get_vocab_size(), 256)).astype(np.float32)
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
    model.save(str(path))
    return str(path)


def test_dense_with_a_sentence_transformers_model_from_a_local_folder(search_run, tmp_path, monkeypatch):
    _, everything = search_run
    docs = [d for d in everything if d["lang"] in ("ja", "en")]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    model = tiny_sentence_transformer(tmp_path / "model", docs)
    out = write_run(tmp_path / "out", docs, 1)
    search.index(str(out), ("dense",), model=model)
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"  # the loader turned the hub off
    for lang in ("ja", "en"):
        ann, scan = dense_recall(str(out), docs, lang)
        print(f"dense sentence-transformers {lang}: recall@{K} HNSW {ann:.2f}, brute force {scan:.2f}")
        assert scan >= 0.8 and ann >= scan - 0.05
    with pytest.raises(FileNotFoundError, match="local path"):
        search.index(str(tmp_path / "out2"), ("dense",), model=str(tmp_path / "absent"))
