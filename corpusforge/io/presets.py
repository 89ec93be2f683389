"""mC4 / C4, the Pile and The Stack: their input models preset a mapping, the generic readers read."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from corpusforge.errors import ErrorRecord
from corpusforge.io import hf, jsonl, parquet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.units import WorkUnit
from corpusforge.io.web_inputs import MC4Input, PileInput, StackInput

_GENERIC = {"jsonl": jsonl, "parquet": parquet, "hf": hf}


def plan(cfg: MC4Input | PileInput | StackInput, input_index: int) -> list[WorkUnit]:
    inner = cfg.delegate()
    return _GENERIC[inner.type].plan(inner, input_index)


def read(unit: WorkUnit, cfg: MC4Input | PileInput | StackInput, source: str,
         batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    inner = cfg.delegate()
    return _GENERIC[inner.type].read(unit, inner, source, batch)
