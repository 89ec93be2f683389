"""JSON file reader: a file holding one document object, or an array of them.

The same field mapping as JSONL (``text``, ``id``, ``url``, ``metadata``, dotted names). An
array is read as a stream: its elements are found in the bytes (strings, brackets and the
commas between elements, tracked block by block), so memory holds one block and the
element in progress. A batch of elements is parsed by pyarrow as JSON lines would be, and
when that fails element by element, so a bad element (malformed, invalid UTF-8, not an
object, over ``max_doc_bytes``) is one error record at its byte offset while the others are
read. ``json.load``-style parsers, ijson included, stop at the first bad byte and give no
offsets, which is why the elements are delimited here.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import Literal

import orjson
import pyarrow as pa
import pyarrow.json as pj

from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.fields import explicit_schema, records_to_batch, split_table, too_large
from corpusforge.io.files import FileInput, PartialRead, expand, open_unit, read_upto
from corpusforge.io.reader import register_reader
from corpusforge.io.units import WorkUnit
from corpusforge.io.utf8 import first_invalid, is_utf8

#: bytes read at a time (in pieces of ``_PIECE``, so that a broken stream loses at most one)
_BLOCK = 2**20
_PIECE = 2**16
#: what delimits elements: brackets, commas, and the quote opening a string (in which they do
#: not count)
_DELIMITER = re.compile(rb'[\[\]{},"]')
_WS = b" \t\r\n"


class JsonInput(FileInput):
    """JSON files, each holding one document object or an array of them, mapped as JSONL records are."""

    type: Literal["json"]


def plan(cfg: JsonInput, input_index: int) -> list[WorkUnit]:
    """One unit per file."""
    return [WorkUnit(0, input_index, path, name) for path, name in expand(cfg.path)]


def read(unit: WorkUnit, cfg: JsonInput, source: str, batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    """The file's documents; position = byte offset of the object in the (decompressed) file."""
    f = open_unit(unit)
    if isinstance(f, ErrorRecord):
        yield f
        return
    with f:
        yield from _Reader(f, unit.name, cfg, source, batch).run()


