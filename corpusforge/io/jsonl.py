"""JSONL reader: byte-range work units cut at line boundaries, columnar parsing with a
row-wise fallback that isolates bad lines.

A line ends at LF, CRLF or a lone CR (JSON text never holds a raw CR inside a string, so a
CR outside one is only ever whitespace or a line end): files written with old Mac line
ends are split into their documents like any other. Empty lines carry no record.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, NamedTuple, Protocol

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pj

from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.fields import explicit_schema, records_to_batch, split_table
from corpusforge.io.files import (
    FileInput,
    PartialRead,
    compression_of,
    expand,
    open_binary,
    read_upto,
    size_of,
)
from corpusforge.io.reader import register_reader
from corpusforge.io.units import WorkUnit
from corpusforge.io.utf8 import bad_lines, first_invalid, is_utf8
from corpusforge.models import Size

READ_CHUNK = 8 * 2**20


class JsonlInput(FileInput):
    type: Literal["jsonl"]
    #: uncompressed files larger than this are split into several work units at line boundaries
    unit_bytes: Size = 64 * 2**20


class Block(NamedTuple):
    """Whole lines of a file: their bytes, the file offset of the first, and line offsets;
    ``utf8`` says whether the bytes are valid UTF-8 when that is already known."""

    data: bytes | memoryview
    offset: int
    lines: tuple[np.ndarray, np.ndarray]
    utf8: bool | None = None

    @classmethod
    def of(cls, data: bytes | memoryview, offset: int) -> Block:
        return cls(data, offset, _line_starts(data))


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


class LineFilter(Protocol):
    """Chooses which records of a file a reader keeps (readers that split one file's
    records among several work units, as ``datasets`` does)."""

    def take(self, n: int) -> np.ndarray:
        """Whether to keep each of the file's next ``n`` records (lines, or error records)."""


def read(unit: WorkUnit, cfg: JsonlInput, source: str, batch: BatchConfig,
         lines: LineFilter | None = None) -> Iterator[pa.Table | ErrorRecord]:
    """Documents whose line *starts* in the unit's byte range, in file order (of those
    ``lines`` keeps, when given)."""
    schema = explicit_schema(cfg)

    def flush(errors: list[ErrorRecord]) -> Iterator[ErrorRecord]:
        for err in errors:
            if lines is None or lines.take(1)[0]:
                yield err
        errors.clear()

    for block in _blocks(unit, cfg, batch, errors := []):
        yield from flush(errors)
        keep = None if lines is None else lines.take(len(block.lines[0]))
        yield from _parse_block(block, cfg, schema, source, unit.name, keep)
        del block  # not held while the next block is read
    yield from flush(errors)


def _blocks(
    unit: WorkUnit, cfg: JsonlInput, batch: BatchConfig, errors: list[ErrorRecord]
) -> Iterator[Block]:
    """Blocks of whole lines (about ``batch.max_bytes`` at most) with their start offsets.

    A line longer than ``max_doc_bytes`` becomes an error record (and is skipped without
    being held in memory); a read error (truncated gzip/zstd, I/O) becomes an error record
    at the offset where the stream broke, after the lines before it.
    """
    block_bytes = max(1, min(batch.max_bytes, READ_CHUNK))
    end = unit.end if unit.end >= 0 else None
    with open_binary(unit.path) as f:
        pos = unit.start
        if pos > 0:
            f.seek(pos - 1)
            if f.read(1) not in (b"\n", b"\r"):
                pos += _rest_of_line(f, block_bytes)  # the partial line belongs to the previous unit
        if compression_of(unit.path) is None:
            yield from _seekable_blocks(f, pos, end, block_bytes, cfg, unit.name, errors)
        else:
            yield from _stream_blocks(f, pos, block_bytes, cfg, unit.name, errors)


def _seekable_blocks(
    f, pos: int, end: int | None, block_bytes: int, cfg: JsonlInput, name: str,
    errors: list[ErrorRecord],
) -> Iterator[Block]:
    """Plain files: each block is read from where the last whole line of the previous one
    ended, in a background thread while the caller parses the previous block (reads
    release the GIL), so I/O overlaps parsing and no bytes are copied between blocks."""

    def read_at(offset: int) -> tuple[bytes, memoryview | None, tuple[np.ndarray, np.ndarray] | None, bool]:
        f.seek(offset)
        data = f.read(block_bytes)
        last_nl = _last_eol(data)
        if last_nl < 0:
            return data, None, None, False
        whole = memoryview(data)[: last_nl + 1]  # a view: no copy for the parser
        # checked here, in the reading thread, while the caller parses the previous block
        return data, whole, _line_starts(whole), is_utf8(whole)

    with ThreadPoolExecutor(1) as pool:
        ahead = pool.submit(read_at, pos)
        while end is None or pos < end:
            data, whole, lines, valid = ahead.result()
            if not data:
                return
            if whole is None:
                if len(data) < block_bytes:  # end of file: a last line without a newline
                    yield Block.of(data, pos)
                    return
                line, pos = _long_line(f, data, pos, block_bytes, cfg, name, errors)
                if line is not None:
                    yield Block.of(line, pos - len(line))
                ahead = pool.submit(read_at, pos)
                continue
            if end is not None and pos + len(whole) > end:
                yield Block.of(_cut_at(whole, end - pos), pos)
                return
            ahead = pool.submit(read_at, pos + len(whole))
            yield Block(whole, pos, lines, valid)
            pos += len(whole)


