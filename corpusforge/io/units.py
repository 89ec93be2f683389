"""Work units: the pieces a run is cut into. Each is processed by one task, start to end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkUnit:
    #: position in the run's plan; names the unit's output files
    index: int
    #: which of the pipeline's inputs it reads
    input_index: int
    #: path or URL of the file ("" for generated or streamed inputs)
    path: str = ""
    #: the file's stable name in ids and error records
    name: str = ""
    #: JSONL: byte range [start, end) of line starts; Parquet: row groups [start, end);
    #: datasets / demo: shard ``start`` of ``end``
    start: int = 0
    end: int = -1

    @property
    def label(self) -> str:
        return f"unit-{self.index:05d}"
