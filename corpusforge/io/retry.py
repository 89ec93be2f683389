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
from collections.abc import Callable
from typing import IO

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from corpusforge.io.storage import filesystem

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


def retrying(retries: int, backoff: float, before_retry: Callable[[], None] | None = None) -> Retrying:
    """Up to ``retries`` retries of transient errors, ``backoff`` seconds before the first and
    twice as long before each next one; a permanent error, or the last one, is raised as is.

    ``before_retry`` runs after the wait, before each retry (re-opening a broken stream);
    what it raises ends the retries.
    """

    def before(state: RetryCallState) -> None:
        if before_retry is not None and state.attempt_number > 1:
            before_retry()

    return Retrying(stop=stop_after_attempt(retries + 1), wait=wait_exponential(multiplier=backoff),
                    retry=retry_if_exception(is_transient), before=before, reraise=True)


class RetryingReader(io.RawIOBase):
    """A raw binary stream over ``path`` that survives transient failures."""

    def __init__(self, path: str, retries: int = 5, backoff: float = 1.0, block_size: int = 8 * 2**20):
        super().__init__()
        self.path, self.retries, self.backoff, self.block_size = path, retries, backoff, block_size
        self.pos = 0
        self.reopened = 0
        self._f: IO[bytes] | None = None
        self._retry_open = retrying(retries, backoff)
        self._retry_read = retrying(retries, backoff, before_retry=self._reopen)
        self._open()

    def _open(self) -> None:
        def attempt() -> IO[bytes]:
            fs, root = filesystem(self.path)
            f = fs.open(root, "rb", block_size=self.block_size)
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

        self._f = self._retry_open(attempt)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Positioning for readers that ask (the WARC reader goes back to resynchronise after
        damage); backwards re-opens at the target."""
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
        data = self._retry_read(lambda: self._f.read(len(buffer)))
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n

    def _reopen(self) -> None:
        """After a read broke: a new connection at ``pos`` (retried on its own)."""
        self._close_inner()
        self.reopened += 1
        self._open()

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
