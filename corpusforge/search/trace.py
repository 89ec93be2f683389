"""Tracing a text back to the corpus: its maximal spans that occur verbatim in it.

For each start position the longest span from it that occurs is found by extending one
character at a time; the span from the next start is at least that one minus its first
character (a substring of something that occurs occurs), so the extension never goes back
and a text of n characters takes about 2n counts. A span is reported when it is at least
``min_chars`` long and not inside the span of an earlier start (maximal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corpusforge.search.query import Corpus, Occurrence

#: occurrences listed per span (the count is always exact)
OCCURRENCES_SHOWN = 20


@dataclass
class Span:
    start: int
    end: int
    text: str
    count: int
    occurrences: list[Occurrence] = field(default_factory=list)


def trace(corpus: Corpus, text: str, min_chars: int = 20,
          shown: int = OCCURRENCES_SHOWN) -> list[Span]:
    """The maximal spans of ``text`` of at least ``min_chars`` characters that occur in the
    corpus, in text order."""
    spans: list[Span] = []
    end = 0  # text[i:end] occurs (empty when end <= i)
    for i in range(len(text)):
        end = max(end, i)
        while end < len(text) and corpus.occurs(text[i:end + 1]):
            end += 1
        if end - i >= min_chars and (not spans or end > spans[-1].end):
            piece = text[i:end]
            spans.append(Span(i, end, piece, corpus.count(piece), corpus.locate(piece, shown)[:shown]))
        if end == len(text):
            break  # every later start's span ends here too: inside this one
    return spans
