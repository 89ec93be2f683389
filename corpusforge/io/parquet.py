"""Parquet reader: row groups packed into work units, read batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpusforge.errors import ErrorRecord
from corpusforge.io.batching import BatchConfig
from corpusforge.io.fields import split_table
from corpusforge.io.files import FileInput, expand, open_binary
from corpusforge.io.reader import register_reader
from corpusforge.io.units import WorkUnit
from corpusforge.models import Size


class ParquetInput(FileInput):
    type: Literal["parquet"]
    #: row groups are packed into work units of about this many (uncompressed) bytes
    unit_bytes: Size = 256 * 2**20


def _footer(path: str) -> pq.FileMetaData | None:
    try:
        with open_binary(path, decompress=False) as f:
            return pq.ParquetFile(f).metadata
    except Exception:  # noqa: BLE001 - the reader reports it as an error record
        return None


def plan(cfg: ParquetInput, input_index: int) -> list[WorkUnit]:
    """Units of consecutive row groups, about ``unit_bytes`` each; a broken footer is one unit."""
    units: list[WorkUnit] = []
    files = expand(cfg.path)
    # every file's footer is a request or two in a bucket: asked for in parallel
    with ThreadPoolExecutor(max_workers=16) as pool:
        footers = list(pool.map(_footer, [path for path, _ in files]))
    for (path, name), meta in zip(files, footers):
        if meta is None:
            units.append(WorkUnit(0, input_index, path, name, 0, -1))
            continue
        start, acc = 0, 0
        for rg in range(meta.num_row_groups):
            acc += meta.row_group(rg).total_byte_size
            if acc >= cfg.unit_bytes:
                units.append(WorkUnit(0, input_index, path, name, start, rg + 1))
                start, acc = rg + 1, 0
        if start < meta.num_row_groups or meta.num_row_groups == 0:
            units.append(WorkUnit(0, input_index, path, name, start, meta.num_row_groups))
    return units


def read(unit: WorkUnit, cfg: ParquetInput, source: str, batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    """Rows of the unit's row groups; position = row index in the file.

    Each row group is read on its own, so a corrupt one costs its own rows only; inside
    one, the rows before a corrupt page are kept (pages decode in order, so pyarrow cannot
    skip past one): the rest of the row group is one error record counting its rows."""
    try:
        f = open_binary(unit.path, decompress=False)
        # pages written with a CRC are checked: a corrupt one raises instead of decoding to
        # garbage (which the UTF-8 check would catch only for text)
        pf = pq.ParquetFile(f, page_checksum_verification=True)
    except Exception as e:  # noqa: BLE001
        yield ErrorRecord.from_exception("read", e, file=unit.name, position=0)
        return
    with f:
        meta = pf.metadata
        end = meta.num_row_groups if unit.end < 0 else unit.end
        wanted = [c for c in {_root(k) for k in (cfg.text, cfg.id, cfg.url, *cfg.metadata) if k}
                  if c in pf.schema_arrow.names]
        first = sum(meta.row_group(i).num_rows for i in range(unit.start))
        for rg in range(unit.start, end):
            n = meta.row_group(rg).num_rows
            yield from _row_group(pf, rg, first, n, wanted, cfg, source, unit.name, batch.max_docs)
            first += n


def _row_group(pf: pq.ParquetFile, rg: int, first: int, n: int, columns: list[str], cfg: ParquetInput,
               source: str, name: str, batch_rows: int) -> Iterator[pa.Table | ErrorRecord]:
    """One row group's batches; on a decoding error, read again in small batches to keep
    the rows before the bad page, then one error record for the rows after it."""
    done = 0  # rows of the row group yielded so far
    failure: Exception | None = None
    # smaller batches after a failure: each read starts over at the row group's start (pages
    # decode in order), skipping the rows already yielded, and fails one batch later
    for size in sorted({batch_rows, min(batch_rows, _SALVAGE_ROWS), 1}, reverse=True):
        failure = None
        pos = 0
        try:
            for rb in pf.iter_batches(batch_size=size, row_groups=[rg], columns=columns, use_threads=False):
                if pos + rb.num_rows > done:
                    table = pa.Table.from_batches([rb]).slice(max(0, done - pos))
                    positions = pa.array(np.arange(first + done, first + done + table.num_rows, dtype=np.int64))
                    done += table.num_rows
                    yield from split_table(table, cfg, source, name, positions, cfg.max_doc_bytes)
                pos += rb.num_rows
            return
        except Exception as e:  # noqa: BLE001 - a corrupt page: narrowed down, then recorded
            failure = e
    rec = ErrorRecord.from_exception("read", failure, file=name, position=first + done,
                                     snippet=f"row group {rg}: rows {first + done} to {first + n - 1} "
                                             "could not be decoded")
    rec.n_docs = max(1, n - done)
    yield rec


#: the batch size of the second read of a row group that failed (the third reads row by row)
_SALVAGE_ROWS = 64


def _root(key: str) -> str:
    return key.split(".", 1)[0]


register_reader("parquet", ParquetInput, plan, read)
