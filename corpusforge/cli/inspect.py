"""``corpusforge inspect OUT``: removed (or kept) documents of a run in the terminal, with
their reason and signal values; ``--compare`` puts kept and removed documents near a
threshold side by side. Every document string is printed literally (``cli/terminal.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from corpusforge.cli.terminal import literal

#: columns of a reject row shown in its header, not as signals
_HEADER = ("id", "source", "url", "step", "reason", "file", "position", "text")


def inspect(
    out: Annotated[str, typer.Argument(help="a run's output folder")],
    step: Annotated[Optional[str], typer.Option(help="only this step's documents")] = None,
    reason: Annotated[Optional[str], typer.Option(help="only this removal reason")] = None,
    lang: Annotated[Optional[str], typer.Option(help="only documents of this language (a `lang` column)")] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="documents to show")] = 10,
    kept: Annotated[bool, typer.Option(help="kept documents (the output) instead of removed ones")] = False,
    compare: Annotated[bool, typer.Option(help="kept and removed documents nearest a threshold of --step, side by side")] = False,
    signal: Annotated[Optional[str], typer.Option(help="the signal --compare sorts by (default: one with a threshold)")] = None,
    chars: Annotated[int, typer.Option(min=20, help="characters of text shown per document")] = 600,
    pager: Annotated[bool, typer.Option(help="page through the output")] = False,
) -> None:
    """Show removed documents (or --kept ones) with their reason and signal values."""
    from corpusforge.cli.inspection import compare_rows, kept_rows, removed_rows

    console = Console()
    try:
        if compare:
            if step is None:
                raise ValueError("--compare needs --step")
            name, thresholds, near_kept, near_removed = compare_rows(out, step, signal, lang, n)
            renderable: Any = _side_by_side(name, thresholds, near_kept, near_removed, chars)
        else:
            rows = kept_rows(out, lang, n) if kept else removed_rows(out, step, reason, lang, n)
            if not rows:
                renderable = literal("no documents match", "yellow")
            else:
                renderable = Group(*(_panel(r, chars) for r in rows))
    except (OSError, ValueError) as e:
        Console(stderr=True).print(literal(f"cannot inspect {out}: {e}", "red", lines=True))
        raise typer.Exit(1) from None
    if pager:
        with console.pager(styles=True):
            console.print(renderable)
    else:
        console.print(renderable)


def _panel(row: dict, chars: int) -> Panel:
    title = " · ".join(str(row[k]) for k in ("step", "reason") if row.get(k) is not None) or "kept"
    head = Text()
    head.append_text(literal(f"id {row.get('id')}", "bold"))
    head.append_text(literal(f"  source {row.get('source')}  url {row.get('url')}", "dim"))
    return Panel(Group(head, _signals(row), _text(row.get("text"), chars)), title=literal(title, "bold red"),
                 title_align="left")


def _signals(row: dict) -> Table:
    table = Table.grid(padding=(0, 2))
    for key, value in row.items():
        if key in _HEADER or key.startswith("__") or value is None:
            continue
        table.add_row(literal(key.removeprefix("reject_"), "cyan"), literal(_short(value)))
    return table


def _text(text: object, chars: int) -> Text:
    if not isinstance(text, str):
        return literal("(text not kept)", "dim")
    more = f" … (+{len(text) - chars:,} characters)" if len(text) > chars else ""
    return literal(text[:chars], lines=True) + literal(more, "dim")


def _short(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)[:200]


def _side_by_side(signal: str, thresholds: dict[str, float], kept: list[dict], removed: list[dict],
                  chars: int) -> Table:
    where = f" ({', '.join(f'{k}={v:g}' for k, v in thresholds.items())})" if thresholds else ""
    table = Table(title=literal(f"{signal}{where}: kept and removed documents nearest a threshold"),
                  show_lines=True, expand=True)
    table.add_column("kept")
    table.add_column("removed")
    for i in range(max(len(kept), len(removed))):
        cells = []
        for rows in (kept, removed):
            if i >= len(rows):
                cells.append(Text(""))
                continue
            r = rows[i]
            cells.append(Group(literal(f"{signal} = {_short(r.get('__value'))}", "bold cyan"),
                               literal(f"{r.get('id')}  {r.get('reason') or ''}", "dim"), _text(r.get("text"), chars // 2)))
        table.add_row(*cells)
    if not kept:
        table.caption = literal(f"the kept documents carry no {signal!r} column: run the step with "
                                "keep_signals: true or mode: annotate to compare them")
    return table
