"""Decoding an HTML payload: the charset from the HTTP header, else the page's meta tag,
else detection. Japanese legacy encodings are decoded with their Windows supersets
(Shift_JIS as cp932), which is what browsers do and what real pages need."""

from __future__ import annotations

import codecs
import re

_META = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
#: labels as pages spell them -> the Python codec that decodes what those pages hold
_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932", "csshiftjis": "cp932", "ms932": "cp932",
    "euc-jp": "euc_jis_2004", "euc_jp": "euc_jis_2004", "x-euc-jp": "euc_jis_2004",
    "eucjp": "euc_jis_2004", "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "utf-8", "ascii": "utf-8", "utf8": "utf-8", "x-user-defined": "cp1252",
    "gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
    "big5": "big5hkscs",
}
#: how far into the page a meta tag is looked for
META_WINDOW = 4096


def codec_for(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when it is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    name = _ALIASES.get(label, label)
    try:
        return codecs.lookup(name).name if name not in _ALIASES.values() else name
    except LookupError:
        return None


def meta_charset(raw: bytes) -> str | None:
    m = _META.search(raw[:META_WINDOW])
    return m.group(1).decode("ascii", "ignore") if m else None


def _strict(raw: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return raw.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(raw: bytes, header_charset: str | None = None) -> tuple[str, str, str]:
    """``(text, codec, how)``: ``how`` is header, meta, utf-8, detected or fallback.

    A declared charset that does not decode the bytes is not trusted (pages lie); the
    next source is tried, and the last resort decodes with replacement characters.
    """
    for how, label in (("header", header_charset), ("meta", meta_charset(raw))):
        codec = codec_for(label)
        text = _strict(raw, codec)
        if text is not None:
            return text, codec, how
    text = _strict(raw, "utf-8")
    if text is not None:
        return text, "utf-8", "utf-8"
    from charset_normalizer import from_bytes

    # the whole payload: a multibyte character cut at a sample's end defeats detection
    best = from_bytes(raw).best()
    if best is not None:
        codec = codec_for(best.encoding) or best.encoding
        text = _strict(raw, codec)
        if text is not None:
            return text, codec, "detected"
    for codec in ("euc_jis_2004", "cp932"):  # EUC first: Shift_JIS lead bytes are invalid EUC
        text = _strict(raw, codec)
        if text is not None:
            return text, codec, "detected"
    declared = codec_for(header_charset) or codec_for(meta_charset(raw)) or "utf-8"
    return raw.decode(declared, errors="replace"), declared, "fallback"
