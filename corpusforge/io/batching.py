"""Bounding batches by document count and by text bytes: the ``batch:`` settings and the slicer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpusforge.models import Model, Size
from corpusforge.schema import TEXT


class BatchConfig(Model):
    """How big the batches that readers yield and steps see may get."""

    max_docs: int = Field(4096, ge=1)
    #: the filters work on a whole batch at once, with intermediates of ~30x its text at
    #: their peak (n-gram hashes: 16 bytes per word and size), so a worker's memory follows
    #: this bound; 4 MiB (~1,000 web documents) is as fast as larger batches
    max_bytes: Size = 4 * 2**20


def bounded(table: pa.Table, cfg: BatchConfig) -> Iterator[pa.Table]:
    """Zero-copy slices of at most ``max_docs`` rows and about ``max_bytes`` of text.

    A single document larger than ``max_bytes`` is a batch of its own.
    """
    if table.num_rows == 0:
        return
    sizes = pc.binary_length(table.column(TEXT)).to_numpy(zero_copy_only=False)
    if table.num_rows <= cfg.max_docs and int(sizes.sum()) <= cfg.max_bytes:
        yield table
        return
    for start, length in _cuts(sizes, cfg):
        yield table.slice(start, length)


def bounded_take(table: pa.Table, order: pa.Array, cfg: BatchConfig) -> Iterator[pa.Table]:
    """``table.take(order)`` in batches bounded as :func:`bounded`'s, made one at a time: a
    reordered copy of a large table costs one batch, not the table."""
    sizes = pc.fill_null(pc.binary_length(table.column(TEXT)), 0).take(order).to_numpy(zero_copy_only=False)
    for start, length in _cuts(sizes, cfg):
        yield table.take(order.slice(start, length))


def _cuts(sizes: np.ndarray, cfg: BatchConfig) -> Iterator[tuple[int, int]]:
    """``(start, length)`` of consecutive runs of rows within the budgets; always one row at least."""
    n = len(sizes)
    cum = np.cumsum(sizes, dtype=np.int64)
    start = 0
    while start < n:
        base = cum[start - 1] if start else 0
        # rows whose cumulative bytes stay within the budget; always at least one
        by_bytes = int(np.searchsorted(cum, base + cfg.max_bytes, side="right")) - start
        length = max(1, min(cfg.max_docs, by_bytes, n - start))
        yield start, length
        start += length
