"""Batches bounded by documents and text bytes, also when taken in another order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpusforge.io.batching import BatchConfig, bounded, bounded_take

from conftest import JA


def _table(n: int) -> pa.Table:
    texts = [(JA if i % 2 else "The quick brown fox. ") * (1 + i % 7) for i in range(n)]
    return pa.table({"id": [f"d{i}" for i in range(n)], "text": texts})


def test_a_reordered_table_comes_in_bounded_batches_with_the_rows_of_a_whole_take():
    table = _table(500)
    order = pa.array(np.random.default_rng(0).permutation(500))
    cfg = BatchConfig(max_docs=64, max_bytes=4000)
    batches = list(bounded_take(table, order, cfg))
    assert pa.concat_tables(batches).equals(table.take(order))
    for b in batches:
        size = sum(len(t.encode()) for t in b.column("text").to_pylist())
        assert b.num_rows <= 64 and (size <= 4000 or b.num_rows == 1)
    # the same cuts as the slices of the reordered table
    assert [b.num_rows for b in batches] == [b.num_rows for b in bounded(table.take(order), cfg)]
    assert list(bounded_take(table, pa.array([], pa.int64()), cfg)) == []
