"""Search over a run's documents: exact substring counts and locations (suffix arrays),
full-text BM25 (tantivy), dense retrieval (FAISS), and tracing a text back to the corpus.

::

    from corpusforge import search

    search.index("out/web", kinds=("exact", "bm25", "dense"))
    search.count("out/web", "部長はうなぎです")          # occurrences
    search.search("out/web", "うなぎ 定食", kind="bm25", k=10)
    search.trace("out/web", answer_text, min_chars=20)

Everything is in docs/search.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from corpusforge.executors import Executor
from corpusforge.search.build import build_index
from corpusforge.search.layout import KINDS
from corpusforge.search.query import Corpus, Hit, NotIndexed, Occurrence
from corpusforge.search.trace import Span
from corpusforge.search.trace import trace as _trace

_open: dict[str, Corpus] = {}


def corpus(out: str) -> Corpus:
    """The indexes of ``out``, opened once per process."""
    if out not in _open:
        _open[out] = Corpus(out)
    return _open[out]


def index(out: str, kinds: Sequence[str] = KINDS, executor: Executor | None = None,
          model: str | None = None) -> list[dict]:
    """Build the indexes of the run in ``out`` (shards already built are skipped)."""
    _open.pop(out, None)
    return build_index(out, kinds, executor, model)


def search(out: str, query: str, kind: str = "bm25", k: int = 10, lang: str | None = None) -> list[Hit]:
    return corpus(out).search(query, kind, k, lang)


def count(out: str, text: str) -> int:
    return corpus(out).count(text)


def trace(out: str, text: str, min_chars: int = 20) -> list[Span]:
    return _trace(corpus(out), text, min_chars)


__all__ = ["Corpus", "Hit", "KINDS", "NotIndexed", "Occurrence", "Span", "corpus", "count", "index",
           "search", "trace"]
