"""A persistent dedup index: the keys (LSH band keys, text and URL hashes) and ids of
every document kept by earlier runs, so that a nightly run dedups new shards against
all of them.

Layout (a local folder)::

    index.json              parameters (must match the run's) and the list of segments
    <segment>/keys-NNNNN.npy    (rows, n) uint64: one row per key kind, as in a run
    <segment>/valid-NNNNN.npy   (rows, n) bool: which keys exist (no URL, no shingle)
    <segment>/ids-NNNNN.parquet the documents' ids

A segment is added by one run, file by file, and becomes part of the index only when
``index.json`` (rewritten atomically) lists it, so an interrupted run leaves the index
as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from corpusforge.io.atomic import write_bytes


class IndexMismatchError(ValueError):
    """The index was built with other dedup parameters: its keys cannot be compared."""


@dataclass(frozen=True)
class IndexPart:
    keys: str
    valid: str
    ids: str
    rows: int


class DedupIndex:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.meta_path = self.path / "index.json"

    def meta(self) -> dict | None:
        if not self.meta_path.exists():
            return None
        return json.loads(self.meta_path.read_text())

    def check(self, params: dict) -> None:
        meta = self.meta()
        if meta is not None and meta["params"] != params:
            raise IndexMismatchError(
                f"dedup index {self.path} was built with {meta['params']}, this run uses {params}; "
                "use a new index folder for new parameters")

    def parts(self) -> list[IndexPart]:
        meta = self.meta()
        if meta is None:
            return []
        return [IndexPart(**p) for seg in meta["segments"] for p in seg["parts"]]

    def segment_names(self) -> list[str]:
        meta = self.meta()
        return [] if meta is None else [s["name"] for s in meta["segments"]]

    def part_paths(self, segment: str, i: int) -> IndexPart:
        d = self.path / segment
        return IndexPart(str(d / f"keys-{i:05d}.npy"), str(d / f"valid-{i:05d}.npy"),
                         str(d / f"ids-{i:05d}.parquet"), 0)

    def add_segment(self, name: str, parts: list[IndexPart], params: dict) -> None:
        """List a fully written segment in ``index.json`` (idempotent)."""
        meta = self.meta() or {"params": params, "segments": []}
        if name in [s["name"] for s in meta["segments"]]:
            return
        meta["segments"].append({"name": name, "parts": [p.__dict__ for p in parts if p.rows]})
        write_bytes(str(self.meta_path), json.dumps(meta, indent=1).encode())
