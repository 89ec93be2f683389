"""Quality filters, importable as a library and usable from pipelines by name.

>>> from corpusforge.filters import GopherQuality, JapaneseQuality
>>> JapaneseQuality().score(table)          # signal columns + keep + reason
"""

from corpusforge.filters.blocklist import NgWords, UrlFilter
from corpusforge.filters.c4 import C4Quality
from corpusforge.filters.code import CodeQuality
from corpusforge.filters.fineweb import FineWebQuality
from corpusforge.filters.gopher import GopherQuality, GopherRepetition
from corpusforge.filters.ja_normalize import JapaneseNormalize
from corpusforge.filters.langscore import LangScore
from corpusforge.filters.length import LengthFilter
from corpusforge.filters.llmjp import JapaneseLines, JapaneseQuality
from corpusforge.filters.pii import PiiMask
from corpusforge.filters.repetition import CharRepetition, WordRepetition
from corpusforge.filters.swallow import SwallowQuality

__all__ = [
    "C4Quality",
    "CharRepetition",
    "CodeQuality",
    "FineWebQuality",
    "GopherQuality",
    "GopherRepetition",
    "JapaneseLines",
    "JapaneseNormalize",
    "JapaneseQuality",
    "LangScore",
    "LengthFilter",
    "NgWords",
    "PiiMask",
    "SwallowQuality",
    "UrlFilter",
    "WordRepetition",
]
