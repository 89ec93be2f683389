"""Language identification (fastText) and routing by language; code routed by extension."""

from corpusforge.langid.code import CodeRoute
from corpusforge.langid.step import LangId

__all__ = ["CodeRoute", "LangId"]
