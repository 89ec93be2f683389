"""Token commands: ``count``, ``train-tokenizer`` and ``mix`` (registered in ``cli.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import orjson
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()
err_console = Console(stderr=True)


def count(
    corpus: Annotated[str, typer.Argument(help="a folder, file or glob of Parquet / JSONL files")],
    tokenizer: Annotated[Optional[str], typer.Option(help="a SentencePiece .model or HF tokenizer.json(.gz); without it the n_tokens column is summed")] = None,
    by: Annotated[str, typer.Option(help="comma-separated group keys")] = "source,lang",
    histogram: Annotated[Optional[Path], typer.Option(help="write a token-id histogram (Parquet: id, piece, count)")] = None,
    output: Annotated[Optional[Path], typer.Option(help="write the totals as JSON")] = None,
    workers: Annotated[int, typer.Option(min=1, help="processes, one file at a time each")] = 1,
    threads: Annotated[int, typer.Option(min=0, help="tokenizer threads per process (0: all cores)")] = 0,
) -> None:
    """Count tokens per source and language in any Parquet/JSONL corpus."""
    from corpusforge.tokenize.count import count_corpus
    from corpusforge.tokenize.loader import load_tokenizer

    keys = [k.strip() for k in by.split(",") if k.strip()]
    try:
        result = count_corpus(corpus, tokenizer, keys, histogram=histogram is not None,
                              workers=workers, threads=threads)
    except (OSError, ValueError) as e:
        err_console.print(Text(f"cannot count {corpus}: {e}", style="red"))
        raise typer.Exit(1) from None
    rows = result.totals.to_pylist()
    table = Table(title=f"tokens in {corpus} ({result.files} files)")
    for col in [*keys, "docs", "tokens", "chars", "chars/token"]:
        table.add_column(col, justify="left" if col in keys else "right")
    for r in rows:
        cpt = f"{r['chars'] / r['tokens']:.3f}" if r["tokens"] else "-"
        table.add_row(*[str(r[k]) for k in keys], f"{r['docs']:,}", f"{r['tokens']:,}", f"{r['chars']:,}", cpt)
    table.add_row(*["total"] + [""] * (len(keys) - 1), f"{sum(r['docs'] for r in rows):,}",
                  f"{sum(r['tokens'] for r in rows):,}", f"{sum(r['chars'] for r in rows):,}", "")
    console.print(table)
    for path, err in result.errors:
        err_console.print(Text(f"skipped {path}: {err}", style="yellow"))
    if output is not None:
        output.write_bytes(orjson.dumps({"files": result.files, "totals": rows,
                                         "errors": [list(e) for e in result.errors]},
                                        option=orjson.OPT_INDENT_2))
    if histogram is not None and result.histogram is not None:
        tok = load_tokenizer(tokenizer) if tokenizer else None
        pieces = tok.id_to_piece(range(tok.vocab_size)) if tok else None  # type: ignore[arg-type]
        pq.write_table(result.histogram.to_table(pieces), histogram)
        console.print(f"histogram: {histogram} ({result.histogram.total:,} tokens)")
    if result.errors:
        raise typer.Exit(1)
