"""Text normalisation for hashing, on whole Arrow columns.

Two documents that differ only in width (ＡＢＣ/ABC), case, digits, punctuation (ASCII
and CJK: 、。「」・！) or spacing should hash alike. The rules depend on how the text
is shingled:

* ``char`` (Japanese, Chinese): NFKC, lower case, every digit -> ``0``, punctuation,
  symbols and whitespace removed — spacing carries no meaning in Japanese and
  would only shift character n-grams.
* ``word`` (English, code): NFKC, lower case, digits -> ``0``, punctuation and symbols
  become spaces, runs of whitespace one space, trimmed.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

Mode = Literal["char", "word"]

# \p{P} punctuation and \p{S} symbols cover the CJK ranges (、。「」『』・〜！？ and
# full-width forms, which NFKC has mapped to ASCII already)
_PUNCT = r"[\p{P}\p{S}]+"


def normalize_for_hash(texts: pa.Array | pa.ChunkedArray, mode: Mode) -> pa.Array:
    """The normalised text column (same length, nulls become empty strings)."""
    t = pc.fill_null(texts, "")
    t = pc.utf8_normalize(t, "NFKC")
    t = pc.utf8_lower(t)
    t = pc.replace_substring_regex(t, r"\p{Nd}", "0")
    if mode == "char":
        t = pc.replace_substring_regex(t, r"[\p{P}\p{S}\s\p{Z}]+", "")
    else:
        t = pc.replace_substring_regex(t, _PUNCT, " ")
        t = pc.replace_substring_regex(t, r"[\s\p{Z}]+", " ")
        t = pc.utf8_trim_whitespace(t)
    if isinstance(t, pa.ChunkedArray):
        t = t.combine_chunks()
    return t
