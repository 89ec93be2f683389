"""``corpusforge index / search / trace / serve``: the search facility over a run's output
(docs/search.md). Everything printed from a document goes through :func:`literal`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from corpusforge.cli.terminal import literal

console = Console()
err_console = Console(stderr=True)

#: characters of a document shown per occurrence in ``trace``
TRACE_CONTEXT = 30


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(literal(message, "red", lines=True), soft_wrap=True)
    return typer.Exit(code)


def highlighted(snippet: str, marks: list[tuple[int, int]]) -> Text:
    """``snippet`` on one line (newlines and tabs as spaces: the same length, so ``marks``
    still fit) as inert text, ``marks`` in bold reverse."""
    snippet = snippet.replace("\n", " ").replace("\t", " ")
    out, at = Text(), 0
    for start, end in marks:
        out.append_text(literal(snippet[at:start]))
        out.append_text(literal(snippet[start:end], "bold reverse"))
        at = end
    out.append_text(literal(snippet[at:]))
    return out


def index(
    out: Annotated[str, typer.Argument(help="a run's output folder (local or a bucket URL)")],
    kinds: Annotated[str, typer.Option(help="comma-separated: exact, bm25, dense")] = "exact,bm25,dense",
    model: Annotated[Optional[Path], typer.Option(
        help="a sentence-transformers model folder for dense vectors (default: a static model "
             "built from the corpus)")] = None,
    executor: Annotated[str, typer.Option(help="local or ray")] = "local",
    workers: Annotated[Optional[int], typer.Option(min=1, help="worker processes / Ray tasks")] = None,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address")] = None,
) -> None:
    """Build search indexes over a run's documents, one index shard per output shard (shards
    already built are kept: a run that gained shards builds only those)."""
    from corpusforge.executors import make_executor
    from corpusforge.search import index as build

    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    try:
        with make_executor(executor, workers, ray_address) as ex:
            built = build(out, chosen, ex, str(model) if model else None)
    except (ValueError, FileNotFoundError) as e:
        raise _fail(str(e), 2) from None
    fresh = [b for b in built if set(b) & {"store", *chosen}]
    console.print(literal(f"{len(built)} shards, {len(fresh)} built now: {', '.join(chosen)}"))


def search(
    out: Annotated[str, typer.Argument(help="a run's output folder with its indexes")],
    query: Annotated[Optional[str], typer.Argument(help="what to look for")] = None,
    kind: Annotated[str, typer.Option(help="exact, bm25 or dense")] = "bm25",
    k: Annotated[int, typer.Option("-k", min=1, help="hits shown")] = 10,
    lang: Annotated[Optional[str], typer.Option(help="only documents of this language")] = None,
    count: Annotated[Optional[str], typer.Option(help="print how often this string occurs instead")] = None,
) -> None:
    """Search a run's documents: hits with rank, score, id, source, language, URL and a
    snippet; ``--count TEXT``: occurrences and documents of an exact string."""
    from corpusforge.search import NotIndexed, corpus

    try:
        if count is not None:
            occurrences, documents = corpus(out).count_documents(count)
            console.print(literal(f"{occurrences} occurrences in {documents} documents"))
            return
        if not query:
            raise _fail("give a query, or --count TEXT", 2)
        hits = corpus(out).search(query, kind, k, lang)
    except NotIndexed as e:
        raise _fail(str(e)) from None
    except ValueError as e:
        raise _fail(str(e), 2) from None
    if not hits:
        console.print(literal("no hits"))
    for h in hits:
        console.print(literal(f"{h.rank:>3}  {h.score:.4g}  {h.id}  {h.source}  {h.lang}  {h.url}", "bold"),
                      soft_wrap=True)
        console.print(Text("     ").append_text(highlighted(h.snippet, h.highlights)), soft_wrap=True)


def trace(
    out: Annotated[str, typer.Argument(help="a run's output folder with its exact index")],
    text: Annotated[Path, typer.Option(help="file with the text to trace (UTF-8)")],
    min_chars: Annotated[int, typer.Option(min=1, help="shortest span reported, in characters")] = 20,
) -> None:
    """The maximal spans of a text (a model's answer) that occur verbatim in the corpus, with
    their counts and where they occur."""
    from corpusforge.search import NotIndexed, corpus
    from corpusforge.search.trace import trace as run_trace

    try:
        body = text.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(f"cannot read {text}: {e}", 2) from None
    try:
        spans = run_trace(corpus(out), body, min_chars)
    except NotIndexed as e:
        raise _fail(str(e)) from None
    console.print(literal(f"{len(spans)} spans of at least {min_chars} characters occur in the corpus"))
    for s in spans:
        console.print(literal(f"[{s.start}:{s.end}] {s.count}x", "bold"), literal(s.text), soft_wrap=True)
        for o in s.occurrences:
            console.print(literal(f"     {o.id}  shard {o.shard} row {o.row}  at {o.offset}"), soft_wrap=True)


def serve(
    out: Annotated[str, typer.Argument(help="a run's output folder with its indexes")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port (0: any free one)")] = 8765,
) -> None:
    """Serve a search page for a run's indexes (search, trace, documents) on 127.0.0.1."""
    from corpusforge.search.server import make_server

    server = make_server(out, host, port)
    console.print(literal(f"serving {out} on http://{server.server_address[0]}:{server.server_address[1]}/"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
