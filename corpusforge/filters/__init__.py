"""Quality filters, importable as a library and usable from pipelines by name."""

from corpusforge.filters.length import LengthFilter

__all__ = ["LengthFilter"]
