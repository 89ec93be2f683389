"""Full-text BM25 through tantivy, a search engine embedded in the process: one index per
shard, searched in turn and merged by score at query time.

Documents are analysed by :func:`corpusforge.search.analysis.terms` (character bigrams for
Japanese, words for English and code) and handed to tantivy as space-separated terms, which
its ``whitespace`` tokenizer takes as they are. Each shard scores with its own term
statistics; shards of a run are alike in size and mix, so their scores compare.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from corpusforge.io.layout import join
from corpusforge.search.analysis import is_cjk, terms
from corpusforge.search.layout import local_path, upload_dir
from corpusforge.search.store import Store

#: tantivy's writer memory per shard (bounds the build's memory)
WRITER_HEAP = 64 * 2**20


def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
    builder.add_text_field("lang", stored=False, tokenizer_name="raw")
    builder.add_unsigned_field("row", stored=True)
    return builder.build()


def build_bm25(folder: str) -> dict:
    """Index the store in ``folder`` into ``folder/bm25/``."""
    import tantivy

    store = Store(folder)
    langs = store.meta["lang"].to_pylist()
    with tempfile.TemporaryDirectory() as tmp:
        index = tantivy.Index(_schema(), path=tmp)
        writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
        for i in range(store.docs):
            writer.add_document(tantivy.Document(body=" ".join(terms(store.doc_text(i))),
                                                 lang=langs[i] or "", row=i))
        writer.commit()
        writer.wait_merging_threads()
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        target = join(folder, "bm25")
        if "://" not in folder:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(tmp, target)
        else:
            upload_dir(tmp, target)
    return {"bm25_bytes": size}


def _term(schema, word: str):
    """The query of one term; a lone kana or kanji (a one-character query) is in the index
    only inside bigrams, so it matches every bigram that starts or ends with it."""
    import tantivy

    if len(word) == 1 and is_cjk(word):
        return tantivy.Query.regex_query(schema, "body", f"{re.escape(word)}.|.{re.escape(word)}")
    return tantivy.Query.term_query(schema, "body", word)


@dataclass
class BM25Index:
    store: Store

    @cached_property
    def index(self):
        import tantivy

        return tantivy.Index.open(local_path(join(self.store.folder, "bm25")))

    def search(self, query: str, k: int, lang: str | None = None) -> list[tuple[float, int]]:
        """``(score, row)`` of the best ``k`` documents for ``query``."""
        import tantivy

        words = sorted(set(terms(query)))
        if not words:
            return []
        schema = self.index.schema
        should = tantivy.Query.boolean_query([(tantivy.Occur.Should, _term(schema, w)) for w in words])
        query_ = should if lang is None else tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, should), (tantivy.Occur.Must, tantivy.Query.term_query(schema, "lang", lang))])
        searcher = self.index.searcher()
        result = searcher.search(query_, limit=k)
        return [(float(score), int(searcher.doc(address)["row"][0])) for score, address in result.hits]
