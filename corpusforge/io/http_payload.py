"""A tolerant HTTP response parser for WARC response records.

Real crawls hold headers ended by bare LF, bodies in chunked transfer encoding
(warcio's iana.org sample, wget WARCs), ``Content-Encoding: gzip`` headers on plain
payloads (ClueWeb09) and truncated bodies. Each quirk degrades to the raw bytes
rather than an exception.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

_STATUS = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:\-]+)", re.I)


@dataclass
class HttpResponse:
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: what was undone on the body (``chunked``, ``gzip``) or ignored as wrong (``gzip?``)
    notes: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return value.split(";", 1)[0].strip().lower() or None if value else None

    @property
    def charset(self) -> str | None:
        m = _CHARSET.search(self.headers.get("content-type", ""))
        return m.group(1).lower() if m else None


def split_head(block: bytes) -> tuple[bytes, bytes]:
    """Header block and body, at the first blank line (CRLF or bare LF)."""
    crlf, lf = block.find(b"\r\n\r\n"), block.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return block, b""
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return block[:lf], block[lf + 2 :]
    return block[:crlf], block[crlf + 4 :]


def parse_response(block: bytes) -> HttpResponse:
    """Status, headers (lower-cased names) and the decoded body of an HTTP response."""
    head, body = split_head(block)
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    m = _STATUS.match(lines[0]) if lines else None
    if not m:  # not an HTTP response at all: a bare payload
        return HttpResponse(None, {}, block)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    resp = HttpResponse(int(m.group(1)), headers, body)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        decoded = dechunk(body)
        if decoded is not None:
            resp.body = decoded
            resp.notes.append("chunked")
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        decoded = inflate(resp.body)
        if decoded is not None:
            resp.body = decoded
            resp.notes.append(encoding)
        else:
            resp.notes.append(f"{encoding}?")  # the header lied: the payload is plain
    return resp


def dechunk(body: bytes) -> bytes | None:
    """Undo chunked transfer encoding; None when the body is not chunked after all."""
    out, pos, n = [], 0, len(body)
    while pos < n:
        eol = body.find(b"\n", pos)
        if eol < 0:
            return None
        size_field = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            return None
        pos = eol + 1
        if size == 0:
            break
        out.append(body[pos : pos + size])
        pos += size
        # the CRLF after the chunk data
        if body[pos : pos + 2] == b"\r\n":
            pos += 2
        elif body[pos : pos + 1] == b"\n":
            pos += 1
    return b"".join(out)


def inflate(body: bytes) -> bytes | None:
    """gzip or zlib or raw deflate; None when the bytes are none of them."""
    if not body:
        return body
    for wbits in (47, -15):  # 47: gzip or zlib by header; -15: raw deflate
        try:
            d = zlib.decompressobj(wbits)
            out = d.decompress(body)
            return out + d.flush()
        except zlib.error:
            continue
    return None