class _Reader:
    """One file's bytes, the block held and the elements found so far."""

    def __init__(self, f, name: str, cfg: JsonInput, source: str, batch: BatchConfig) -> None:
        self.f, self.name, self.cfg, self.source, self.batch = f, name, cfg, source, batch
        self.buf = bytearray()
        self.base = 0  # file offset of buf[0]
        self.eof = False
        self.broken: PartialRead | None = None
        self.schema = explicit_schema(cfg)
        self.bodies: list[bytes] = []  # elements not yet parsed, and their positions
        self.positions: list[int] = []
        self.nbytes = 0
        self.elements = 0  # elements of the array met so far (``[]`` has none, and is no error)

    def more(self) -> None:
        """Read the next block into ``buf`` (``eof`` at the end or where the stream broke)."""
        try:
            block = read_upto(self.f, _BLOCK, _PIECE)
        except PartialRead as e:
            self.broken, block = e, e.data
        if not block or self.broken is not None:
            self.eof = True
        self.buf += block

    def drop(self, n: int) -> None:
        """Forget the first ``n`` bytes of ``buf``."""
        del self.buf[:n]
        self.base += n

    def run(self) -> Iterator[pa.Table | ErrorRecord]:
        self.more()
        if self.buf.startswith(codecs.BOM_UTF8):
            self.drop(len(codecs.BOM_UTF8))
        start = self._first_byte()
        if start is None:
            yield from self._broken_at(self.base)  # an empty file holds no document
            return
        first = self.buf[start : start + 1]
        if first == b"[":
            yield from self._array(start + 1)
        elif first == b"{":
            yield from self._object(start)
        else:
            yield ErrorRecord("read", "MalformedJSON", "a JSON input file holds an object or an array of "
                              f"objects; this one starts with {bytes(self.buf[start:start + 20])!r}",
                              self.name, self.base + start, snippet=snippet(bytes(self.buf[start : start + 1200])))
        yield from self._flush()

    def _first_byte(self) -> int | None:
        """Index in ``buf`` of the first byte that is not white space (None at the end)."""
        while True:
            stripped = len(self.buf) - len(self.buf.lstrip(_WS))
            if stripped < len(self.buf):
                return stripped
            self.drop(len(self.buf))
            if self.eof:
                return None
            self.more()

    def _object(self, start: int) -> Iterator[pa.Table | ErrorRecord]:
        """The file is one object: read whole (up to ``max_doc_bytes``) and parsed."""
        limit = self.cfg.max_doc_bytes
        while not self.eof and len(self.buf) - start <= limit:
            self.more()
        body = bytes(self.buf[start:]).rstrip(_WS)
        pos = self.base + start
        if len(body) > limit:
            n = len(self.buf) - start
            while not self.eof:  # counted to the end without being held, for the message
                self.drop(len(self.buf))
                self.more()
                n += len(self.buf)
            yield too_large(self.name, pos, n, limit, body[:1200])
            yield from self._broken_at(self.base + len(self.buf))
            return
        if self.broken is not None:
            yield from self._broken_at(self.base + len(self.buf), cut=(pos, body))
            return
        yield from self._element(body, pos)

    def _array(self, scan: int) -> Iterator[pa.Table | ErrorRecord]:
        """The elements of the array whose ``[`` ends at ``scan``, then the end of the file."""
        depth, seg = 1, scan  # bracket depth at ``scan``; start of the element in progress
        skipping = False  # the element in progress is over max_doc_bytes
        while True:
            m = _DELIMITER.search(self.buf, scan)
            at = m.start() if m is not None else len(self.buf)
            token = self.buf[at] if m is not None else None
            if token == 0x22:  # a string: brackets and commas inside it do not count
                end = _string_end(self.buf, at + 1)
                if end >= 0:
                    scan = end + 1
                    continue
            if token is None or token == 0x22:
                # no delimiter before the end of the block, or a string the block cut: read on
                scan = at
                if not skipping and len(self.buf) - seg > self.cfg.max_doc_bytes:
                    lead = self._lead(seg)
                    yield ErrorRecord("read", "DocumentTooLarge", "element longer than max_doc_bytes="
                                      f"{self.cfg.max_doc_bytes}", self.name, self.base + lead,
                                      snippet=snippet(bytes(self.buf[lead : lead + 1200])))
                    skipping = True
                    self.elements += 1
                # what is before the element in progress is done with; an element too large is
                # not held at all
                keep = scan if skipping else seg
                self.drop(keep)
                scan -= keep
                seg = 0 if skipping else seg - keep
                if self.eof:
                    break
                self.more()
                continue
            scan = at + 1
            if token in b"[{":
                depth += 1
                continue
            if token in b"]}":
                depth -= 1
                if depth > 0:
                    continue
            elif depth > 1:  # a comma inside an element
                continue
            # the element in progress ends here (a comma, or the array's closing bracket)
            if not skipping:
                yield from self._segment(seg, at, closing=depth == 0)
            skipping = False
            seg = scan
            if depth == 0:
                yield from self._after_array(scan)
                return
        # the file ended inside the array
        if skipping:
            yield from self._broken_at(self.base + len(self.buf))
            return
        lead = self._lead(seg)
        body = bytes(self.buf[lead:]).rstrip(_WS)
        if self.broken is not None:
            yield from self._broken_at(self.base + len(self.buf), cut=(self.base + lead, body))
        elif body:
            yield ErrorRecord("read", "TruncatedRecord", "the file ends inside this element (the array is "
                              "not closed)", self.name, self.base + lead, snippet=snippet(body[:1200]))
        else:
            yield ErrorRecord("read", "TruncatedRecord", "the file ends before the array is closed",
                              self.name, self.base + len(self.buf))

    def _lead(self, seg: int) -> int:
        """Index of the first byte of the element starting at ``seg`` (after white space)."""
        return seg + len(self.buf[seg:]) - len(self.buf[seg:].lstrip(_WS))

    def _segment(self, seg: int, end: int, closing: bool) -> Iterator[pa.Table | ErrorRecord]:
        """The element between ``seg`` and the delimiter at ``end``."""
        raw = bytes(self.buf[seg:end])
        body = raw.strip(_WS)
        pos = self.base + seg + len(raw) - len(raw.lstrip(_WS))
        if not body:
            if not (closing and self.elements == 0):
                yield ErrorRecord("read", "MalformedJSON", "an empty array element (two commas in a row, or "
                                  "a comma before the closing bracket)", self.name, pos)
            return
        self.elements += 1
        yield from self._element(body, pos)

    def _element(self, body: bytes, pos: int) -> Iterator[pa.Table | ErrorRecord]:
        if len(body) > self.cfg.max_doc_bytes:
            yield too_large(self.name, pos, len(body), self.cfg.max_doc_bytes, body[:1200])
            return
        self.bodies.append(body)
        self.positions.append(pos)
        self.nbytes += len(body)
        if len(self.bodies) >= self.batch.max_docs or self.nbytes >= self.batch.max_bytes:
            yield from self._flush()

    def _flush(self) -> Iterator[pa.Table | ErrorRecord]:
        """The elements gathered so far: parsed together by pyarrow (as JSON lines, one element
        a line), or, when that fails, one by one so that a bad element costs itself only."""
        bodies, positions = self.bodies, self.positions
        self.bodies, self.positions, self.nbytes = [], [], 0
        if not bodies:
            return
        block = b"\n".join(bodies)
        table = None
        if is_utf8(block):  # pyarrow's parser copies string bytes without checking them
            try:
                table = pj.read_json(pa.BufferReader(block), read_options=pj.ReadOptions(
                    use_threads=False, block_size=len(block) + 1), parse_options=pj.ParseOptions(
                    explicit_schema=self.schema, unexpected_field_behavior="ignore", newlines_in_values=True))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                table = None
        if table is not None and table.num_rows == len(bodies):
            yield from split_table(table, self.cfg, self.source, self.name, pa.array(positions, pa.int64()),
                                   self.cfg.max_doc_bytes, utf8_checked=True)
            return
        records, kept = [], []
        for body, pos in zip(bodies, positions):
            try:
                records.append(orjson.loads(body))
            except orjson.JSONDecodeError as e:
                if not is_utf8(body):
                    yield ErrorRecord("read", "InvalidUtf8", first_invalid(body), self.name, pos,
                                      snippet=snippet(body))
                else:
                    yield ErrorRecord("read", "MalformedJSON", str(e), self.name, pos, snippet=snippet(body))
                continue
            kept.append(pos)
        yield from records_to_batch(records, kept, self.cfg, self.source, self.name, self.cfg.max_doc_bytes)

    def _after_array(self, scan: int) -> Iterator[pa.Table | ErrorRecord]:
        """After the closing bracket only white space may follow."""
        self.drop(scan)
        start = self._first_byte()
        if start is not None:
            yield ErrorRecord("read", "MalformedJSON", "data after the end of the JSON array", self.name,
                              self.base + start, snippet=snippet(bytes(self.buf[start : start + 1200])))
        yield from self._broken_at(self.base + len(self.buf))

    def _broken_at(self, at: int, cut: tuple[int, bytes] | None = None) -> Iterator[ErrorRecord]:
        """The error record of a stream that broke at ``at`` (none when it did not), and of
        the element it cut (``(position, bytes)``) when there was one."""
        if self.broken is None:
            return
        yield ErrorRecord.from_exception("read", self.broken.cause, file=self.name, position=at,
                                         snippet="stream ended early; elements after this offset are lost")
        if cut is not None and cut[1]:
            yield ErrorRecord("read", "TruncatedRecord", "element cut by a broken stream", self.name, cut[0],
                              snippet=snippet(cut[1][:1200]))



def _string_end(buf: bytearray, start: int) -> int:
    """Index of the quote closing the string whose text starts at ``start`` (-1 when ``buf``
    ends first): the next quote not escaped by an odd number of backslashes, found with
    ``find`` (a string's bytes are never looked at one by one)."""
    i = start
    while True:
        j = buf.find(b'"', i)
        if j < 0:
            return -1
        k = j
        while k > start and buf[k - 1] == 0x5C:
            k -= 1
        if (j - k) % 2 == 0:
            return j
        i = j + 1


register_reader("json", JsonInput, plan, read)
