"""HTML to text: charset resolution and trafilatura or resiliparse extraction in an isolated worker."""

from corpusforge.extract.charset import decode_html
from corpusforge.extract.step import ExtractHtml

__all__ = ["ExtractHtml", "decode_html"]
