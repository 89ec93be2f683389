"""A pipeline file loaded for a command: validated and planned, or refused with exit code 2."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from corpusforge.cli.terminal import literal
from corpusforge.errors import EXIT_REFUSED
from corpusforge.yamlsource import ConfigError

err_console = Console(stderr=True)


def load_checked(path: Path):
    """Load, validate and plan a pipeline; a bad config exits with code 2 before any work."""
    from corpusforge.config import load_pipeline
    from corpusforge.engine.inputs_guard import check_no_overlap
    from corpusforge.io.inputs import plan_units

    try:
        pipeline, doc = load_pipeline(str(path))
        units = plan_units(pipeline.inputs, doc.lines, doc.file)
        check_no_overlap(pipeline.output.path, units, doc.lines, doc.file)
    except ConfigError as e:
        # file names, keys and values in the messages are the config author's, shown literally
        err_console.print(literal(e.render(), "red", lines=True))
        raise typer.Exit(EXIT_REFUSED) from None
    return pipeline, units
