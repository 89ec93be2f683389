"""JSONL reader: byte-range work units cut at line boundaries, columnar parsing with a
row-wise fallback that isolates bad lines."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pj

from corpusforge.config import BatchConfig, JsonlInput
from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.fields import explicit_schema, records_to_batch, split_table
from corpusforge.io.files import compression_of, expand, open_binary, size_of
from corpusforge.io.units import WorkUnit

READ_CHUNK = 8 * 2**20


def plan(cfg: JsonlInput, input_index: int) -> list[WorkUnit]:
    """One unit per compressed file; uncompressed files are cut into ``unit_bytes`` ranges."""
    units: list[WorkUnit] = []
    for path, name in expand(cfg.path):
        size = -1 if compression_of(path) else size_of(path)
        if size <= cfg.unit_bytes:
            units.append(WorkUnit(0, input_index, path, name, 0, -1))
            continue
        for start in range(0, size, cfg.unit_bytes):
            units.append(WorkUnit(0, input_index, path, name, start, min(start + cfg.unit_bytes, size)))
    return units


def read(unit: WorkUnit, cfg: JsonlInput, source: str, batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    """Documents whose line *starts* in the unit's byte range, in file order."""
    schema = explicit_schema(cfg)
    for block, offset in _blocks(unit, cfg, batch, errors := []):
        yield from errors
        errors.clear()
        yield from _parse_block(block, offset, cfg, schema, source, unit.name)
    yield from errors


def _blocks(
    unit: WorkUnit, cfg: JsonlInput, batch: BatchConfig, errors: list[ErrorRecord]
) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines (at most about ``batch.max_bytes``) with their start offsets.

    A read error (truncated gzip/zstd, I/O) becomes an error record at the offset where
    the stream broke; the lines before it are still yielded.
    """
    block_bytes = max(1, min(batch.max_bytes, READ_CHUNK))
    end = unit.end if unit.end >= 0 else None
    with open_binary(unit.path) as f:
        pos = unit.start
        if pos > 0:
            f.seek(pos - 1)
            if f.read(1) != b"\n":
                pos += len(f.readline())  # the partial line belongs to the previous unit
        pending = b""
        pending_start = pos
        skipping_huge = False
        # compressed streams are read in small pieces so that a truncated file loses
        # at most one piece of the lines before the break
        seekable = compression_of(unit.path) is None
        piece = block_bytes if seekable else 2**16
        while end is None or pending_start < end:
            try:
                chunk = _read_upto(f, block_bytes, piece)
            except _PartialRead as e:
                errors.append(ErrorRecord.from_exception(
                    "read", e.cause, file=unit.name, position=pending_start + len(pending) + len(e.data),
                    snippet="stream ended early; lines after this offset are lost"))
                data = pending + e.data
                last_nl = data.rfind(b"\n")
                if last_nl >= 0:
                    yield data[: last_nl + 1], pending_start
                    pending_start += last_nl + 1
                    data = data[last_nl + 1 :]
                if data:
                    # the last line was cut by the broken stream: report it too
                    errors.append(ErrorRecord("read", "TruncatedRecord", "line cut by a broken stream",
                                              unit.name, pending_start, snippet=snippet(data)))
                return
            if not chunk:
                break
            if skipping_huge:
                nl = chunk.find(b"\n")
                if nl < 0:
                    pending_start += len(chunk)
                    continue
                pending_start += nl + 1
                chunk = chunk[nl + 1 :]
                skipping_huge = False
            data = pending + chunk if pending else chunk
            last_nl = data.rfind(b"\n")
            if last_nl < 0:
                if len(data) > cfg.max_doc_bytes:
                    errors.append(ErrorRecord(
                        "read", "DocumentTooLarge",
                        f"line longer than max_doc_bytes={cfg.max_doc_bytes}", unit.name,
                        pending_start, snippet=snippet(data)))
                    skipping_huge, pending = True, b""
                    pending_start += len(data)
                else:
                    pending = data
                continue
            # a memoryview: the block is handed to the parser without another copy
            whole = memoryview(data)[: last_nl + 1]
            if seekable:
                # re-read the partial last line with the next block instead of copying the
                # whole next block behind it
                f.seek(pending_start + len(whole))
                pending = b""
            else:
                pending = data[last_nl + 1 :]
            if end is not None and pending_start + len(whole) > end:
                whole = _cut_at(whole, end - pending_start)
                pending = b""
                yield whole, pending_start
                return
            yield whole, pending_start
            pending_start += len(whole)
        if pending and (end is None or pending_start < end):
            yield pending, pending_start  # last line without a trailing newline


class _PartialRead(Exception):
    def __init__(self, data: bytes, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.data, self.cause = data, cause


def _read_upto(f, size: int, piece: int) -> bytes:
    """Read about ``size`` bytes in ``piece``-sized reads; on a stream error keep what was read."""
    if piece >= size:
        try:
            return f.read(size)
        except Exception as e:  # noqa: BLE001 - any decoder or I/O failure ends the file here
            raise _PartialRead(b"", e) from e
    parts: list[bytes] = []
    got = 0
    while got < size:
        try:
            part = f.read(piece)
        except Exception as e:  # noqa: BLE001
            raise _PartialRead(b"".join(parts), e) from e
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _cut_at(block: bytes | memoryview, limit: int) -> bytes | memoryview:
    """Keep the lines that start before ``limit``."""
    if limit <= 0:
        return b""
    nl = bytes(block[limit - 1 :]).find(b"\n")
    nl = nl if nl < 0 else nl + limit - 1
    return block if nl < 0 else block[: nl + 1]


def _line_starts(block: bytes | memoryview, expected_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the non-empty lines of a block.

    Web documents are long (kilobytes per line), so one ``bytes.find`` per line beats a
    vectorised scan of every byte; short lines use the numpy scan.
    """
    n = len(block)
    if expected_rows is not None and expected_rows * 512 <= n:
        raw = block.obj if isinstance(block, memoryview) else block
        # the reader's blocks are views from the start of their bytes object
        assert raw is block or pa.py_buffer(raw).address == pa.py_buffer(block).address
        find = raw.find
        starts, ends = [], []
        s = 0
        while s < n:
            e = find(b"\n", s, n)
            if e < 0:
                e = n
            if e > s:
                starts.append(s)
                ends.append(e)
            s = e + 1
        return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    buf = np.frombuffer(block, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [n]))
    keep = ends > starts  # empty lines carry no record
    return starts[keep], ends[keep]


