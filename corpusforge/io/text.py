"""Plain text reader: a document per file, or per paragraph (``split: paragraph``).

Files are decoded in the configured ``encoding`` (UTF-8 by default; ``shift_jis``,
``cp932`` or ``euc_jp`` for legacy Japanese files) and decompressed by extension. A
paragraph is a run of lines between blank lines (a blank line is empty or holds only spaces
and tabs; LF, CRLF and lone CR line ends alike); the lines inside it are kept as they are.
Bytes that do not decode are an error record at the document's position naming the byte,
and the file goes on at the next paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import model_validator

from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.decode import Encoding, ascii_compatible, bom_length, decode
from corpusforge.io.fields import too_large
from corpusforge.io.files import PartialRead, expand, open_binary, open_unit, read_upto
from corpusforge.io.gather import Gathered
from corpusforge.io.reader import register_reader
from corpusforge.io.storage import StorageOptions
from corpusforge.io.units import WorkUnit
from corpusforge.models import Model, Size
from corpusforge.schema import make_batch

#: bytes read at a time (in pieces of ``_PIECE``, so that a broken stream loses at most one)
_BLOCK = 2**20
_PIECE = 2**16
_EOL = rb"(?:\r\n|\r(?!\n)|\n)"
#: blank lines before a paragraph (at the start of a file, or after a line end that closed a block)
_LEADING = re.compile(rb"(?:[ \t\f\v]*" + _EOL + rb")+")
_TRAILING = b" \t\f\v\r\n"
#: the bytes of white space (spaces, tabs, form and line feeds, carriage returns)
_WS = np.zeros(256, dtype=bool)
_WS[list(_TRAILING)] = True
#: the bytes of a line looked at together when telling blank lines (longer ones are rare)
_SHORT = 8


class TextInput(Model):
    """Plain text files (``*.txt``, ``*.txt.gz`` ...): a document per file or per paragraph."""

    type: Literal["text"]
    #: a path, URL, folder or glob (fsspec), or a list of them; .gz/.zst/.bz2/.xz decompress by extension
    path: str | list[str]
    #: value of the ``source`` column (defaults to the input's position: ``input0``)
    source: str | None = None
    #: the files' encoding: ``utf-8``, ``shift_jis``, ``cp932``, ``euc_jp``, any codec Python knows
    encoding: Encoding = "utf-8"
    #: ``file``: a document per file; ``paragraph``: a document per blank-line-separated paragraph
    split: Literal["file", "paragraph"] = "file"
    #: a document larger than this (in the file, or once in UTF-8) becomes an error record
    max_doc_bytes: Size = 64 * 2**20
    #: fsspec options of the files' bucket: ``key``, ``secret``, ``anon``,
    #: ``client_kwargs: {endpoint_url: ...}`` (without: the AWS_* environment variables)
    storage_options: StorageOptions = {}

    @model_validator(mode="after")
    def _paragraphs_need_ascii_line_ends(self) -> TextInput:
        if self.split == "paragraph" and not ascii_compatible(self.encoding):
            raise ValueError(f"split: paragraph finds blank lines in the bytes, which {self.encoding} "
                             "does not write as ASCII; convert the files to UTF-8 or use split: file")
        return self


def plan(cfg: TextInput, input_index: int) -> list[WorkUnit]:
    """One unit per file."""
    return [WorkUnit(0, input_index, path, name) for path, name in expand(cfg.path)]


def read(unit: WorkUnit, cfg: TextInput, source: str, batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    """A file's document (id ``source:file``, position 0), or its paragraphs (id
    ``source:file:offset``, position = byte offset of the paragraph in the decompressed file)."""
    if cfg.split == "file":
        yield from _whole_file(unit, cfg, source)
    else:
        yield from _paragraphs(unit, cfg, source, batch)


def _whole_file(unit: WorkUnit, cfg: TextInput, source: str) -> Iterator[pa.Table | ErrorRecord]:
    doc_id = f"{source}:{unit.name}"
    try:
        with open_binary(unit.path) as f:
            parts, n = [], 0
            # a read may return less than asked for before the end (zstd): read to an empty one
            while n <= cfg.max_doc_bytes and (piece := f.read(_BLOCK)):
                parts.append(piece)
                n += len(piece)
            if n > cfg.max_doc_bytes:
                head = parts[0][:1200]
                del parts  # counted to the end without being held, for the message
                while piece := f.read(_BLOCK):
                    n += len(piece)
                yield too_large(unit.name, 0, n, cfg.max_doc_bytes, head, id=doc_id)
                return
            data = b"".join(parts)
    except Exception as e:  # noqa: BLE001 - an unreadable or truncated file is one error record
        yield ErrorRecord.from_exception("read", e, file=unit.name, position=0, id=doc_id)
        return
    text = decode(data[bom_length(data, cfg.encoding):], cfg.encoding, unit.name, 0, cfg.max_doc_bytes,
                  id=doc_id, what="file")
    if isinstance(text, ErrorRecord):
        yield text
        return
    yield make_batch([doc_id], [text], source, unit.name, [0])


def _paragraphs(unit: WorkUnit, cfg: TextInput, source: str, batch: BatchConfig
                ) -> Iterator[pa.Table | ErrorRecord]:
    """The file's paragraphs, read block by block: only the paragraph in progress is held
    between blocks, and one longer than ``max_doc_bytes`` is skipped without being held."""
    docs = Gathered(batch, source, unit.name)
    pending = bytearray()  # the paragraph in progress (and what follows it in the block)
    start = 0  # file offset of pending[0]
    scan = 0  # where in pending the next separator may start (what is before it was looked at)
    skipping = False  # the paragraph in progress is over max_doc_bytes
    first = True

    def emit(raw: bytes | bytearray, at: int) -> Iterator[pa.Table | ErrorRecord]:
        lead = _LEADING.match(raw)
        skip = lead.end() if lead else 0
        body = bytes(raw[skip:]).rstrip(_TRAILING)
        if not body:
            return
        pos = at + skip
        doc_id = f"{source}:{unit.name}:{pos}"
        if len(body) > cfg.max_doc_bytes:
            yield too_large(unit.name, pos, len(body), cfg.max_doc_bytes, body[:1200], id=doc_id)
            return
        text = decode(body, cfg.encoding, unit.name, pos, cfg.max_doc_bytes, id=doc_id, what="paragraph")
        if isinstance(text, ErrorRecord):
            yield text
            return
        full = docs.add(doc_id, text, pos)
        if full is not None:
            yield full

    f = open_unit(unit)
    if isinstance(f, ErrorRecord):
        yield f
        return
    with f:
        while True:
            broken: PartialRead | None = None
            try:
                block = read_upto(f, _BLOCK, _PIECE)
            except PartialRead as e:
                broken, block = e, e.data
            if first:
                first = False
                bom = bom_length(block, cfg.encoding)
                block, start = block[bom:], bom
            pending += block
            cut = 0
            separators, scan = _separators(pending, scan)
            for sep_start, sep_end in separators:
                if not skipping:
                    yield from emit(pending[cut:sep_start], start + cut)
                skipping = False
                cut = sep_end
            del pending[:cut]
            start += cut
            scan = max(0, scan - cut)
            if not skipping and len(pending) > cfg.max_doc_bytes:
                lead = _LEADING.match(pending)
                at = start + (lead.end() if lead else 0)
                yield ErrorRecord("read", "DocumentTooLarge", f"paragraph longer than max_doc_bytes="
                                  f"{cfg.max_doc_bytes}", unit.name, at, id=f"{source}:{unit.name}:{at}",
                                  snippet=snippet(bytes(pending[at - start : at - start + 1200])))
                skipping = True
            if skipping and scan > 0:
                # only what follows the last line end is kept: a separator may start there
                del pending[:scan]
                start += scan
                scan = 0
            if broken is not None:
                at = start + len(pending)
                yield ErrorRecord.from_exception(
                    "read", broken.cause, file=unit.name, position=at,
                    snippet="stream ended early; text after this offset is lost")
                if not skipping and bytes(pending).strip(_TRAILING):
                    yield ErrorRecord("read", "TruncatedRecord", "paragraph cut by a broken stream",
                                      unit.name, start, snippet=snippet(bytes(pending[:1200])))
                break
            if not block:
                if not skipping:
                    yield from emit(pending, start)
                break
    last = docs.flush()
    if last is not None:
        yield last


def _separators(buf: bytearray, lo: int) -> tuple[list[tuple[int, int]], int]:
    """The paragraph separators in ``buf[lo:]`` as ``(start, end)`` and where the next call
    must look from.

    A separator is a line end followed by blank lines, each ended by a line end (LF, CRLF
    counted once, lone CR); it ends after its last line end, so that the spaces after it
    indent the next paragraph. Vectorised over the block: a line between two line ends is
    blank when every byte between them is white space (a regular expression steps through
    every byte in Python's engine, several times slower). The last line end
    of ``buf`` may pair with one in the next block: the next call looks from it.
    """
    view = np.frombuffer(buf, dtype=np.uint8)[lo:]
    try:
        lf, cr = view == 10, view == 13
        eol = lf | cr
        eol[:-1] &= ~(cr[:-1] & lf[1:])  # the CR of a CRLF is not a line end of its own
        ends = np.flatnonzero(eol)
        if len(ends) < 2:
            return [], lo + (int(ends[-1]) if len(ends) else len(view))
        # a line is blank when each byte of it is white space: looked at for the first
        # _SHORT bytes of every line at once; the rare longer line that starts blank, alone
        gap = ends[1:] - ends[:-1] - 1
        blank = np.ones(len(gap), dtype=bool)
        for k in range(_SHORT):
            inside = gap > k
            if not inside.any():
                break
            blank &= ~inside | _WS[view[np.minimum(ends[:-1] + 1 + k, len(view) - 1)]]
        for i in np.flatnonzero(blank & (gap >= _SHORT)).tolist():
            blank[i] = not bytes(view[ends[i] + 1 : ends[i + 1]]).strip(_TRAILING)
        edges = np.diff(blank.view(np.int8), prepend=np.int8(0), append=np.int8(0))
        first, after = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        pairs = zip((ends[first] + lo).tolist(), (ends[after] + 1 + lo).tolist())
        return list(pairs), lo + int(ends[-1])
    finally:
        del view  # the caller resizes ``buf``, which needs no array over it


register_reader("text", TextInput, plan, read)
