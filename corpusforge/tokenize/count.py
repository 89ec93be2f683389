"""Token counting: totals per source and language (Arrow group-bys) and token-id histograms.

Both are mergeable, so workers count their own files and the results are summed:
group-by totals are concatenated and grouped again, histograms are added.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.executors import LocalExecutor
from corpusforge.io import storage
from corpusforge.schema import LANG, N_TOKENS, SOURCE, TEXT, TOKEN_IDS
from corpusforge.tokenize.corpus import corpus_files, read_file, without_copies
from corpusforge.tokenize.loader import TokenizerSpec, load_tokenizer

DEFAULT_KEYS = (SOURCE, LANG)
_SUMS = ("docs", "tokens", "chars", "bytes")


def token_totals(table: pa.Table, by: Sequence[str] = DEFAULT_KEYS, tokens: str | None = N_TOKENS) -> pa.Table:
    """Documents, tokens, characters and UTF-8 bytes per group.

    Group keys missing from the table become nulls, so corpora without a ``lang``
    column still count per source. What is not known is null, not 0: tokens when
    ``tokens`` is None or not a column, characters and bytes without a text column
    (Megatron token ids).
    """
    n = table.num_rows
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    for key in by:
        cols[key] = table.column(key).cast(pa.string()) if key in table.column_names else pa.nulls(n, pa.string())
    cols["docs"] = pa.repeat(pa.scalar(1, pa.int64()), n)
    known = tokens is not None and tokens in table.column_names
    cols["tokens"] = table.column(tokens).cast(pa.int64()) if known else pa.nulls(n, pa.int64())
    if TEXT in table.column_names:
        text = pc.fill_null(table.column(TEXT), "")
        cols["chars"] = pc.utf8_length(text).cast(pa.int64())
        cols["bytes"] = pc.binary_length(text).cast(pa.int64())
    else:
        cols["chars"] = cols["bytes"] = pa.nulls(n, pa.int64())
    return _group(pa.table(cols), list(by))


def merge_totals(parts: Iterable[pa.Table], by: Sequence[str] = DEFAULT_KEYS) -> pa.Table:
    """Sum per-worker totals into one table, sorted by the group keys."""
    tables = [t for t in parts if t.num_rows]
    if not tables:
        return pa.table({**{k: pa.array([], pa.string()) for k in by}, **{s: pa.array([], pa.int64()) for s in _SUMS}})
    return _group(pa.concat_tables(tables), list(by))


def _group(table: pa.Table, by: list[str]) -> pa.Table:
    out = table.group_by(by, use_threads=False).aggregate([(s, "sum") for s in _SUMS])
    out = out.rename_columns([c.removesuffix("_sum") for c in out.column_names])
    return out.select([*by, *_SUMS]).sort_by([(k, "ascending") for k in by])


@dataclass
class TokenHistogram:
    """How often each token id occurs: ``np.bincount`` over flattened ids, mergeable by ``+``."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def of(cls, ids: np.ndarray | pa.Array, vocab_size: int = 0) -> TokenHistogram:
        if isinstance(ids, pa.ChunkedArray | pa.Array):
            ids = ids.to_numpy(zero_copy_only=False)
        return cls(np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size).astype(np.int64))

    def __add__(self, other: TokenHistogram) -> TokenHistogram:
        a, b = self.counts, other.counts
        if len(a) < len(b):
            a, b = b, a
        out = a.copy()
        out[: len(b)] += b
        return TokenHistogram(out)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def to_table(self, pieces: list[str] | None = None) -> pa.Table:
        ids = np.nonzero(self.counts)[0]
        cols = {"id": pa.array(ids.astype(np.uint32)), "count": pa.array(self.counts[ids])}
        if pieces is not None:
            cols["piece"] = pa.array([pieces[i] for i in ids], pa.string())
        return pa.table(cols)


@dataclass
class CountResult:
    totals: pa.Table
    histogram: TokenHistogram | None
    files: int
    errors: list[tuple[str, str]]
    #: files counted without tokens (no tokenizer and no ``n_tokens`` column): docs and chars only
    untokenized: list[str] = field(default_factory=list)
    #: names (relative to the corpus) of other copies of counted documents that were left out
    #: (a mix output's ``jsonl/<split>/``, ``megatron/<split>/``)
    copies: list[str] = field(default_factory=list)


def count_file(path: str, name: str, tokenizer: TokenizerSpec | None, by: Sequence[str],
               histogram: bool, threads: int = 0) -> CountResult:
    """Count one file: tokenize its text (or use its ``n_tokens`` column when no tokenizer is
    given, or when it has no text: Megatron ids are counted as they are)."""
    tok = load_tokenizer(tokenizer) if tokenizer is not None else None
    totals, hist, untokenized = [], TokenHistogram(), False
    try:
        for batch in read_file(path, name):
            if tok is not None and TEXT in batch.column_names:
                offsets, flat = tok.encode(pc.fill_null(batch.column(TEXT), "").to_pylist(), threads)
                batch = batch.append_column("__tokens", pa.array(np.diff(offsets)))
                totals.append(token_totals(batch, by, "__tokens"))
                if histogram:
                    hist = hist + TokenHistogram.of(flat, tok.vocab_size)
            elif N_TOKENS in batch.column_names:
                totals.append(token_totals(batch, by))
                if histogram and TOKEN_IDS in batch.column_names:
                    hist = hist + TokenHistogram.of(pc.list_flatten(batch.column(TOKEN_IDS)))
            else:
                # an untokenized corpus still has documents and characters worth knowing
                totals.append(token_totals(batch, by, None))
                untokenized = True
    except (OSError, ValueError, pa.ArrowException) as e:
        return CountResult(merge_totals([], by), None, 1, [(path, f"{type(e).__name__}: {e}")])
    return CountResult(merge_totals(totals, by), hist if histogram and hist.total else None, 1, [],
                       [path] if untokenized else [])


def _count_task(args: tuple) -> CountResult:
    return count_file(*args)


def count_corpus(path: str | list[str], tokenizer: str | TokenizerSpec | dict | None = None,
                 by: Sequence[str] = DEFAULT_KEYS, histogram: bool = False, workers: int = 1,
                 threads: int = 0, storage_options: storage.StorageOptions | None = None
                 ) -> CountResult:
    """Count a whole Parquet/JSONL/Megatron corpus, files spread over ``workers`` processes.

    A mix output's documents are counted once: from ``<split>/`` (Parquet), else from
    ``jsonl/<split>/``, else from ``megatron/<split>/``; the other copies are listed in
    :attr:`CountResult.copies`. ``storage_options`` (credentials, endpoint) apply to the
    corpus's bucket.
    """
    storage.register(path, storage_options)
    spec = TokenizerSpec.from_ref(tokenizer) if tokenizer is not None else None
    files, copies = without_copies(corpus_files(path, megatron=True))
    if not files:
        raise FileNotFoundError(f"no .parquet, .jsonl or Megatron .idx files under {path}")
    args = [(p, n, spec, tuple(by), histogram, threads) for p, n in files]
    # the project's one local pool (spawned workers: Arrow's threads do not survive a fork)
    with LocalExecutor(workers) as pool:
        results = pool.map(storage.with_storage(_count_task), args)
    hists = [r.histogram for r in results if r.histogram is not None]
    return CountResult(
        totals=merge_totals((r.totals for r in results), by),
        histogram=sum(hists[1:], hists[0]) if hists else None,
        files=len(files),
        errors=[e for r in results for e in r.errors],
        untokenized=[p for r in results for p in r.untokenized],
        copies=[name for _, name in copies],
    )
