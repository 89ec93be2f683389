"""Text to vectors for dense retrieval: a sentence-transformers model from a local folder, or
the default the project builds from the corpus itself.

The default (``static``) needs no download: each text is a bag of hashed character 1-3-grams
(TF-IDF weighted), projected onto the top singular vectors of the corpus's document-n-gram
matrix (latent semantic analysis). It is built once per run from a sample of its documents
and stored with the index (``_search/model/``); Japanese and English alike, as it reads
characters. A sentence-transformers model (ruri-v3, multilingual-e5 ...) is given by the path
of a saved model and loaded with the hub offline, so nothing is fetched at run time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpusforge.io.atomic import atomic_write
from corpusforge.io.layout import join
from corpusforge.search.layout import local_path, read_json, write_json

#: hash buckets of the n-grams, and the characters of a text that are read
BUCKETS = 2**16
MAX_CHARS = 4000
#: dimensions of the default model, and the documents its SVD is computed on
DIMS = 128
SAMPLE_DOCS = 20000
_PRIMES = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D], dtype=np.uint64)


def _ngram_ids(text: str) -> np.ndarray:
    """Bucket ids of the character 1-, 2- and 3-grams of ``text`` (a stable hash)."""
    c = np.frombuffer(text[:MAX_CHARS].encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if not len(c):
        return np.zeros(0, dtype=np.int64)
    grams = [c * _PRIMES[0]]
    if len(c) > 1:
        grams.append(c[:-1] * _PRIMES[0] ^ c[1:] * _PRIMES[1] + np.uint64(1))
    if len(c) > 2:
        grams.append(c[:-2] * _PRIMES[0] ^ c[1:-1] * _PRIMES[1] ^ c[2:] * _PRIMES[2] + np.uint64(2))
    h = np.concatenate(grams)
    h ^= h >> np.uint64(29)
    return (h % np.uint64(BUCKETS)).astype(np.int64)


def _counts(texts: Sequence[str]):
    from scipy.sparse import csr_matrix

    rows, cols = [], []
    for i, text in enumerate(texts):
        ids = _ngram_ids(text)
        rows.append(np.full(len(ids), i, dtype=np.int64))
        cols.append(ids)
    data = np.ones(sum(len(r) for r in rows), dtype=np.float32)
    m = csr_matrix((data, (np.concatenate(rows or [np.zeros(0, np.int64)]),
                           np.concatenate(cols or [np.zeros(0, np.int64)]))),
                   shape=(len(texts), BUCKETS), dtype=np.float32)
    m.sum_duplicates()
    m.data = np.log1p(m.data)
    return m


@dataclass
class StaticEncoder:
    """The default model: hashed n-gram TF-IDF times an SVD projection."""

    idf: np.ndarray  # (BUCKETS,)
    projection: np.ndarray  # (BUCKETS, dims)
    name: str = "static"

    @property
    def dims(self) -> int:
        return self.projection.shape[1]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        x = _counts(texts).multiply(self.idf[None, :]).tocsr()
        v = np.asarray(x @ self.projection, dtype=np.float32)
        return _normalised(v)

    @classmethod
    def fit(cls, texts: Sequence[str], dims: int = DIMS) -> StaticEncoder:
        x = _counts(texts)
        df = np.bincount(x.indices, minlength=BUCKETS).astype(np.float32)
        idf = np.log((1 + len(texts)) / (1 + df)).astype(np.float32) + 1
        x = x.multiply(idf[None, :]).tocsr()
        return cls(idf, _top_right_singular_vectors(x, max(1, min(dims, min(x.shape) - 1))))

    def save(self, folder: str) -> None:
        for name, array in (("idf.npy", self.idf), ("projection.npy", self.projection)):
            with atomic_write(join(folder, name)) as f:
                np.save(f, array)
        write_json(join(folder, "model.json"), {"kind": "static", "dims": self.dims, "buckets": BUCKETS})

    @classmethod
    def load(cls, folder: str) -> StaticEncoder:
        return cls(np.load(local_path(join(folder, "idf.npy"))),
                   np.load(local_path(join(folder, "projection.npy"))))


class SentenceTransformerEncoder:
    """A sentence-transformers model saved in a local folder, loaded offline."""

    def __init__(self, path: str) -> None:
        if not Path(path).is_dir():
            raise FileNotFoundError(f"no sentence-transformers model folder at {path!r} "
                                    "(a model is given by a local path; nothing is downloaded)")
        # before the import: the hub libraries read these once
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        self.path = str(Path(path).resolve())
        self.name = f"sentence-transformers:{self.path}"
        self.model = SentenceTransformer(self.path, device="cpu", local_files_only=True)

    @property
    def dims(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        v = self.model.encode(list(texts), batch_size=32, convert_to_numpy=True, show_progress_bar=False)
        return _normalised(np.asarray(v, dtype=np.float32))


def _top_right_singular_vectors(x, k: int, oversample: int = 10, passes: int = 2) -> np.ndarray:
    """``(columns, k)``: the top right singular vectors of the sparse ``x``, by a randomised
    range finder (two power passes): seconds where ARPACK takes minutes at large ``k``."""
    rng = np.random.default_rng(0)
    width = min(k + oversample, min(x.shape))
    q, _ = np.linalg.qr(x @ rng.standard_normal((x.shape[1], width)).astype(np.float32))
    for _ in range(passes):
        q, _ = np.linalg.qr(x @ (x.T @ q))
    b = np.asarray(x.T @ q, dtype=np.float64)  # (columns, width): x projected on its range
    # the SVD of the thin b from the eigenvectors of its small Gram matrix
    values, vectors = np.linalg.eigh(b.T @ b)
    order = np.argsort(values)[::-1][:k]
    v = b @ (vectors[:, order] / np.sqrt(np.maximum(values[order], 1e-12)))
    return np.ascontiguousarray(v, dtype=np.float32)


def _normalised(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


Encoder = StaticEncoder | SentenceTransformerEncoder


def record_model(folder: str, model: str | None) -> None:
    """Note which model the run's dense index uses (``None``: the static default, saved by
    the caller)."""
    if model is not None:
        write_json(join(folder, "model.json"), {"kind": "sentence-transformers",
                                                "path": str(Path(model).resolve())})


_loaded: dict[str, Encoder] = {}


def load_encoder(folder: str) -> Encoder:
    """The run's dense model (from ``_search/model/``), once per process."""
    if folder not in _loaded:
        info = read_json(join(folder, "model.json"))
        if info is None:
            raise FileNotFoundError(f"no dense model under {folder}: build with --kinds dense")
        _loaded[folder] = (StaticEncoder.load(folder) if info["kind"] == "static"
                           else SentenceTransformerEncoder(info["path"]))
    return _loaded[folder]
