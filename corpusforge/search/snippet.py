"""A window of a document's text around a match, with the spans to highlight in it."""

from __future__ import annotations

import re

from corpusforge.search.analysis import terms

#: characters shown either side of the first match
CONTEXT = 80


def window(text: str, start: int, end: int, spans: list[tuple[int, int]] | None = None,
           context: int = CONTEXT) -> tuple[str, list[tuple[int, int]]]:
    """``text`` around ``[start, end)`` and the highlight spans (default: that range)
    shifted into it."""
    lo, hi = max(0, start - context), min(len(text), end + context)
    spans = spans if spans is not None else [(start, end)]
    inside = [(max(s, lo) - lo, min(e, hi) - lo) for s, e in spans if e > lo and s < hi]
    return text[lo:hi], inside


def term_window(text: str, query: str, context: int = CONTEXT) -> tuple[str, list[tuple[int, int]]]:
    """The window around the first place ``query``'s terms occur, those occurrences
    highlighted (a BM25 or dense hit: no single exact match)."""
    words = sorted(set(terms(query)))
    if not words:
        return text[:2 * context], []
    # a lookahead finds overlapping occurrences (Japanese bigrams overlap), merged below
    pattern = re.compile("(?=(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + "))",
                         re.IGNORECASE)
    spans: list[tuple[int, int]] = []
    for m in pattern.finditer(text):
        s, e = m.span(1)
        if spans and s <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], e))
        else:
            spans.append((s, e))
    if not spans:
        return text[:2 * context], []
    return window(text, spans[0][0], spans[0][1], spans, context)
