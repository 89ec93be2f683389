"""A persistent dedup index: the keys (LSH band keys, text and URL hashes) and ids of
every document kept by earlier runs, so that a nightly run dedups new shards against
all of them.

Layout (a local folder)::

    index.json              parameters (must match the run's) and the list of segments
    <segment>/keys-NNNNN.npy    (rows, n) uint64: one row per key kind, as in a run
    <segment>/valid-NNNNN.npy   (rows, n) bool: which keys exist (no URL, no shingle)
    <segment>/ids-NNNNN.parquet the documents' ids

    <segment>/segment.json      the segment's parts and the output folder of its run

A segment is written by one run, file by file, and becomes part of the index only when
``index.json`` (rewritten atomically) lists it, which happens once the whole run has
succeeded: an interrupted or failed run leaves the index as it was. A segment belongs to
the output folder its run wrote; a new run into that folder (``--overwrite``) first drops
it, so a run never dedups against its own earlier documents.
"""

from __future__ import annotations

import json
import shutil
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

    def new_segment_name(self, output: str) -> str:
        """A name no listed or pending segment has: ``seg-<n>-<output folder name>``."""
        taken = [p.name for p in self.path.glob("seg-*") if p.is_dir()] + self.segment_names()
        numbers = [int(n.split("-")[1]) for n in taken if n.split("-")[1].isdigit()]
        return f"seg-{max(numbers, default=-1) + 1:05d}-{Path(output.rstrip('/')).name}"

    def write_pending(self, name: str, parts: list[IndexPart], params: dict, output: str) -> None:
        """Record a fully written segment, not yet listed (see :meth:`commit`)."""
        body = {"name": name, "parts": [p.__dict__ for p in parts if p.rows], "params": params,
                "output": output}
        write_bytes(str(self.path / name / "segment.json"), json.dumps(body, indent=1).encode())

    def pending(self, output: str) -> list[str]:
        """Segments written by a run into ``output`` and not listed yet."""
        listed = set(self.segment_names())
        out = []
        for seg in sorted(self.path.glob("seg-*/segment.json")):
            body = json.loads(seg.read_text())
            if body["output"] == output and body["name"] not in listed:
                out.append(body["name"])
        return out

    def commit(self, output: str) -> None:
        """List the pending segments of the run into ``output`` (idempotent)."""
        for name in self.pending(output):
            body = json.loads((self.path / name / "segment.json").read_text())
            self.add_segment(name, [IndexPart(**p) for p in body["parts"]], body["params"],
                             output)

    def add_segment(self, name: str, parts: list[IndexPart], params: dict, output: str) -> None:
        """List a fully written segment in ``index.json`` (idempotent)."""
        meta = self.meta() or {"params": params, "segments": []}
        if name in [s["name"] for s in meta["segments"]]:
            return
        meta["segments"].append({"name": name, "parts": [p.__dict__ for p in parts if p.rows],
                                 "output": output})
        write_bytes(str(self.meta_path), json.dumps(meta, indent=1).encode())

    def drop_output(self, output: str) -> list[str]:
        """Remove every segment (listed or pending) of an earlier run into ``output``: that
        run's documents are being replaced. Returns the names dropped."""
        meta = self.meta()
        dropped = []
        if meta is not None:
            keep = [s for s in meta["segments"] if s.get("output") != output]
            dropped = [s["name"] for s in meta["segments"] if s.get("output") == output]
            if dropped:
                meta["segments"] = keep
                write_bytes(str(self.meta_path), json.dumps(meta, indent=1).encode())
        dropped += self.pending(output)
        for name in dropped:
            shutil.rmtree(self.path / name, ignore_errors=True)
        return dropped
