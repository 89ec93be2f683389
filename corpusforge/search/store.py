"""A shard's documents as the indexes see them: all texts in one byte string, memory-mapped.

``text.bin`` holds each document's UTF-8 text followed by the byte 0xFF, which UTF-8 never
contains, so no match of a query (valid UTF-8) crosses from one document into the next.
``starts.npy`` is the byte offset of each document (and, last, the length of ``text.bin``);
``meta.parquet`` the columns a hit shows (id, source, lang, url) in the same order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusforge.io.atomic import AtomicFile, atomic_write
from corpusforge.io.layout import join
from corpusforge.search.layout import local_path

SEPARATOR = 0xFF
META_COLUMNS = ("id", "source", "lang", "url")


def _column(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return pc.cast(table[name], pa.string()).combine_chunks()
    return pa.nulls(table.num_rows, pa.string())


def write_store(folder: str, table: pa.Table) -> dict:
    """Write the store files of ``table``'s documents to ``folder``; returns their sizes."""
    texts = _column(table, "text").fill_null("")
    offsets = [0]
    out = AtomicFile(join(folder, "text.bin"))
    try:
        for value in texts:
            data = value.as_py().encode("utf-8")
            out.file.write(data)
            out.file.write(bytes([SEPARATOR]))
            offsets.append(offsets[-1] + len(data) + 1)
    except BaseException:
        out.discard()
        raise
    out.commit()
    with atomic_write(join(folder, "starts.npy")) as f:
        np.save(f, np.asarray(offsets, dtype=np.int64))
    meta = pa.table({name: _column(table, name) for name in META_COLUMNS})
    with atomic_write(join(folder, "meta.parquet")) as f:
        pq.write_table(meta, f)
    return {"docs": table.num_rows, "text_bytes": offsets[-1] - table.num_rows}


@dataclass
class Store:
    """A shard's stored documents, read from local files (a remote index is copied first)."""

    folder: str

    @cached_property
    def text(self) -> np.ndarray:
        path = local_path(join(self.folder, "text.bin"))
        if os.path.getsize(path) == 0:  # a shard without documents (numpy maps no empty file)
            return np.zeros(0, dtype=np.uint8)
        return np.memmap(path, dtype=np.uint8, mode="r")

    @cached_property
    def starts(self) -> np.ndarray:
        return np.load(local_path(join(self.folder, "starts.npy")))

    @cached_property
    def meta(self) -> pa.Table:
        return pq.read_table(local_path(join(self.folder, "meta.parquet")))

    @property
    def docs(self) -> int:
        return len(self.starts) - 1

    def doc_bytes(self, i: int) -> bytes:
        return bytes(self.text[self.starts[i]:self.starts[i + 1] - 1])

    def doc_text(self, i: int) -> str:
        return self.doc_bytes(i).decode("utf-8")

    def row(self, i: int) -> dict:
        return {name: self.meta[name][i].as_py() for name in META_COLUMNS}

    def documents_of(self, positions: np.ndarray) -> np.ndarray:
        """The document holding each byte position of ``text.bin``."""
        return np.searchsorted(self.starts, positions, side="right") - 1
