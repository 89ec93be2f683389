"""Logging of ``corpusforge run``: the run log ``<output>/_logs/run.log`` (every line at INFO
and above: each task queued and done, with its counts and node; warnings for error records)
and, in the terminal, only what ``--log-level`` asks for (warnings by default: the progress
bar and the summary are the terminal's view of a run)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from rich.console import Console
from rich.logging import RichHandler

from corpusforge.controls import inert

LOG_DIR, LOG_FILE = "_logs", "run.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogLevel(str, Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class _RunLogFile(logging.FileHandler):
    """Appends to the run log, opened on the first line: after the run has prepared its output
    (an ``--overwrite`` clears the folder first)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, mode="a", encoding="utf-8", delay=True)

    def _open(self):  # noqa: ANN202 - logging's own signature
        os.makedirs(os.path.dirname(self.baseFilename), exist_ok=True)
        return super()._open()


class _Inert(logging.Formatter):
    """Lines with their control characters written out (messages may quote documents)."""

    def format(self, record: logging.LogRecord) -> str:
        return inert(super().format(record), lines=True)


@contextmanager
def run_logging(output: str, level: LogLevel, console: Console,
                *more: logging.Handler) -> Iterator[str | None]:
    """Log the run to ``<output>/_logs/run.log`` (a local output; a bucket gets none), to the
    terminal at ``level`` and to ``more`` handlers (the progress view); yields the log's path."""
    logger = logging.getLogger("corpusforge")
    handlers: list[logging.Handler] = list(more)
    path = None
    terminal = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    terminal.setLevel(level.value.upper())
    terminal.setFormatter(_Inert("%(name)s: %(message)s"))
    handlers.append(terminal)
    if "://" not in output:
        path = os.path.join(os.path.abspath(output), LOG_DIR, LOG_FILE)
        file = _RunLogFile(path)
        file.setLevel(min(logging.INFO, logging.getLevelName(level.value.upper())))
        formatter = _Inert(FORMAT, datefmt="%Y-%m-%dT%H:%M:%SZ")
        formatter.converter = time.gmtime
        file.setFormatter(formatter)
        handlers.append(file)
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(min(h.level for h in handlers))
    logger.propagate = False
    for h in handlers:
        logger.addHandler(h)
    try:
        yield path
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(old_level)
        logger.propagate = old_propagate