def _parse_block(
    block: bytes, offset: int, cfg: JsonlInput, schema: pa.Schema, source: str, name: str
) -> Iterator[pa.Table | ErrorRecord]:
    if not block:
        return
    # Columnar first. A line longer than max_doc_bytes is caught on its text by split_table
    # (the reader already refused lines that outgrew the limit before their newline came).
    try:
        table = pj.read_json(
            pa.BufferReader(pa.py_buffer(block)),
            read_options=pj.ReadOptions(use_threads=False, block_size=len(block) + 1),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        table = None
    starts, ends = _line_starts(block, table.num_rows if table is not None else None)
    if not len(starts):
        return
    if table is not None and table.num_rows == len(starts):
        yield from split_table(table, cfg, source, name, pa.array(starts + offset), cfg.max_doc_bytes)
        return
    yield from _parse_rows(block, starts, ends, offset, cfg, source, name)


def _parse_rows(
    block: bytes, starts: np.ndarray, ends: np.ndarray, offset: int, cfg: JsonlInput, source: str, name: str
) -> Iterator[pa.Table | ErrorRecord]:
    """Row-wise fallback: one bad line is one error record; the others go on."""
    records: list[dict] = []
    positions: list[int] = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        line = bytes(block[s:e])
        if not line.strip():
            continue
        if e - s > cfg.max_doc_bytes:
            yield ErrorRecord("read", "DocumentTooLarge",
                              f"line of {e - s} bytes exceeds max_doc_bytes={cfg.max_doc_bytes}",
                              name, offset + s, snippet=snippet(line))
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield ErrorRecord("read", "MalformedJSON", str(exc), name, offset + s, snippet=snippet(line))
            continue
        positions.append(offset + s)
    yield from records_to_batch(records, positions, cfg, source, name, cfg.max_doc_bytes)
