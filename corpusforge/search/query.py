"""Querying a run's indexes: every built shard, searched in parallel threads, results merged."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from corpusforge.search.bm25 import BM25Index
from corpusforge.search.dense import DenseIndex
from corpusforge.search.encoders import load_encoder
from corpusforge.search.exact import ExactIndex
from corpusforge.search.layout import KEY, built_shards, model_dir, shard_dir
from corpusforge.search.snippet import term_window, window
from corpusforge.search.store import Store

#: occurrences a search for hits reads per shard (a count reads none: it is the range length)
LOCATE_LIMIT = 100_000


@dataclass
class Hit:
    rank: int
    score: float
    shard: str
    row: int
    id: str | None
    source: str | None
    lang: str | None
    url: str | None
    snippet: str
    #: ``[start, end)`` character spans of ``snippet`` to highlight
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Occurrence:
    """Where a string occurs: document (shard, row, id) and character offset in its text."""

    shard: str
    row: int
    id: str | None
    offset: int


class NotIndexed(LookupError):
    """The run has no index of the kind asked for."""


class Corpus:
    """The indexes of the run in ``out`` (a folder or a bucket URL)."""

    def __init__(self, out: str) -> None:
        self.out = out
        self._pool = ThreadPoolExecutor(max_workers=4)

    def keys(self, kind: str) -> list[str]:
        keys = built_shards(self.out, kind)
        if not keys:
            raise NotIndexed(f"no {kind} index under {self.out}: run `corpusforge index {self.out} --kinds {kind}`")
        return keys

    @cached_property
    def _stores(self) -> dict[str, Store]:
        return {}

    def store(self, key: str) -> Store:
        if not KEY.match(key):
            raise KeyError(key)
        if key not in self._stores:
            if key not in built_shards(self.out, "store"):
                raise KeyError(key)
            self._stores[key] = Store(shard_dir(self.out, key))
        return self._stores[key]

    @cached_property
    def _exact(self) -> dict[str, ExactIndex]:
        return {k: ExactIndex(self.store(k)) for k in self.keys("exact")}

    @cached_property
    def _bm25(self) -> dict[str, BM25Index]:
        return {k: BM25Index(self.store(k)) for k in self.keys("bm25")}

    @cached_property
    def _dense(self) -> dict[str, DenseIndex]:
        return {k: DenseIndex(self.store(k)) for k in self.keys("dense")}

    # exact ---------------------------------------------------------------------------------

    def count(self, text: str) -> int:
        """Occurrences of ``text`` in the corpus (overlapping ones included)."""
        q = text.encode("utf-8")
        return sum(self._pool.map(lambda ix: ix.count(q), self._exact.values()))

    def count_documents(self, text: str) -> tuple[int, int]:
        """``(occurrences, documents containing it)``."""
        q = text.encode("utf-8")

        def one(ix: ExactIndex) -> tuple[int, int]:
            docs, _ = ix.locate(q)
            return len(docs), len(np.unique(docs))

        parts = list(self._pool.map(one, self._exact.values()))
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    def locate(self, text: str, limit: int | None = None) -> list[Occurrence]:
        """Every occurrence of ``text`` (the first ``limit`` per shard), by shard, document and
        offset."""
        q = text.encode("utf-8")
        out: list[Occurrence] = []
        for key, ix in self._exact.items():
            docs, offsets = ix.locate(q, limit)
            ids = ix.store.meta["id"]
            for d, o in zip(docs.tolist(), offsets.tolist()):
                prefix = ix.store.doc_bytes(d)[:o]
                out.append(Occurrence(key, d, ids[d].as_py(), len(prefix.decode("utf-8"))))
        return out

    def occurs(self, text: str) -> bool:
        q = text.encode("utf-8")
        return any(ix.count(q) for ix in self._exact.values())

    def _exact_hits(self, query: str, k: int, lang: str | None) -> list[tuple[float, str, int, tuple[int, int] | None]]:
        q = query.encode("utf-8")
        found = []
        for key, ix in self._exact.items():
            docs, offsets = ix.locate(q, LOCATE_LIMIT)
            if not len(docs):
                continue
            rows, first, counts = np.unique(docs, return_index=True, return_counts=True)
            for row, f, c in zip(rows.tolist(), first.tolist(), counts.tolist()):
                found.append((float(c), key, row, (int(offsets[f]), len(q))))
        found.sort(key=lambda h: (-h[0], h[1], h[2]))
        return self._filtered(found, k, lang)

    # ranked ---------------------------------------------------------------------------------

    def _filtered(self, found: list, k: int, lang: str | None) -> list:
        if lang is None:
            return found[:k]
        return [h for h in found if self.store(h[1]).meta["lang"][h[2]].as_py() == lang][:k]

    def _bm25_hits(self, query: str, k: int, lang: str | None) -> list:
        per = self._pool.map(lambda item: [(s, item[0], r, None) for s, r in item[1].search(query, k, lang)],
                             self._bm25.items())
        found = sorted((h for hits in per for h in hits), key=lambda h: (-h[0], h[1], h[2]))
        return found[:k]

    def _dense_hits(self, query: str, k: int, lang: str | None) -> list:
        vector = load_encoder(model_dir(self.out)).encode([query])[0]
        wide = k if lang is None else 10 * k  # a language filter drops some neighbours
        per = self._pool.map(lambda item: [(s, item[0], r, None) for s, r in item[1].search(vector, wide)],
                             self._dense.items())
        found = sorted((h for hits in per for h in hits), key=lambda h: (-h[0], h[1], h[2]))
        return self._filtered(found, k, lang)

    def search(self, query: str, kind: str = "bm25", k: int = 10, lang: str | None = None) -> list[Hit]:
        """The best ``k`` documents for ``query``: ``exact`` (score: occurrences in the
        document), ``bm25`` or ``dense`` (cosine similarity)."""
        finders = {"exact": self._exact_hits, "bm25": self._bm25_hits, "dense": self._dense_hits}
        if kind not in finders:
            raise ValueError(f"unknown search kind {kind!r} (exact, bm25 or dense)")
        hits = []
        for rank, (score, key, row, match) in enumerate(finders[kind](query, k, lang), 1):
            store = self.store(key)
            text = store.doc_text(row)
            if match is not None:  # byte offset and length of the exact match
                raw = store.doc_bytes(row)
                start = len(raw[:match[0]].decode("utf-8"))
                snippet, marks = window(text, start, start + len(query))
            else:
                snippet, marks = term_window(text, query)
            hits.append(Hit(rank, score, key, row, **store.row(row), snippet=snippet, highlights=marks))
        return hits

    def document(self, key: str, row: int) -> dict:
        """A stored document: its columns and text (KeyError for no such shard or row)."""
        store = self.store(key)
        if not 0 <= row < store.docs:
            raise KeyError(row)
        return {**store.row(row), "shard": key, "row": row, "text": store.doc_text(row)}
