"""Dense retrieval: a vector per document and an approximate nearest-neighbour index per
shard (FAISS HNSW over inner products of unit vectors), merged by score at query time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from corpusforge.io.atomic import atomic_write, write_bytes
from corpusforge.io.layout import join
from corpusforge.search.encoders import Encoder
from corpusforge.search.layout import local_path
from corpusforge.search.store import Store

#: graph degree of the HNSW index, and how wide a query explores it
HNSW_M = 32
EF_SEARCH = 128
BATCH = 256


def build_dense(folder: str, encoder: Encoder) -> dict:
    import faiss

    store = Store(folder)
    parts = [encoder.encode([store.doc_text(i) for i in range(s, min(s + BATCH, store.docs))])
             for s in range(0, store.docs, BATCH)]
    vectors = np.concatenate(parts) if parts else np.zeros((0, encoder.dims), np.float32)
    with atomic_write(join(folder, "dense.npy")) as f:
        np.save(f, vectors)
    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.add(vectors)
    data = faiss.serialize_index(index).tobytes()
    write_bytes(join(folder, "dense.faiss"), data)
    return {"dense_bytes": int(vectors.nbytes + len(data))}


@dataclass
class DenseIndex:
    store: Store

    @cached_property
    def index(self):
        import faiss

        index = faiss.read_index(local_path(join(self.store.folder, "dense.faiss")))
        index.hnsw.efSearch = EF_SEARCH
        return index

    def search(self, vector: np.ndarray, k: int) -> list[tuple[float, int]]:
        if self.index.ntotal == 0:
            return []
        scores, rows = self.index.search(vector[None, :].astype(np.float32), min(k, self.index.ntotal))
        return [(float(s), int(r)) for s, r in zip(scores[0], rows[0]) if r >= 0]
