"""Reading remote files through fsspec with retries and exponential backoff.

A transient failure (connection reset, timeout, HTTP 429/5xx) while opening or in the
middle of a stream re-opens the file and resumes at the byte where it broke: by a seek
(ranged requests) where the filesystem allows it, else by reading up to that offset
again. Permanent failures (404, permission) are raised at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import time
from collections.abc import Callable
from typing import IO

import fsspec

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


def is_transient(exc: BaseException) -> bool:
    """Whether retrying may help."""
    cause = exc.__cause__
    if cause is not None and cause is not exc and is_transient(cause):
        # fsspec's HTTP filesystem reports a 503 on open as FileNotFoundError from the 503
        return True
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return False
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in TRANSIENT_STATUS
    if isinstance(exc, socket.gaierror):
        return False  # the host name does not resolve (offline, typo): seconds will not fix it
    try:
        import aiohttp

        dns_error = getattr(aiohttp, "ClientConnectorDNSError", None)
        if dns_error is not None and isinstance(exc, dns_error):
            return False
        if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
            return True
    except ImportError:  # pragma: no cover - aiohttp comes with the http filesystem
        pass
    return isinstance(exc, ConnectionError | TimeoutError | asyncio.TimeoutError | EOFError)


def with_retries(fn: Callable[[], object], retries: int, backoff: float, what: str):
    """Call ``fn`` until it succeeds, a permanent error occurs or ``retries`` run out."""
    delay = backoff
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - classified below
            if attempt == retries or not is_transient(e):
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError(f"unreachable: {what}")  # pragma: no cover


class RetryingReader(io.RawIOBase):
    """A raw binary stream over ``path`` that survives transient failures."""

    def __init__(self, path: str, retries: int = 5, backoff: float = 1.0, block_size: int = 8 * 2**20):
        super().__init__()
        self.path, self.retries, self.backoff, self.block_size = path, retries, backoff, block_size
        self.pos = 0
        self.reopened = 0
        self._f: IO[bytes] | None = None
        self._open()

    def _open(self) -> None:
        def attempt() -> IO[bytes]:
            f = fsspec.open(self.path, "rb", block_size=self.block_size).open()
            if self.pos:
                if f.seekable():
                    f.seek(self.pos)
                else:  # a plain stream: read up to where we were
                    left = self.pos
                    while left:
                        chunk = f.read(min(left, self.block_size))
                        if not chunk:
                            raise EOFError(f"{self.path} ended at {self.pos - left} on reopen")
                        left -= len(chunk)
            return f

        self._f = with_retries(attempt, self.retries, self.backoff, f"open {self.path}")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Positioning for readers that ask (fastwarc does); backwards re-opens at the target."""
        if whence == io.SEEK_CUR:
            offset += self.pos
        elif whence == io.SEEK_END:
            raise io.UnsupportedOperation("seek from the end of a remote stream")
        if offset == self.pos:
            return self.pos
        if self._f is not None and self._f.seekable():
            self._f.seek(offset)
            self.pos = offset
        elif offset > self.pos:
            while self.pos < offset and self.read(min(offset - self.pos, self.block_size)):
                pass
        else:
            self._close_inner()
            self.pos = offset
            self._open()
        return self.pos

    def readinto(self, buffer) -> int:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                data = self._f.read(len(buffer))
                break
            except Exception as e:  # noqa: BLE001
                if attempt == self.retries or not is_transient(e):
                    raise
                time.sleep(delay)
                delay *= 2
                self._close_inner()
                self.reopened += 1
                self._open()
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n

    def _close_inner(self) -> None:
        if self._f is not None:
            with contextlib.suppress(Exception):  # the connection is already broken
                self._f.close()
            self._f = None

    def close(self) -> None:
        self._close_inner()
        super().close()


def open_retrying(path: str, retries: int, backoff: float) -> IO[bytes]:
    """A buffered binary stream; local files are opened directly (nothing to retry)."""
    if "://" not in path or path.startswith("file://"):
        return open(path.removeprefix("file://"), "rb")  # noqa: SIM115 - returned to the caller
    return io.BufferedReader(RetryingReader(path, retries, backoff), buffer_size=2**20)