def _long_line(
    f, data: bytes, pos: int, block_bytes: int, cfg: JsonlInput, name: str, errors: list[ErrorRecord]
) -> tuple[bytes | None, int]:
    """A line longer than a block, starting at ``pos``: the whole line (with its newline) and
    the offset after it, or None and that offset when it exceeds ``max_doc_bytes``."""
    parts, size = [data], len(data)
    while True:
        more = f.read(block_bytes)
        nl = _first_eol(more)
        if size + (nl if nl >= 0 else len(more)) > cfg.max_doc_bytes:
            errors.append(ErrorRecord("read", "DocumentTooLarge",
                                      f"line longer than max_doc_bytes={cfg.max_doc_bytes}", name, pos,
                                      snippet=snippet(parts[0])))
            while nl < 0 and more:  # skip to the end of the line without keeping it
                size += len(more)
                more = f.read(block_bytes)
                nl = _first_eol(more)
            return None, pos + size + (nl + 1 if nl >= 0 else len(more))
        if nl >= 0 or not more:
            cut = nl + 1 if nl >= 0 else len(more)
            parts.append(more[:cut])
            line = b"".join(parts)
            return line, pos + len(line)
        parts.append(more)
        size += len(more)


def _stream_blocks(
    f, pos: int, block_bytes: int, cfg: JsonlInput, name: str, errors: list[ErrorRecord]
) -> Iterator[Block]:
    """Compressed streams (one unit per file): read in small pieces, so that a truncated
    file loses at most one piece of the lines before the break."""
    pending = b""
    pending_start = pos
    skipping_huge = False
    while True:
        try:
            chunk = read_upto(f, block_bytes, 2**16)
        except PartialRead as e:
            errors.append(ErrorRecord.from_exception(
                "read", e.cause, file=name, position=pending_start + len(pending) + len(e.data),
                snippet="stream ended early; lines after this offset are lost"))
            data = pending + e.data
            last_nl = _last_eol(data)
            if last_nl >= 0:
                yield Block.of(data[: last_nl + 1], pending_start)
                pending_start += last_nl + 1
                data = data[last_nl + 1 :]
            if data:
                # the last line was cut by the broken stream: report it too
                errors.append(ErrorRecord("read", "TruncatedRecord", "line cut by a broken stream",
                                          name, pending_start, snippet=snippet(data)))
            return
        if not chunk:
            break
        if skipping_huge:
            nl = _first_eol(chunk)
            if nl < 0:
                pending_start += len(chunk)
                continue
            pending_start += nl + 1
            chunk = chunk[nl + 1 :]
            skipping_huge = False
        last_nl = _last_eol(chunk)
        if last_nl < 0 and len(pending) + len(chunk) > cfg.max_doc_bytes:
            # judged before joining: a line over the limit is never held whole
            errors.append(ErrorRecord(
                "read", "DocumentTooLarge", f"line longer than max_doc_bytes={cfg.max_doc_bytes}",
                name, pending_start, snippet=snippet(pending or chunk)))
            skipping_huge = True
            pending_start += len(pending) + len(chunk)
            pending = b""
            continue
        if last_nl >= 0:
            last_nl += len(pending)
        data = pending + chunk if pending else chunk
        del chunk
        if last_nl < 0:
            pending = data
            continue
        whole, pending = memoryview(data)[: last_nl + 1], data[last_nl + 1 :]
        del data
        yield Block.of(whole, pending_start)
        pending_start += len(whole)
        del whole  # the block's bytes go before the next ones are read
    if pending:
        yield Block.of(pending, pending_start)  # last line without a trailing newline


def _cut_at(block: bytes | memoryview, limit: int) -> bytes | memoryview:
    """Keep the lines that start before ``limit``."""
    if limit <= 0:
        return b""
    nl = _first_eol(bytes(block[limit - 1 :]))
    nl = nl if nl < 0 else nl + limit - 1
    return block if nl < 0 else block[: nl + 1]


def _first_eol(data: bytes) -> int:
    """Offset of the first line end (LF or CR) in ``data``, -1 when there is none."""
    nl = data.find(b"\n")
    cr = data.find(b"\r", 0, nl if nl >= 0 else len(data))
    return cr if cr >= 0 else nl


