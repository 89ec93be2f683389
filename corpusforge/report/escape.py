"""Strings of the web made inert for a page: control characters written out (a terminal
escape shows as ``\\x1b[31m``), then HTML-escaped, quotes included."""

from __future__ import annotations

import html

from corpusforge.controls import inert


def esc(value: object) -> str:
    """Any value as HTML text, safe in an element and in a quoted attribute."""
    return html.escape(inert("" if value is None else value, lines=True), quote=True)
