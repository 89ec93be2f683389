"""A persistent dedup index: the keys (LSH band keys, text and URL hashes) and ids of
every document kept by earlier runs, so that a nightly run dedups new shards against
all of them.

Layout (a folder or a bucket prefix: any path the run can write)::

    index.json              parameters (must match the run's) and the list of segments
    <segment>/keys-NNNNN.npy    (rows, n) uint64: one row per key kind, as in a run
    <segment>/valid-NNNNN.npy   (rows, n) bool: which keys exist (no URL, no shingle)
    <segment>/ids-NNNNN.parquet the documents' ids
    <segment>/grouped-NNNNN.npy, directory-NNNNN.npy   the valid keys bucketed by their
                                leading bits (dedup/grouped.py), which a run's group tasks read
                                by hash range (a segment written without them is read whole)

    <segment>/segment.json      the segment's parts and the output folder of its run

A segment is written by one run, file by file, and becomes part of the index only when
``index.json`` (rewritten atomically) lists it, which happens once the whole run has
succeeded: an interrupted or failed run leaves the index as it was. A segment belongs to
the output folder its run wrote; a new run into that folder (``--overwrite``) first drops
it, so a run never dedups against its own earlier documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from corpusforge.io.atomic import read_json, write_bytes
from corpusforge.io.layout import join
from corpusforge.io.storage import filesystem


class IndexMismatchError(ValueError):
    """The index was built with other dedup parameters: its keys cannot be compared."""


@dataclass(frozen=True)
class IndexPart:
    keys: str
    valid: str
    ids: str
    rows: int
    #: the keys by hash range (:mod:`corpusforge.dedup.grouped`); None in a segment written
    #: before they existed
    grouped: str | None = None
    directory: str | None = None


class DedupIndex:
    def __init__(self, path: str) -> None:
        self.path = str(path).rstrip("/")
        self.meta_path = join(self.path, "index.json")

    def meta(self) -> dict | None:
        return read_json(self.meta_path)

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
        d = join(self.path, segment)
        return IndexPart(join(d, f"keys-{i:05d}.npy"), join(d, f"valid-{i:05d}.npy"),
                         join(d, f"ids-{i:05d}.parquet"), 0, join(d, f"grouped-{i:05d}.npy"),
                         join(d, f"directory-{i:05d}.npy"))

    def _folders(self) -> list[str]:
        """The segment folders present, listed in ``index.json`` or not (one listing)."""
        fs, root = filesystem(self.path)
        if not fs.exists(root):
            return []
        names = [i["name"].rstrip("/").rpartition("/")[2] for i in fs.ls(root, detail=True)
                 if i["type"] == "directory"]
        return sorted(n for n in names if n.startswith("seg-"))

    def new_segment_name(self, output: str) -> str:
        """A name no listed or pending segment has: ``seg-<n>-<output folder name>``."""
        taken = self._folders() + self.segment_names()
        numbers = [int(n.split("-")[1]) for n in taken if n.split("-")[1].isdigit()]
        return f"seg-{max(numbers, default=-1) + 1:05d}-{output.rstrip('/').rpartition('/')[2]}"

    def write_pending(self, name: str, parts: list[IndexPart], params: dict, output: str) -> None:
        """Record a fully written segment, not yet listed (see :meth:`commit`)."""
        body = {"name": name, "parts": [p.__dict__ for p in parts if p.rows], "params": params,
                "output": output}
        write_bytes(join(self.path, name, "segment.json"), json.dumps(body, indent=1).encode())

    def pending(self, output: str) -> list[str]:
        """Segments written by a run into ``output`` and not listed yet."""
        listed = set(self.segment_names())
        out = []
        for name in self._folders():
            body = read_json(join(self.path, name, "segment.json"))
            if body is not None and body["output"] == output and body["name"] not in listed:
                out.append(body["name"])
        return out

    def commit(self, output: str) -> None:
        """List the pending segments of the run into ``output`` (idempotent)."""
        for name in self.pending(output):
            body = read_json(join(self.path, name, "segment.json"))
            self.add_segment(name, [IndexPart(**p) for p in body["parts"]], body["params"],
                             output)

    def add_segment(self, name: str, parts: list[IndexPart], params: dict, output: str) -> None:
        """List a fully written segment in ``index.json`` (idempotent)."""
        meta = self.meta() or {"params": params, "segments": []}
        if name in [s["name"] for s in meta["segments"]]:
            return
        meta["segments"].append({"name": name, "parts": [p.__dict__ for p in parts if p.rows],
                                 "output": output})
        write_bytes(self.meta_path, json.dumps(meta, indent=1).encode())

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
                write_bytes(self.meta_path, json.dumps(meta, indent=1).encode())
        dropped += self.pending(output)
        fs, root = filesystem(self.path)
        for name in dropped:
            folder = join(root, name)
            if fs.exists(folder):
                fs.rm(folder, recursive=True)
        return dropped
