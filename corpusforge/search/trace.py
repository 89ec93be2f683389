"""Tracing a text back to the corpus: its maximal spans that occur verbatim in it.

For each start position the longest span from it that occurs is found by extending one
character at a time, each longer span searched inside the suffix range of the shorter one;
the span from the next start is at least that one minus its first character (a substring of
something that occurs occurs), so the extension never goes back and a text of n characters
takes about 2n searches, half of them narrow. A span is reported when it is at least
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
    shards = list(corpus._exact.values())
    end = 0  # text[i:end] occurs (empty when end <= i)
    for i in range(len(text)):
        end = max(end, i)
        # the suffix range of text[i:end] in each shard; each extension searches inside it
        ranges = [ix.range(text[i:end].encode("utf-8")) if end > i else (0, len(ix.sa)) for ix in shards]
        while end < len(text):
            piece = text[i:end + 1].encode("utf-8")
            longer = [ix.range(piece, r) if r[1] > r[0] else r for ix, r in zip(shards, ranges)]
            if not any(hi > lo for lo, hi in longer):
                break
            ranges, end = longer, end + 1
        if end - i >= min_chars and (not spans or end > spans[-1].end):
            piece = text[i:end]
            spans.append(Span(i, end, piece, sum(hi - lo for lo, hi in ranges), corpus.locate(piece, shown)[:shown]))
        if end == len(text):
            break  # every later start's span ends here too: inside this one
    return spans
