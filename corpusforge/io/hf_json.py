"""The ``datasets`` ``json`` builder over JSON-lines files, read by the JSONL reader.

``datasets`` parses a JSON-lines file a block at a time and gives up on the whole file
when one line does not parse: one bad line loses every document of the file. The files of
an ``hf`` input with ``path: json`` and ``data_files`` are therefore read by the JSONL
reader, which makes the bad line one error record and reads on, and the stream is split
among work units the way ``split_dataset_by_node`` splits it: whole files when their
number is a multiple of the number of shards (file ``rank``, ``rank + n``, ...), else
every ``n``-th record. Documents keep the JSONL reader's provenance (data file and byte
offset), so an error record points at the line. A file that holds one JSON array rather
than lines is left to ``datasets`` (``hf.py``), which reads such files whole.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from corpusforge.errors import ErrorRecord
from corpusforge.io import jsonl
from corpusforge.io.batching import BatchConfig
from corpusforge.io.files import expand, open_binary
from corpusforge.io.jsonl import JsonlInput
from corpusforge.io.units import WorkUnit
from corpusforge.models import FieldMapping

#: bytes looked at to tell JSON lines from one JSON document
_SNIFF = 2**16


class EveryNth:
    """Keeps record ``rank``, ``rank + n``, ... of a stream of records (counted over all
    files of the input, in order), as ``datasets`` does when files cannot be shared out."""

    def __init__(self, rank: int, n: int) -> None:
        self.rank, self.n, self.seen = rank, n, 0

    def take(self, count: int) -> np.ndarray:
        keep = (np.arange(self.seen, self.seen + count) % self.n) == self.rank
        self.seen += count
        return keep


def data_files(files, split: str) -> list[tuple[str, str]]:
    """The ``(path, name)`` of each data file of ``split``, in the order ``datasets`` reads
    them; ValueError when the split has none or a pattern matches no file (as ``datasets``
    refuses them)."""
    if isinstance(files, dict):
        if split not in files:
            raise ValueError(f"data_files has no split {split!r} (it has {sorted(files)})")
        files = files[split]
    elif split != "train":
        raise ValueError(f"data_files without splits is the 'train' split, not {split!r}")
    patterns = [files] if isinstance(files, str) else list(files)
    if not patterns:
        raise ValueError(f"data_files names no file for split {split!r}")
    out: list[tuple[str, str]] = []
    for pattern in patterns:
        found = expand(pattern)
        if not found:
            raise ValueError(f"no file matches {pattern!r}")
        out.extend(found)
    return out


def is_json_lines(path: str) -> bool:
    """Whether a file holds JSON lines (or nothing), not one JSON array or object spread
    over lines: its first character after a byte-order mark and white space is ``{``."""
    with open_binary(path) as f:
        head = f.read(_SNIFF)
    head = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return not head or head[:1] == b"{"


def jsonl_config(cfg: FieldMapping, max_doc_bytes: int, source: str | None) -> JsonlInput:
    return JsonlInput(type="jsonl", path="", text=cfg.text, id=cfg.id, url=cfg.url,
                      metadata=cfg.metadata, source=source, max_doc_bytes=max_doc_bytes)


def read(unit: WorkUnit, files: list[tuple[str, str]], cfg: JsonlInput, source: str, batch: BatchConfig
         ) -> Iterator[pa.Table | ErrorRecord]:
    """Shard ``unit.start`` of ``unit.end`` of the JSON-lines ``files``."""
    rank, n = unit.start, unit.end
    if len(files) % n == 0:
        for path, name in files[rank::n]:
            yield from jsonl.read(WorkUnit(unit.index, unit.input_index, path, name), cfg, source, batch)
        return
    every = EveryNth(rank, n)
    for path, name in files:
        yield from jsonl.read(WorkUnit(unit.index, unit.input_index, path, name), cfg, source, batch, every)
