"""WARC records framed and checked, with resynchronisation after damage.

A record is a ``WARC/x.y`` line, header fields up to a blank line, ``Content-Length``
bytes of block and a blank line; in a ``.warc.gz`` each record is normally its own gzip
member. A record is accepted only when it ends where its length says (after the block
come CR/LF bytes, then the next ``WARC/`` line, NUL padding or the end of the data) and
the gzip member holding it is intact (``io/gzip_members.py``). Anything else is damage: a truncated record, a
Content-Length that lies, a corrupt or cut gzip member, bytes that are not a record. Each
is reported once, at the position of the record (or member) it hit, and reading goes on
where a record can start again: the next ``WARC/`` line after the damaged record's
header, or the next intact gzip member.

Positions are those of the file: the byte offset of a record in a plain file, the offset
of the gzip member it starts in for ``.warc.gz`` (what CDX indexes store).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from corpusforge.io.gzip_members import Broken, MemberStream

#: a header block longer than this is not a WARC header
MAX_HEADER = 2**16
#: a record's first line and the name of its first field: where a record starts (looked for
#: anywhere after damage, since a cut record leaves the next one without a line end before it)
_NEXT_HEADER = re.compile(rb"WARC/\d+\.\d+\r?\n[!-9;-~]+:")
_AT_HEADER = _NEXT_HEADER


@dataclass
class Record:
    """A well-framed record: its header fields (names lower-cased) and its block (None
    when it was over the caller's limit and skipped unread)."""

    pos: int
    headers: dict[str, str]
    length: int
    block: bytes | None


@dataclass
class Damage:
    """Bytes that did not read as a well-framed record."""

    pos: int
    error: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    snippet: bytes = b""


class _Framer:
    """Records out of a source's pieces, kept in one buffer."""

    def __init__(self, src: MemberStream, max_block: int, wanted: frozenset[str] | None) -> None:
        self.src, self.max_block, self.wanted = src, max_block, wanted
        self.reset()

    def reset(self) -> None:
        self.buf = bytearray()
        self.start = self.src.decoded  # decoded offset of buf[0]
        self.marks: list[tuple[int, int]] = []  # (decoded offset, position) of each piece
        self.ended = False
        self.broken: Broken | None = None
        self.reported = False  # the broken member was named by a record's damage

    # -- the buffer ---------------------------------------------------------------------

    def _fill(self, n: int) -> bool:
        """Make the buffer hold at least ``n`` bytes; False when the data ends first."""
        while len(self.buf) < n:
            if self.ended:
                return False
            try:
                at, pos, data = self.src.piece()
            except Broken as b:
                self.broken, self.ended = b, True
                return False
            if not data:
                self.ended = True
                return False
            self.marks.append((at, pos))
            self.buf += data
        return True

    def _position(self, i: int) -> int:
        """The position of a record that starts at ``buf[i]``."""
        d = self.start + i
        at, pos = next(((a, p) for a, p in reversed(self.marks) if a <= d), (d, d))
        return pos + (d - at) if not self.src.gz else pos

    def _drop(self, n: int) -> None:
        del self.buf[:n]
        self.start += n
        while len(self.marks) > 1 and self.marks[1][0] <= self.start:
            self.marks.pop(0)

    def _clean_end_for(self, pos: int) -> bool:
        """Whether the data ended without damage to the member holding ``pos``."""
        return self.broken is None or (self.src.gz and self.broken.member != pos)

    # -- records ------------------------------------------------------------------------

    def next(self) -> Record | Damage | None:
        """The next record or damage; None at the end of the data (``broken`` says why)."""
        i = 0
        while self._fill(i + 1) and self.buf[i] in b"\r\n":
            i += 1
        self._drop(i)
        if not self.buf:
            return None
        self._fill(MAX_HEADER)
        pos = self._position(0)
        if not _AT_HEADER.match(self.buf):
            return self._resync(0, Damage(pos, "BadRecord", "bytes that are not a WARC record (not a "
                                          "WARC file, or damaged); skipped to the next record",
                                          snippet=bytes(self.buf[:300])))
        crlf, lf = self.buf.find(b"\r\n\r\n", 0, MAX_HEADER), self.buf.find(b"\n\n", 0, MAX_HEADER)
        if crlf < 0 and lf < 0:
            if self.ended:
                return self._ended_inside(pos, Damage(pos, "TruncatedRecord", "the data ends inside "
                                                      "a record header", snippet=bytes(self.buf[:300])))
            return self._resync(1, Damage(pos, "BadRecord", f"record header over {MAX_HEADER} bytes"))
        head_len = lf + 2 if lf >= 0 and (crlf < 0 or lf < crlf) else crlf + 4
        headers = _parse_headers(bytes(self.buf[:head_len]))
        try:
            length = int(headers.get("content-length", "").strip())
            if length < 0:
                raise ValueError(length)
        except ValueError:
            return self._resync(1, Damage(pos, "BadRecord", "record has no valid Content-Length",
                                          headers, bytes(self.buf[:300])))
        wanted = self.wanted is None or headers.get("warc-type", "").lower() in self.wanted
        if length > self.max_block:
            return self._skip(pos, headers, head_len, length, wanted)
        end = head_len + length
        self._fill(end + 5)
        if len(self.buf) >= end and self._ends_well(end, pos):
            block = bytes(self.buf[head_len:end])
            self._drop(end)
            return Record(pos, headers, length, block)
        return self._resync(head_len, self._bad_length(pos, headers, head_len, length))

    def _bad_length(self, pos: int, headers: dict[str, str], head_len: int, length: int) -> Damage:
        end = head_len + length
        snippet = bytes(self.buf[head_len : head_len + 300])
        said = f"record declares a block of {length} bytes"
        if self.broken is not None and not self._clean_end_for(pos):
            self.reported = True
            have = f"{len(self.buf) - head_len} bytes of it" if len(self.buf) < end else "all of it"
            return Damage(pos, self.broken.error, f"{said}; {self.broken} after {have}", headers, snippet)
        if len(self.buf) < end:
            return Damage(pos, "TruncatedRecord", f"{said}; the data ends after "
                          f"{len(self.buf) - head_len}", headers, snippet)
        if _NEXT_HEADER.search(self.buf, head_len, end + 32):
            return Damage(pos, "TruncatedRecord", f"{said}; the next record starts inside it "
                          "(a cut record, or a Content-Length too large)", headers, snippet)
        return Damage(pos, "BadContentLength", f"{said}; it does not end there (a Content-Length "
                      "too small)", headers, snippet)

    def _ends_well(self, i: int, pos: int) -> bool:
        """Whether ``buf[i:]`` is how the record at ``pos`` ends: line-end bytes (the format
        says CRLF CRLF; writers add more), then the next record, NUL bytes (padding or a
        zeroed region: reported on their own as not a record) or the end of the data
        without damage to the record's member."""
        j = i
        while True:
            while j < len(self.buf) and self.buf[j] in b"\r\n":
                j += 1
            if j + 5 <= len(self.buf) or not self._fill(j + 5):
                break
        if j == len(self.buf):
            return self.ended and self._clean_end_for(pos)
        return self.buf.startswith(b"WARC/", j) or self.buf[j] == 0

    def _skip(self, pos: int, headers: dict[str, str], head_len: int, length: int, wanted: bool
              ) -> Record | Damage:
        """A block over the limit: dropped as it streams by, then checked like any other.
        The first place a record could start inside it is noted on the way, to go back
        there if the record turns out to lie about its length."""
        left = head_len + length  # bytes still to drop
        back: int | None = None
        tail = b""
        while True:
            take = min(left, len(self.buf))
            if back is None:
                back = self._restart_point(tail, take, pos)
            tail = bytes(self.buf[max(0, take - 16) : take])
            self._drop(take)
            left -= take
            if left == 0 or not self._fill(1):
                break
        self._fill(5)
        if left == 0 and self._ends_well(0, pos):
            if wanted:
                return Damage(pos, "DocumentTooLarge",
                              f"record of {length} bytes exceeds max_doc_bytes={self.max_block}", headers)
            return Record(pos, headers, length, None)
        said = f"record declares a block of {length} bytes (over max_doc_bytes={self.max_block})"
        if self.broken is not None and not self._clean_end_for(pos):
            self.reported = True
            damage = Damage(pos, self.broken.error, f"{said}; {self.broken}", headers)
        elif left:
            damage = Damage(pos, "TruncatedRecord", f"{said}; the data ends {left} bytes short", headers)
        else:
            damage = Damage(pos, "BadContentLength", f"{said}; it does not end there", headers)
        if back is not None and self.src.restart_at(back):
            self.reset()
            return damage
        return self._resync(0, damage)

    def _restart_point(self, tail: bytes, take: int, pos: int) -> int | None:
        """In the next ``take`` bytes of the buffer: a later gzip member, or (plain data)
        a ``WARC/`` line, as a file offset."""
        if self.src.gz:
            return next((p for a, p in self.marks if p != pos and a < self.start + take), None)
        # from the second byte on: the record's own header is not a place to go back to
        m = _NEXT_HEADER.search(tail + bytes(self.buf[:take]), 0 if tail else 1)
        return None if m is None else self.start - len(tail) + m.start()

    def _ended_inside(self, pos: int, damage: Damage) -> Damage:
        if self.broken is not None and not self._clean_end_for(pos):
            self.reported = True
            damage.error, damage.message = self.broken.error, f"{damage.message} ({self.broken})"
        self._drop(len(self.buf))
        return damage

    def _resync(self, i: int, damage: Damage) -> Damage:
        """Drop the buffer up to the next record header at or after ``buf[i]``, reading on
        as needed (or all of it, when the data ends first)."""
        while True:
            m = _NEXT_HEADER.search(self.buf, i)
            if m is not None:
                self._drop(m.start())
                return damage
            self._drop(max(i, len(self.buf) - 16))
            i = 0
            if not self._fill(len(self.buf) + 1):
                self._drop(len(self.buf))
                return damage


def _parse_headers(head: bytes) -> dict[str, str]:
    """Header fields (names lower-cased, first occurrence kept, folded lines joined)."""
    out: dict[str, str] = {}
    last = None
    for line in head.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")[1:]:
        if not line.strip():
            continue
        if line[0] in " \t" and last is not None:
            out[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep:
            last = name.strip().lower()
            out.setdefault(last, value.strip())
    return out


def records(raw: IO[bytes], max_block: int, wanted: frozenset[str] | None = None
            ) -> Iterator[Record | Damage]:
    """The records and damage of a WARC stream (plain or gzip, told by its first bytes), in
    file order. Blocks over ``max_block`` bytes are skipped unread (``block`` None); a
    record of a ``wanted`` type (lower-case WARC-Type) over it is ``DocumentTooLarge``."""
    src = MemberStream(raw)
    framer = _Framer(src, max_block, wanted)
    while True:
        item = framer.next()
        if item is not None:
            yield item
            continue
        broken = framer.broken
        if broken is None:
            return
        if not framer.reported:
            yield Damage(broken.member, broken.error, str(broken))
        if not src.resync(broken.member, _is_record_start):
            return
        framer.reset()


def _is_record_start(data: bytes) -> bool:
    return data.startswith(b"WARC/")
