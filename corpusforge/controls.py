"""Control characters written out: text of unvetted sources (documents, file names, messages)
shown in a terminal or a page never reaches it as escape sequences or reordering marks."""

from __future__ import annotations

import re

#: DEL and C1 controls (``\x9b`` starts a sequence as ``\x1b[`` does), and the format
#: characters that make a terminal show text in another order than it is written
_OTHERS = "\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: for one line of text: those and every C0 control
_ONE_LINE = re.compile(f"[\x00-\x1f{_OTHERS}]")
#: for a message of several lines: those and the C0 controls but tab and newline
_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]")


def _written_out(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(value: object, *, lines: bool = False) -> str:
    """``str(value)`` with its control characters written out; ``lines`` keeps newlines and
    tabs (a message of several lines)."""
    return (_LINES if lines else _ONE_LINE).sub(_written_out, str(value))
