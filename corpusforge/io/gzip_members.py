"""The decoded bytes of a plain or multi-member gzip stream, member by member, and the way
back into it after a damaged member.

A ``.warc.gz`` is a sequence of gzip members, one per record: a member that is corrupt or
cut costs what it holds, and the next intact member is where reading can go on. Python's
``gzip`` module hides the members (and stops at the first bad one), so this module drives
``zlib`` itself: decoded pieces never span two members and carry the offset of the member
they come from, and ``resync`` finds the next member that inflates to what the caller
expects. Plain data passes through with its own offsets.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import IO

#: raw bytes read at a time, and most decoded bytes taken from gzip at once
CHUNK = 2**20
#: compressed bytes given to zlib at once (what follows a member's end comes back as a copy)
_FEED = 2**16
#: compressed bytes judged when looking for the next member
_PROBE = 2**16
GZIP_MAGIC = b"\x1f\x8b\x08"


class Broken(Exception):
    """The gzip layer failed: a member is corrupt or the data ends inside one."""

    def __init__(self, error: str, member: int, message: str) -> None:
        super().__init__(message)
        self.error, self.member = error, member


class MemberStream:
    """The decoded bytes of a plain or gzip (multi-member) stream, as pieces that never
    span two gzip members, each with its decoded offset and its position."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self._set(raw.read(CHUNK), 0)
        self.gz = self.inbuf[:2] == GZIP_MAGIC[:2]
        self.raw_ended = not self.inbuf
        self.decoded = 0  # decoded offset of the next piece
        self._new_member()

    def _set(self, data: bytes, offset: int) -> None:
        """Raw bytes not yet decoded: ``data[i:]``, the first at file offset ``offset``."""
        self.inbuf, self.i, self.base = data, 0, offset

    @property
    def in_off(self) -> int:
        """File offset of the next raw byte to decode."""
        return self.base + self.i

    def _left(self) -> int:
        return len(self.inbuf) - self.i

    def _more(self) -> None:
        data = self.raw.read(CHUNK)
        if data:
            self._set(self.inbuf[self.i :] + data if self._left() else data, self.in_off)
        else:
            self.raw_ended = True

    def _new_member(self) -> None:
        self.dec = zlib.decompressobj(31) if self.gz else None
        self.member, self.started = self.in_off, False

    def piece(self) -> tuple[int, int, bytes]:
        """``(decoded offset, position, bytes)``, ``b""`` at the end; ``Broken`` when a
        gzip member is corrupt or cut."""
        while True:
            if not self._left() and not self.raw_ended:
                self._more()
            at = self.decoded
            if not self.gz:
                data = self.inbuf[self.i :] if self.i else self.inbuf
                self._set(b"", self.in_off + len(data))
                self.decoded += len(data)
                return at, at, data
            if not self._left() and not self.started:
                return at, self.member, b""  # the end, between two members
            self.started = True
            # fed in slices: what follows the end of a member comes back as a copy
            fed = memoryview(self.inbuf)[self.i : self.i + _FEED]
            try:
                out = self.dec.decompress(fed, CHUNK)
            except zlib.error as e:
                raise Broken("CorruptGzip", self.member, f"gzip member is corrupt ({e})") from None
            rest = self.dec.unused_data if self.dec.eof else self.dec.unconsumed_tail
            self.i += len(fed) - len(rest)
            member = self.member
            if self.dec.eof:
                self._new_member()
            if out:
                self.decoded += len(out)
                return at, member, out
            if not self.dec.eof and not self._left() and self.raw_ended:
                raise Broken("TruncatedRecord", self.member, "the data ends inside a gzip member")

    def resync(self, after: int, starts_well: Callable[[bytes], bool]) -> bool:
        """Go on at the first intact gzip member after file offset ``after`` whose first
        decoded bytes satisfy ``starts_well``; False when there is none (or no gzip)."""
        if not self.gz:
            return False
        if self.raw.seekable():
            # the damaged member may have swallowed the start of the next one: look from it
            self.raw.seek(after + 1)
            self._set(b"", after + 1)
            self.raw_ended = False
        while True:
            while self._left() < 2 * _PROBE and not self.raw_ended:
                self._more()
            data = self.inbuf[self.i :]
            self._set(data, self.in_off)
            start = data.find(GZIP_MAGIC, max(0, after + 1 - self.base))
            while start >= 0 and (len(data) - start >= _PROBE or self.raw_ended):
                if _inflates_to(data[start : start + _PROBE], starts_well):
                    self.i = start
                    self._new_member()
                    return True
                start = data.find(GZIP_MAGIC, start + 1)
            if self.raw_ended and start < 0:
                self.i = len(data)
                return False
            self.i = start if start >= 0 else max(0, len(data) - len(GZIP_MAGIC))
            self._more()

    def restart_at(self, offset: int) -> bool:
        """Read on from file offset ``offset`` (a gzip member or a record), when the stream
        can seek back."""
        if not self.raw.seekable():
            return False
        self.raw.seek(offset)
        self._set(b"", offset)
        self.raw_ended = False
        if not self.gz:
            self.decoded = offset
        self._new_member()
        return True


def _member_holds_warc(data: bytes) -> bool:
    try:
        return zlib.decompressobj(31).decompress(data, 16).startswith(b"WARC/")
    except zlib.error:
        return False


def _inflates_to(data: bytes, starts_well: Callable[[bytes], bool]) -> bool:
    try:
        return starts_well(zlib.decompressobj(31).decompress(data, 16))
    except zlib.error:
        return False
