"""Token commands: ``count`` and ``train-tokenizer`` (registered in :mod:`corpusforge.cli.main`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from rich.console import Console
from rich.table import Table

from corpusforge.cli.terminal import literal

console = Console()
err_console = Console(stderr=True)


def count(
    corpus: Annotated[str, typer.Argument(help="a folder, file or glob of Parquet / JSONL files")],
    tokenizer: Annotated[Optional[str], typer.Option(help="a SentencePiece .model or HF tokenizer.json(.gz); without it the n_tokens column is summed")] = None,
    by: Annotated[str, typer.Option(help="comma-separated group keys")] = "source,lang",
    histogram: Annotated[Optional[str], typer.Option(help="write a token-id histogram (Parquet: id, piece, count)")] = None,
    output: Annotated[Optional[str], typer.Option(help="write the totals as JSON")] = None,
    workers: Annotated[int, typer.Option(min=1, help="processes, one file at a time each")] = 1,
    threads: Annotated[int, typer.Option(min=0, help="tokenizer threads per process (0: all cores)")] = 0,
    storage_options: Annotated[Optional[str], typer.Option(help="fsspec options of the corpus's bucket as JSON, e.g. '{\"client_kwargs\": {\"endpoint_url\": \"http://127.0.0.1:9000\"}}' (default: the AWS_* environment variables)")] = None,
) -> None:
    """Count tokens per source and language in any Parquet/JSONL corpus (local or s3://...)."""
    import pyarrow.parquet as pq

    from corpusforge.io.atomic import atomic_write, write_bytes
    from corpusforge.tokenize.count import count_corpus
    from corpusforge.tokenize.loader import load_tokenizer

    keys = [k.strip() for k in by.split(",") if k.strip()]
    try:
        options = orjson.loads(storage_options) if storage_options else None
        if options is not None and not isinstance(options, dict):
            raise ValueError("--storage-options is a JSON object")
    except ValueError as e:
        err_console.print(literal(f"--storage-options: {e}", "red", lines=True))
        raise typer.Exit(2) from None
    try:
        result = count_corpus(corpus, tokenizer, keys, histogram=histogram is not None,
                              workers=workers, threads=threads, storage_options=options)
    except (OSError, ValueError, ImportError) as e:
        err_console.print(literal(f"cannot count {corpus}: {e}", "red", lines=True))
        raise typer.Exit(1) from None
    rows = result.totals.to_pylist()
    # group values (source, lang) come from the documents: every cell is shown literally
    table = Table(title=literal(f"tokens in {corpus} ({result.files} files)"))
    for col in [*keys, "docs", "tokens", "chars", "chars/token"]:
        table.add_column(literal(col), justify="left" if col in keys else "right")
    for r in rows:
        cpt = f"{r['chars'] / r['tokens']:.3f}" if r["tokens"] and r["chars"] is not None else "-"
        table.add_row(*[literal(r[k]) for k in keys], f"{r['docs']:,}", _number(r["tokens"]),
                      _number(r["chars"]), cpt)
    table.add_row(*["total"] + [""] * (len(keys) - 1), f"{sum(r['docs'] for r in rows):,}",
                  _number(_total(rows, "tokens")), _number(_total(rows, "chars")), "")
    console.print(table)
    for note in _notes(result):
        console.print(literal(note, "yellow", lines=True))
    for path, err in result.errors:
        err_console.print(literal(f"skipped {path}: {err}", "yellow", lines=True))
    if output is not None:
        write_bytes(output, orjson.dumps({"files": result.files, "totals": rows,
                                               "errors": [list(e) for e in result.errors],
                                               "untokenized": result.untokenized,
                                               "copies_left_out": result.copies},
                                              option=orjson.OPT_INDENT_2))
    if histogram is not None and result.histogram is not None:
        tok = load_tokenizer(tokenizer) if tokenizer else None
        pieces = tok.id_to_piece(range(tok.vocab_size)) if tok else None  # type: ignore[arg-type]
        with atomic_write(histogram) as f:
            pq.write_table(result.histogram.to_table(pieces), f)
        console.print(literal(f"histogram: {histogram} ({result.histogram.total:,} tokens)"))
    if result.errors:
        raise typer.Exit(1)


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _total(rows: list[dict], key: str) -> int | None:
    """The column's sum; None when no row knows it (shown as ``-``, not as a 0 that reads as
    an empty corpus)."""
    known = [r[key] for r in rows if r[key] is not None]
    return sum(known) if known else None


def _notes(result) -> list[str]:
    """What the totals do not say by themselves: copies left out, files without tokens."""
    notes = []
    if result.copies:
        folders = ", ".join(sorted({name.split("/")[0] + "/" for name in result.copies}))
        notes.append(f"each document counted once, from its Parquet copy (else JSONL): "
                     f"{len(result.copies)} files of other copies left out ({folders})")
    if result.untokenized:
        notes.append(f"{len(result.untokenized)} of {result.files} files have no n_tokens column "
                     "(and no --tokenizer given): documents and characters only")
    return notes


def _pairs(text: str, kind=float) -> dict:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        out[key.strip()] = kind(float(value))
    return out


def train_tokenizer(
    corpus: Annotated[str, typer.Argument(help="Parquet / JSONL corpus with a lang column (or lang=... folders)")],
    out: Annotated[Path, typer.Option(help="output prefix: writes PREFIX.model, PREFIX.vocab, PREFIX.json")],
    mode: Annotated[str, typer.Option(help="llm-jp (per-language models merged, scores re-estimated) or joint")] = "llm-jp",
    sample_chars: Annotated[float, typer.Option(help="characters of training text, shared by language")] = 30e6,
    shares: Annotated[str, typer.Option(help="language shares of the sample")] = "ja=0.5,en=0.3,code=0.2",
    vocab: Annotated[str, typer.Option(help="pieces per language model (llm-jp mode), merged in this order")] = "code=10000,en=20000,ja=30000",
    joint_vocab: Annotated[int, typer.Option(help="pieces of the joint model")] = 50000,
    max_piece_length: Annotated[str, typer.Option(help="per language")] = "ja=8,en=16,code=16",
    character_coverage: Annotated[float, typer.Option(min=0.98, max=1.0)] = 0.9995,
    em_iterations: Annotated[int, typer.Option(min=0)] = 2,
    heldout_chars: Annotated[float, typer.Option(help="held-out characters per language for chars/token")] = 1e6,
    compare: Annotated[Optional[str], typer.Option(help="another .model to compare chars/token with")] = None,
    eval_corpus: Annotated[Optional[str], typer.Option(help="measure chars/token on this corpus instead of held-out documents of CORPUS")] = None,
    threads: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Train a SentencePiece unigram tokenizer on a language-balanced sample of a corpus."""
    from corpusforge.tokenize.sample import language_sample
    from corpusforge.tokenize.train import TokenizerTraining, chars_per_token
    from corpusforge.tokenize.train import train_tokenizer as train

    share = _pairs(shares)
    total = sum(share.values())
    budget = {lang: sample_chars * s / total for lang, s in share.items()}
    try:
        cfg = TokenizerTraining(mode=mode, vocab=_pairs(vocab, int), joint_vocab=joint_vocab,
                                max_piece_length=_pairs(max_piece_length, int), em_iterations=em_iterations,
                                character_coverage=character_coverage, threads=threads)
        samples, held = language_sample(corpus, budget, 0 if eval_corpus else heldout_chars)
        if eval_corpus:
            held, _ = language_sample(eval_corpus, {lang: heldout_chars for lang in budget})
        model = train(samples, cfg)
    except (OSError, ValueError, RuntimeError) as e:
        err_console.print(literal(f"cannot train a tokenizer: {e}", "red", lines=True))
        raise typer.Exit(1) from None
    from corpusforge.io.atomic import write_bytes

    write_bytes(f"{out}.model", model)
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model)
    # one "piece<TAB>score" line per id; the newline piece is written escaped
    pieces = [sp.id_to_piece(i).replace("\n", "\\n") for i in range(sp.get_piece_size())]
    lines = [p + "\t" + str(sp.get_score(i)) + "\n" for i, p in enumerate(pieces)]
    write_bytes(f"{out}.vocab", "".join(lines).encode("utf-8"))
    report = {"mode": mode, "vocab_size": sp.get_piece_size(), "config": cfg.model_dump(),
              "sample_chars": {k: sum(map(len, v)) for k, v in samples.items()},
              "heldout_chars": {k: sum(map(len, v)) for k, v in held.items()},
              "chars_per_token": {str(out) + ".model": chars_per_token(model, held, threads)}}
    if compare:
        report["chars_per_token"][compare] = chars_per_token(compare, held, threads)
    write_bytes(f"{out}.json", orjson.dumps(report, option=orjson.OPT_INDENT_2))
    where = f"{eval_corpus}" if eval_corpus else "held-out text"
    table = Table(title=literal(f"chars/token on {where} ({mode}, {sp.get_piece_size():,} pieces)"))
    table.add_column("model")
    langs = list(held)
    for lang in langs:
        table.add_column(literal(lang), justify="right")
    for name, cpt in report["chars_per_token"].items():
        table.add_row(literal(Path(name).name), *[f"{cpt.get(lang, 0):.3f}" for lang in langs])
    console.print(table)
    console.print(literal(f"wrote {out}.model, {out}.vocab, {out}.json"))
