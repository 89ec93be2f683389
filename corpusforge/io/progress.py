"""Progress inside a running map unit: documents and text bytes read so far, one small file
per unit under ``_state/progress/`` that the task rewrites as batches go by and the driver
polls.

A file in the output folder, not a queue to the driver: it works the same for the local pool
and for Ray tasks on other machines (every node reaches the output's storage), needs no
connection back to the driver, and a task that dies leaves nothing to clean but a file the
next attempt overwrites. The folder is removed when the map phase ends.
"""

from __future__ import annotations

import contextlib
import time

from corpusforge.io.atomic import read_json, write_json
from corpusforge.io.layout import join
from corpusforge.io.storage import filesystem

#: seconds between two writes of a unit's file (the first batch is always written) and two
#: looks at the folder: on a local disk, and in a bucket (a request each: fewer)
LOCAL_SECONDS, BUCKET_SECONDS = 0.5, 5.0


def interval(folder: str) -> float:
    return BUCKET_SECONDS if "://" in folder else LOCAL_SECONDS


class UnitProgress:
    """What one unit task has read so far, written to ``<folder>/<label>.json`` (throttled)."""

    def __init__(self, folder: str, label: str) -> None:
        self.path = join(folder, f"{label}.json") if folder else ""
        self.docs = self.bytes = 0
        self._written: float | None = None
        self._every = interval(folder)

    def add(self, docs: int, nbytes: int) -> None:
        self.docs += docs
        self.bytes += nbytes
        now = time.monotonic()
        if self.path and (self._written is None or now - self._written >= self._every):
            self._written = now
            # a progress file that cannot be written costs the view, never the unit
            with contextlib.suppress(OSError):
                write_json(self.path, {"docs": self.docs, "bytes": self.bytes})


def read_progress(folder: str) -> dict[str, tuple[int, int]]:
    """``{unit label: (docs, bytes)}`` of the units that reported progress."""
    fs, root = filesystem(folder)
    try:
        names = [p.rstrip("/").rpartition("/")[2] for p in fs.ls(root, detail=False)]
    except FileNotFoundError:
        return {}
    out = {}
    for name in names:
        if not name.endswith(".json"):
            continue  # a file being written
        try:
            value = read_json(join(folder, name))
        except (OSError, ValueError):
            continue
        if isinstance(value, dict) and isinstance(value.get("docs"), int) and isinstance(value.get("bytes"), int):
            out[name[: -len(".json")]] = (value["docs"], value["bytes"])
    return out


def remove_progress(folder: str) -> None:
    fs, root = filesystem(folder)
    if fs.exists(root):
        fs.rm(root, recursive=True)
