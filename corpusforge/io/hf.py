"""Hugging Face ``datasets`` reader: a streaming dataset split across work units.

``load_dataset(..., streaming=True)`` works the same on hub names and on local
files (``path: json`` with ``data_files``); tests use local files only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpusforge.errors import ErrorRecord
from corpusforge.io import hf_json
from corpusforge.io.batching import BatchConfig
from corpusforge.io.fields import split_table
from corpusforge.io.reader import register_reader
from corpusforge.io.units import WorkUnit
from corpusforge.models import FieldMapping, Size


class HFInput(FieldMapping):
    """A Hugging Face ``datasets`` dataset, read with ``streaming=True``."""

    type: Literal["hf"]
    #: dataset name or builder (``json``, ``parquet``, ``allenai/c4`` ...)
    path: str
    config_name: str | None = None
    data_files: str | list[str] | dict[str, str | list[str]] | None = None
    split: str = "train"
    #: the stream is split into this many work units (``split_dataset_by_node``)
    num_shards: int = Field(1, ge=1)
    source: str | None = None
    max_doc_bytes: Size = 64 * 2**20


def plan(cfg: HFInput, input_index: int) -> list[WorkUnit]:
    """``num_shards`` units; a ``json`` input's data files, and a dataset given by a local path,
    must exist, and a hub dataset must be reachable (checked here, so that a missing one
    refuses the run before it starts, as for the JSONL reader)."""
    if cfg.path == "json" and cfg.data_files is not None:
        hf_json.data_files(cfg.data_files, cfg.split)
    if cfg.path.startswith(("/", ".", "~")) and not Path(cfg.path).expanduser().exists():
        # no hub dataset id starts so: a local dataset that is not there (any other name may
        # be a hub id, which is the loader's to find)
        raise ValueError(f"no dataset folder or file {cfg.path!r}")
    if "/" in cfg.path and not Path(cfg.path).expanduser().exists():
        # a hub dataset: reached now (the hub unreachable, offline without a cached copy, a
        # gated or missing dataset), so that the run stops before it starts rather than with
        # an error record per unit
        from datasets import load_dataset_builder

        load_dataset_builder(cfg.path, cfg.config_name, data_files=cfg.data_files)
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
    """Position = index of the row within the unit's shard of the stream.

    The stream is formatted as Arrow, so batches take the same columnar path as the Parquet
    reader (field mapping, missing text, oversized documents) with no Python per row.
    JSON-lines files of the ``json`` builder are read by the JSONL reader instead
    (``io/hf_json.py``), so that one bad line costs that line and not its file.
    """
    if cfg.path == "json" and cfg.data_files is not None:
        try:
            files = hf_json.data_files(cfg.data_files, cfg.split)
            lines = all(hf_json.is_json_lines(path) for path, _ in files)
        except Exception as e:  # noqa: BLE001 - a missing file or split ends the unit with an error record
            yield ErrorRecord.from_exception("read", e, file=unit.name, position=0)
            return
        if lines:
            yield from hf_json.read(unit, files, hf_json.jsonl_config(cfg, cfg.max_doc_bytes, cfg.source),
                                    source, batch)
            return
    pos = 0
    try:
        stream = open_stream(cfg, unit.start, unit.end).with_format("arrow")
        for table in stream.iter(batch_size=batch.max_docs):
            positions = pa.array(np.arange(pos, pos + table.num_rows, dtype=np.int64))
            pos += table.num_rows
            yield from split_table(table, cfg, source, unit.name, positions, cfg.max_doc_bytes)
    except Exception as e:  # noqa: BLE001 - a broken stream ends the unit with an error record
        yield ErrorRecord.from_exception("read", e, file=unit.name, position=pos)


register_reader("hf", HFInput, plan, read)