def _last_eol(data: bytes) -> int:
    """Offset of the last line end in ``data``; a CR is looked for only when there is no LF,
    so LF files pay nothing for CR support."""
    nl = data.rfind(b"\n")
    return nl if nl >= 0 else data.rfind(b"\r")


def _rest_of_line(f, chunk: int) -> int:
    """Read past the end of the line ``f`` is in; the number of bytes read."""
    n = 0
    while True:
        data = f.read(min(chunk, 2**16))
        if not data:
            return n
        eol = _first_eol(data)
        if eol >= 0:
            return n + eol + 1
        n += len(data)


def _line_starts(block: bytes | memoryview) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the non-empty lines of a block.

    Web documents are long (kilobytes per line), so one ``bytes.find`` per line beats a
    vectorised scan of every byte; blocks of short lines (judged on a sample) use numpy.
    """
    n = len(block)
    raw = block.obj if isinstance(block, memoryview) else block
    # the reader's blocks are views from the start of their bytes object
    assert raw is block or pa.py_buffer(raw).address == pa.py_buffer(block).address
    if raw.find(b"\r", 0, n) >= 0:  # CR or CRLF line ends (one memchr over LF-only blocks)
        buf = np.frombuffer(block, dtype=np.uint8)
        eol = np.flatnonzero((buf == 10) | (buf == 13))
        starts = np.concatenate(([0], eol + 1))
        ends = np.concatenate((eol, [n]))
        keep = ends > starts
        return starts[keep], ends[keep]
    sample = min(n, 2**16)
    if raw.count(b"\n", 0, sample) * 512 <= sample:
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
    block: Block, cfg: JsonlInput, schema: pa.Schema, source: str, name: str,
    keep: np.ndarray | None = None,
) -> Iterator[pa.Table | ErrorRecord]:
    """The documents and error records of a block's lines (those ``keep`` marks, if given)."""
    valid = block.utf8
    block, offset, (starts, ends) = block.data, block.offset, block.lines
    if keep is not None and not keep.all():
        drop = np.flatnonzero(~keep)
        block, starts, ends = _blank(block, starts, ends, drop), np.delete(starts, drop), np.delete(ends, drop)
    if not len(starts):
        return
    if valid is None:
        valid = is_utf8(block)
    if not valid:
        # pyarrow's parser copies string bytes without checking them: the bad lines become
        # error records here and are blanked out
        bad = bad_lines(block, starts, ends)
        for i in bad.tolist():
            line = bytes(block[int(starts[i]) : int(ends[i])])
            yield ErrorRecord("read", "InvalidUtf8", first_invalid(line), name, offset + int(starts[i]),
                              snippet=snippet(line))
        if len(bad):
            block, starts, ends = _blank(block, starts, ends, bad), np.delete(starts, bad), np.delete(ends, bad)
            if not len(starts):
                return
    # columnar first; the line offsets are needed either way (positions and ids)
    longest = int((ends - starts).max())
    try:
        table = pj.read_json(
            pa.BufferReader(pa.py_buffer(block)),
            # pyarrow parses in chunks of block_size: ~1 MB is faster than one big chunk
            # (cache), and a chunk must hold the longest line
            read_options=pj.ReadOptions(use_threads=False, block_size=max(2**20, longest + 1)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        table = None
    # a line over max_doc_bytes (the limit is on the record's line) takes the row path,
    # which turns it into an error record
    if table is not None and table.num_rows == len(starts) and longest <= cfg.max_doc_bytes:
        yield from split_table(table, cfg, source, name, pa.array(starts + offset), cfg.max_doc_bytes,
                               utf8_checked=True)
        return
    yield from _parse_rows(block, starts, ends, offset, cfg, source, name)


def _blank(block: bytes | memoryview, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray) -> bytes:
    """A copy of ``block`` with the given lines overwritten by spaces: a line of spaces holds
    no record, and every other line keeps its offset."""
    out = bytearray(block)
    for i in lines.tolist():
        s, e = int(starts[i]), int(ends[i])
        out[s:e] = b" " * (e - s)
    return bytes(out)


def _parse_rows(
    block: bytes, starts: np.ndarray, ends: np.ndarray, offset: int, cfg: JsonlInput, source: str, name: str
) -> Iterator[pa.Table | ErrorRecord]:
    """Row-wise fallback: one bad line is one error record; the others go on."""
    records: list[dict] = []
    positions: list[int] = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        # a byte-order mark opens each of several files joined into one (pyarrow skips one
        # at the start of its input, orjson refuses it anywhere)
        line = bytes(block[s:e]).removeprefix(codecs.BOM_UTF8)
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


register_reader("jsonl", JsonlInput, plan, read)
