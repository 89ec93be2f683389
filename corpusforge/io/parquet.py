"""Parquet reader: row groups packed into work units, read batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
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


def plan(cfg: ParquetInput, input_index: int) -> list[WorkUnit]:
    """Units of consecutive row groups, about ``unit_bytes`` each; a broken footer is one unit."""
    units: list[WorkUnit] = []
    for path, name in expand(cfg.path):
        try:
            with open_binary(path, decompress=False) as f:
                meta = pq.ParquetFile(f).metadata
        except Exception:  # noqa: BLE001 - the reader reports it as an error record
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
    """Rows of the unit's row groups; position = row index in the file."""
    try:
        f = open_binary(unit.path, decompress=False)
        pf = pq.ParquetFile(f)
    except Exception as e:  # noqa: BLE001
        yield ErrorRecord.from_exception("read", e, file=unit.name, position=0)
        return
    with f:
        meta = pf.metadata
        end = meta.num_row_groups if unit.end < 0 else unit.end
        groups = list(range(unit.start, end))
        if not groups:
            return
        first_row = sum(meta.row_group(i).num_rows for i in range(unit.start))
        wanted = [c for c in {_root(k) for k in (cfg.text, cfg.id, cfg.url, *cfg.metadata) if k}
                  if c in pf.schema_arrow.names]
        pos = first_row
        try:
            for rb in pf.iter_batches(batch_size=batch.max_docs, row_groups=groups, columns=wanted,
                                      use_threads=False):
                table = pa.Table.from_batches([rb])
                positions = pa.array(np.arange(pos, pos + table.num_rows, dtype=np.int64))
                pos += table.num_rows
                yield from split_table(table, cfg, source, unit.name, positions, cfg.max_doc_bytes)
        except Exception as e:  # noqa: BLE001 - a corrupt page ends the unit with an error record
            remaining = first_row + sum(meta.row_group(i).num_rows for i in groups) - pos
            rec = ErrorRecord.from_exception("read", e, file=unit.name, position=pos)
            rec.n_docs = max(1, remaining)
            yield rec


def _root(key: str) -> str:
    return key.split(".", 1)[0]


register_reader("parquet", ParquetInput, plan, read)
