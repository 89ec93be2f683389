"""Text in a configured encoding: the ``encoding`` option of the readers of plain text, and
decoding that turns invalid bytes into an error record instead of an exception."""

from __future__ import annotations

import codecs
from typing import Annotated

from pydantic import AfterValidator

from corpusforge.errors import SNIPPET_CHARS, ErrorRecord
from corpusforge.io.fields import too_large


def _known(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, shift_jis, cp932, euc_jp)") from None


#: a codec name Python knows (``utf-8``, ``shift_jis``, ``cp932``, ``euc_jp`` ...), kept in its
#: canonical spelling (``euc-jp`` becomes ``euc_jp``)
Encoding = Annotated[str, AfterValidator(_known)]


def ascii_compatible(encoding: str) -> bool:
    """Whether line ends, spaces and tabs are the ASCII bytes in ``encoding`` (so that lines
    and paragraphs can be found in the bytes before decoding). True for UTF-8, Shift_JIS,
    EUC-JP, the ISO-8859 family ...; false for UTF-16 and UTF-32."""
    return "\n\r \t".encode(encoding) == b"\n\r \t"


def bom_length(data: bytes, encoding: str) -> int:
    """Bytes of a UTF-8 byte-order mark opening ``data`` (0 for other encodings, whose codecs
    deal with their own marks)."""
    return len(codecs.BOM_UTF8) if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8) else 0


def decode(data: bytes, encoding: str, file: str, position: int, max_doc_bytes: int,
           id: str | None = None, what: str = "document") -> str | ErrorRecord:
    """``data`` as text, or the error record of its first invalid byte (``InvalidUtf8`` as the
    other readers say for UTF-8, ``InvalidEncoding`` for other encodings) or of a text over
    ``max_doc_bytes`` once in UTF-8 (a legacy encoding grows: kana take 2 bytes in Shift_JIS,
    3 in UTF-8)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        error = "InvalidUtf8" if encoding == "utf-8" else "InvalidEncoding"
        shown = data[: SNIPPET_CHARS * 4].decode(encoding, "backslashreplace")[:SNIPPET_CHARS]
        return ErrorRecord("read", error, f"invalid {encoding} at byte {e.start} of the {what}: "
                           f"{data[e.start:e.end]!r} ({e.reason})", file, position, id=id, snippet=shown)
    if encoding != "utf-8" and len(text) > max_doc_bytes // 4:
        n = len(text.encode("utf-8"))
        if n > max_doc_bytes:
            return too_large(file, position, n, max_doc_bytes, text, id=id)
    return text
