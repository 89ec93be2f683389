"""Text for the terminal from sources nobody vetted: documents, someone else's ``stats.json``,
pipeline names, file names, exception messages.

Rich interprets markup (``[bold red]``) and emoji codes in plain strings, and passes escape
sequences through untouched, so such text is always printed as a :class:`~rich.text.Text` made
by :func:`literal`: no markup, and every control character written out (``\\x1b``) instead of
reaching the terminal, which would obey it (clear the screen, retitle the window, hide lines).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType

from rich.text import Text

from corpusforge.controls import inert


def literal(value: object, style: str = "", *, lines: bool = False) -> Text:
    """``value`` as rich text shown exactly as written, with its control characters made
    visible (see :func:`inert`)."""
    return Text(inert(value, lines=lines), style=style)


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def inert_tracebacks(hook: ExceptHook) -> ExceptHook:
    """``hook`` (``sys.excepthook``: the traceback of an error nothing caught) showing messages
    with their control characters written out: they may quote a document or a file name."""

    def show(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        seen: set[int] = set()
        e: BaseException | None = error
        while e is not None and id(e) not in seen:  # the error and what it came from
            seen.add(id(e))
            e.args = tuple(inert(a, lines=True) if isinstance(a, str) else a for a in e.args)
            if isinstance(e, OSError):
                e.filename = inert(e.filename) if isinstance(e.filename, str) else e.filename
                e.filename2 = inert(e.filename2) if isinstance(e.filename2, str) else e.filename2
            e = e.__cause__ or e.__context__
        hook(kind, error, tb)

    return show


def install_inert_tracebacks() -> None:
    """Wrap the current ``sys.excepthook`` (typer's, set as the app starts) once."""
    if not getattr(sys.excepthook, "_inert", False):
        sys.excepthook = inert_tracebacks(sys.excepthook)
        sys.excepthook._inert = True  # type: ignore[attr-defined]
