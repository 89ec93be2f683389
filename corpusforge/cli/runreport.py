"""``corpusforge report OUT``: write the run report of an output folder (report.html)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from corpusforge.cli.terminal import literal


def report(out: Annotated[str, typer.Argument(help="a run's output folder or an incremental corpus's root (local or a bucket URL)")]) -> None:
    """Write OUT/report.html: the funnel, removal reasons, signal histograms, tokens, errors,
    times and samples of removed documents, from the run's stats (no pass over the data).
    One self-contained file: open it in any browser, offline. For an incremental corpus: its
    snapshots from the manifest, each linking to the snapshot's own report."""
    from corpusforge.report import write_report

    console = Console()
    t0 = time.perf_counter()
    try:
        path = write_report(out)
    except (OSError, ValueError) as e:
        Console(stderr=True).print(literal(f"cannot write the report of {out}: {e}", "red", lines=True))
        raise typer.Exit(1) from None
    console.print(literal(f"wrote {path} in {time.perf_counter() - t0:.2f} s"))
