"""A zstd reader that notices truncation.

``zstandard``'s stream reader returns end of file when its input ends, even in the middle
of a frame: a file cut where the output happens to end on a line boundary then reads as a
shorter, valid file. ``decompressobj`` has an ``eof`` flag but no output limit, and zstd
inflates a few kilobytes into gigabytes. So decompression stays with the stream reader
(bounded reads) while the compressed bytes are followed on their way to it through the
frame layout (RFC 8878: frame header, block headers, checksum; skippable frames): at the
end of the input the walk knows whether the last frame was complete.
"""

from __future__ import annotations

import io
from typing import IO

import zstandard

#: compressed bytes read at a time
CHUNK = 2**20
_MAGIC = 0xFD2FB528


class TruncatedZstd(EOFError):
    """The input ended inside a zstd frame."""


class _FrameWalk:
    """The position in the zstd frame layout of the bytes seen so far."""

    def __init__(self) -> None:
        self.state, self.need, self.head = "magic", 4, b""
        self.seen = 0
        self.last = self.checksum = False
        #: where the bytes stop being zstd, and why (the walk goes no further)
        self.bad: tuple[int, str] | None = None

    @property
    def between_frames(self) -> bool:
        return self.state == "magic" and not self.head

    def feed(self, data: bytes) -> int:
        """Follow ``data``; the number of its bytes that belong to the zstd stream (all of
        them, unless ``bad`` is set on the way)."""
        i, n = 0, len(data)
        while i < n and self.bad is None:
            if self.state in ("block", "skip"):  # contents: skipped without looking
                take = min(self.need, n - i)
                i += take
                self.need -= take
                if self.need == 0:
                    self._after_contents()
                continue
            take = min(self.need - len(self.head), n - i)
            self.head += data[i : i + take]
            i += take
            if len(self.head) == self.need:
                head, self.head = self.head, b""
                try:
                    self._parse(head)
                except zstandard.ZstdError as e:
                    self.bad = (self.seen + i - len(head), str(e))
                    i -= len(head)
        self.seen += i
        return i

    def _parse(self, head: bytes) -> None:
        value = int.from_bytes(head, "little")
        if self.state == "magic":
            if value == _MAGIC:
                self.state, self.need = "descriptor", 1
            elif value >> 4 == 0x184D2A5:
                self.state, self.need = "skip_size", 4
            else:
                raise zstandard.ZstdError("bytes that are not a zstd frame")
        elif self.state == "descriptor":
            fcs_flag, single, self.checksum, did_flag = value >> 6, (value >> 5) & 1, bool(value & 4), value & 3
            rest = (0 if single else 1) + (0, 1, 2, 4)[did_flag] + ((1 if single else 0), 2, 4, 8)[fcs_flag]
            self.state, self.need = ("header", rest) if rest else ("block_header", 3)
        elif self.state == "header":
            self.state, self.need = "block_header", 3
        elif self.state == "block_header":
            self.last, kind, size = bool(value & 1), (value >> 1) & 3, value >> 3
            if kind == 3:
                raise zstandard.ZstdError("a zstd block of the reserved type")
            self.state, self.need = "block", (1 if kind == 1 else size)
            if self.need == 0:
                self._after_contents()
        elif self.state == "skip_size":
            self.state, self.need = "skip", value
            if value == 0:
                self.state, self.need = "magic", 4
        elif self.state == "checksum":
            self.state, self.need = "magic", 4

    def _after_contents(self) -> None:
        if self.state == "skip" or not self.last:
            self.state, self.need = ("magic", 4) if self.state == "skip" else ("block_header", 3)
        else:
            self.state, self.need = ("checksum", 4) if self.checksum else ("magic", 4)


class _Followed(io.RawIOBase):
    """The compressed stream, passed through the frame walk on its way to the decoder."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self.raw, self.walk, self.ended = raw, _FrameWalk(), False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # past damage the decoder sees the end of its input, so that it hands out what it
        # decoded before it; the reader then raises (a decoder error would drop that data)
        data = b"" if self.walk.bad is not None else self.raw.read(size if size and size > 0 else CHUNK)
        if not data:
            self.ended = True
            return data
        return data[: self.walk.feed(data)]

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ZstdReader(io.RawIOBase):
    """Decompressed bytes of a stream of zstd frames; ``TruncatedZstd`` when the input ends
    inside a frame, instead of a quiet end of file."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self.raw = raw
        self._src = _Followed(raw)
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            self._src, read_size=CHUNK, read_across_frames=True, closefd=False)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._reader.readinto(buffer)
        if n == 0:
            while not self._src.ended:  # the decoder stopped early: look at what is left
                self._src.read(CHUNK)
            if self._src.walk.bad is not None:
                at, why = self._src.walk.bad
                raise zstandard.ZstdError(f"{why} at compressed byte {at}")
            if not self._src.walk.between_frames:
                raise TruncatedZstd(f"zstd stream ends inside a frame at compressed byte "
                                    f"{self._src.walk.seen} (the file is truncated)")
        return n

    def close(self) -> None:
        try:
            self._reader.close()
            self.raw.close()
        finally:
            super().close()


def open_zstd(raw: IO[bytes]) -> IO[bytes]:
    """A binary reader over the zstd stream ``raw`` that raises on truncation.

    Unbuffered on purpose: a read returns what was decoded before the end of the input and
    the next one raises, so the caller keeps every byte before the break (a buffered
    reader asked for more would drop them with the exception)."""
    return ZstdReader(raw)
