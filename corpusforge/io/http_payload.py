"""A tolerant HTTP response parser for WARC response records.

Real crawls hold headers ended by bare LF, bodies in chunked transfer encoding
(warcio's iana.org sample, wget WARCs), ``Content-Encoding: gzip`` headers on plain
payloads (ClueWeb09) and truncated bodies. Each quirk degrades to the raw bytes
rather than an exception. The one exception is a compressed body that inflates past
the caller's limit (a decompression bomb: a 100 kB gzip body can hold 100 MB of zeros):
decoding stops at the limit and raises ``PayloadTooLarge``.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass, field

import zstandard

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


class PayloadTooLarge(ValueError):
    """A compressed body decodes to more than the limit."""


def split_head(block: bytes) -> tuple[bytes, bytes]:
    """Header block and body, at the first blank line (CRLF or bare LF)."""
    crlf, lf = block.find(b"\r\n\r\n"), block.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return block, b""
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return block[:lf], block[lf + 2 :]
    return block[:crlf], block[crlf + 4 :]


def parse_response(block: bytes, limit: int | None = None) -> HttpResponse:
    """Status, headers (lower-cased names) and the decoded body of an HTTP response; a
    ``Content-Encoding`` body that decodes to more than ``limit`` bytes raises
    ``PayloadTooLarge`` (having held at most ``limit`` bytes of it)."""
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
    if encoding in DECODERS:
        try:
            decoded = DECODERS[encoding](resp.body, limit)
        except PayloadTooLarge:
            raise PayloadTooLarge(f"the Content-Encoding: {encoding} body of {len(resp.body)} bytes "
                                  f"decodes to more than {limit}") from None
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


def inflate(body: bytes, limit: int | None = None) -> bytes | None:
    """gzip or zlib or raw deflate; None when the bytes are none of them."""
    if not body:
        return body
    for wbits in (47, -15):  # 47: gzip or zlib by header; -15: raw deflate
        try:
            d = zlib.decompressobj(wbits)
            out = d.decompress(body, limit + 1 if limit else 0)
            if limit and (len(out) > limit or d.unconsumed_tail):
                raise PayloadTooLarge
            out += d.flush()
        except zlib.error:
            continue
        if limit and len(out) > limit:
            raise PayloadTooLarge
        return out
    return None


def unbrotli(body: bytes, limit: int | None = None) -> bytes | None:
    """Brotli (``br``), when the optional ``brotli`` module is installed; None otherwise
    or when the bytes are not brotli."""
    try:
        import brotli
    except ImportError:
        return None
    d = brotli.Decompressor()
    try:
        out = d.process(body, output_buffer_limit=limit + 1) if limit else d.process(body)
    except brotli.error:
        return None
    if limit and (len(out) > limit or not d.is_finished()):
        raise PayloadTooLarge
    return out


def unzstd(body: bytes, limit: int | None = None) -> bytes | None:
    """zstd (``zstd``); None when the bytes are not zstd."""
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
        out = reader.read(limit + 1) if limit else reader.read()
    except zstandard.ZstdError:
        return None
    if limit and len(out) > limit:
        raise PayloadTooLarge
    return out


#: ``Content-Encoding`` values undone on the body, each bounded by the caller's limit
DECODERS = {"gzip": inflate, "x-gzip": inflate, "deflate": inflate, "br": unbrotli, "zstd": unzstd}
