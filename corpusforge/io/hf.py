"""Hugging Face ``datasets`` reader: a streaming dataset split across work units.

``load_dataset(..., streaming=True)`` works the same on hub names and on local
files (``path: json`` with ``data_files``); tests use local files only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from corpusforge.config import BatchConfig, HFInput
from corpusforge.errors import ErrorRecord
from corpusforge.io.fields import records_to_batch
from corpusforge.io.units import WorkUnit


def plan(cfg: HFInput, input_index: int) -> list[WorkUnit]:
    name = f"{cfg.path}/{cfg.config_name or 'default'}/{cfg.split}"
    return [WorkUnit(0, input_index, "", name, i, cfg.num_shards) for i in range(cfg.num_shards)]


def open_stream(cfg: HFInput, shard: int, num_shards: int):
    """The shard's part of the stream (whole files when they divide evenly, else every n-th row)."""
    from datasets import load_dataset
    from datasets.distributed import split_dataset_by_node

    ds = load_dataset(cfg.path, cfg.config_name, data_files=cfg.data_files, split=cfg.split,
                      streaming=True)
    return split_dataset_by_node(ds, rank=shard, world_size=num_shards) if num_shards > 1 else ds


def read(unit: WorkUnit, cfg: HFInput, source: str, batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    """Position = index of the row within the unit's shard of the stream."""
    pos = 0
    rows: list[dict] = []
    try:
        for row in open_stream(cfg, unit.start, unit.end).iter(batch_size=batch.max_docs):
            # iter(batch_size) gives columns; turn them into records for the shared mapping
            n = len(next(iter(row.values()))) if row else 0
            rows = [{k: v[i] for k, v in row.items()} for i in range(n)]
            positions = list(range(pos, pos + n))
            pos += n
            yield from records_to_batch(rows, positions, cfg, source, unit.name, cfg.max_doc_bytes)
    except Exception as e:  # noqa: BLE001 - a broken stream ends the unit with an error record
        yield ErrorRecord.from_exception("read", e, file=unit.name, position=pos)
