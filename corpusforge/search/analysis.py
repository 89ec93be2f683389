"""How full-text search sees a text: the terms it is indexed and queried by.

Japanese and Chinese have no spaces between words, so a run of kana or kanji becomes its
overlapping character bigrams (a run of one character stays whole): no dictionary, no
downloads, and any two-character word is found. Other text (English, code) is split into
words and identifiers, lowercased. The same function analyses documents and queries.
"""

from __future__ import annotations

import re

#: kana, CJK ideographs (and extension A, compatibility), half-width katakana, the
#: prolonged sound mark
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_TERM = re.compile(f"[{_CJK}]+|[^\\W{_CJK}]+")
_CJK_RUN = re.compile(f"[{_CJK}]")


def terms(text: str) -> list[str]:
    """The index terms of ``text``, in order."""
    out: list[str] = []
    for run in _TERM.findall(text):
        if _CJK_RUN.match(run):
            out.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
        else:
            out.append(run.lower())
    return out


def is_cjk(text: str) -> bool:
    """Whether ``text`` starts with kana or a CJK ideograph (a run analysed into bigrams)."""
    return bool(_CJK_RUN.match(text))
