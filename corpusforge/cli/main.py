"""The ``corpusforge`` app: the pipeline commands (run, validate, stats, steps, inputs), the command table.

The run machinery is imported inside the commands, so ``corpusforge --help`` and the light
commands never load pyarrow, the readers or the steps.
"""

from __future__ import annotations

import shlex
import signal
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from rich.console import Console

from corpusforge.accounting import RunStats
from corpusforge.cli import filters, inspect, jobs, runreport, search, tokens
from corpusforge.cli.pipelinefile import load_checked
from corpusforge.cli.report import (
    RunProgress,
    corpus_tables,
    errors_text,
    memory_table,
    nodes_table,
    print_whole,
    reasons_text,
    status_text,
    summary_table,
    tokens_text,
)
from corpusforge.cli.runlog import LogLevel, run_logging
from corpusforge.cli.terminal import install_inert_tracebacks, literal

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Build LLM pre-training corpora from the open web.")
console = Console()
err_console = Console(stderr=True)

#: a stats file larger than this is refused unread (also stops a read of /dev/zero)
STATS_MAX_BYTES = 64 * 2**20


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("corpusforge")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from corpusforge import __version__ as number
        console.print(literal(f"corpusforge {number}"))
        raise typer.Exit()


@app.callback()
def _imports(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    # every command: the working directory is off the import path (a `zstandard.py` there is
    # never imported); a module a step or stage names is still found there, by file
    from corpusforge.usermodules import hide_working_directory

    ctx.call_on_close(hide_working_directory())
    # and an error nothing caught shows its message inert (typer has set its hook by now)
    install_inert_tracebacks()


class ExecutorName(str, Enum):
    local = "local"
    ray = "ray"


def run(
    pipeline_file: Annotated[Path, typer.Argument(help="pipeline YAML")],
    executor: Annotated[Optional[ExecutorName], typer.Option(help="override the pipeline's executor")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="worker processes / Ray tasks")] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        help="Ray cluster address (auto, host:6379, ray://host:10001); implies --executor ray")] = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted run in the same output folder")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output folder")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    snapshot: Annotated[Optional[str], typer.Option(
        help="incremental pipelines: the new night's snapshot id (default: the crawl id, or the time)")] = None,
    log_level: Annotated[LogLevel, typer.Option(
        help="what the terminal shows of the run log (OUT/_logs/run.log keeps info and above)")] = LogLevel.warning,
) -> None:
    """Run a pipeline: read, process, write Parquet/JSONL, print a summary and write stats.json.

    An incremental pipeline processes only the input files its output's ledger does not
    hold yet, into a new snapshot (docs/nightly.md); with none new it says so and exits 0.

    Exit codes: 0 done, 1 failed (on_error: fail, a lost executor), 2 refused before or at the
    start (config, inputs, credentials, a step that cannot be set up, output in the way), 3 over
    an error budget, 4 the output is held by another live run, 130 interrupted, 143 terminated
    (SIGTERM from a scheduler: stopped as on Ctrl-C).
    """
    from corpusforge.engine import OutputExistsError, run_pipeline
    from corpusforge.engine.budget import ErrorBudgetExceeded
    from corpusforge.engine.lock import LockLost, OutputLocked
    from corpusforge.errors import SetupFailed, StepFailed, Terminated, exit_code
    from corpusforge.executors import ExecutorFailed, ExecutorUnavailable
    from corpusforge.io.layout import STATS_FILE, OutputLayout

    pipeline, units = load_checked(pipeline_file)
    again = f"corpusforge run {shlex.quote(str(pipeline_file))} --resume"

    def stop(message: str, e: BaseException, hint: str | None = None) -> typer.Exit:
        # messages quote steps' exceptions and paths, which may quote a document: shown literally
        err_console.print(literal(message, "red", lines=True), soft_wrap=True)
        if hint is not None:
            err_console.print(literal(hint, "yellow"), soft_wrap=True)
        return typer.Exit(exit_code(e))

    # a scheduler stops a run with SIGTERM (systemd, Kubernetes, `ray job stop`): it stops as on
    # Ctrl-C, its status says so, and it can be resumed
    signal.signal(signal.SIGTERM, _terminated)
    try:
        with RunProgress(console, enabled=not quiet) as progress, \
                run_logging(pipeline.output.path, log_level, err_console, progress.handler):
            progress.plan(units)
            stats = run_pipeline(
                pipeline, executor=executor.value if executor else None, workers=workers,
                ray_address=ray_address, resume=resume, overwrite=overwrite, units=units,
                snapshot=snapshot, on_start=progress.start, on_done=progress.unit_done,
                on_progress=None if quiet else progress.unit_progress,
            )
    except (OutputExistsError, OutputLocked, LockLost) as e:
        raise stop(str(e), e) from None
    except ExecutorUnavailable as e:
        raise stop(f"run not started (the output folder is untouched): {e}", e) from None
    except StepFailed as e:
        raise stop(f"run stopped (on_error: fail): {e}", e) from None
    except ExecutorFailed as e:
        # finished tasks left their markers: a resume (on the same or another cluster) goes on
        raise stop(f"run stopped: {e}", e, f"to continue where it stopped: {again}") from None
    except SetupFailed as e:
        raise stop(f"run stopped at setup: {e}", e) from None
    except ErrorBudgetExceeded as e:
        raise stop(f"run stopped: {e}", e, f"once the cause is fixed (or max_error_fraction raised), "
                                           f"to continue where it stopped: {again}") from None
    except KeyboardInterrupt as e:
        # finished tasks left their markers: a resume continues from there; one line, never
        # wrapped: it is meant to be copied
        how = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
        err_console.print(literal(f"{how}; to continue where it stopped: {again}", "yellow"),
                          soft_wrap=True)
        raise typer.Exit(exit_code(e)) from None
    out = pipeline.output.path
    if pipeline.incremental:
        from corpusforge.io.corpus import CorpusLayout, read_manifest

        manifest = read_manifest(out) or {"snapshots": []}
        if not stats.steps:
            console.print(literal(f"nothing new: every input file is in the ledger of {out} "
                                  f"({len(manifest['snapshots'])} snapshot(s))"))
            return
        out = CorpusLayout(out).snapshot(manifest["snapshots"][-1]["id"])
    print_whole(console, summary_table(stats, pipeline.name))
    console.print(reasons_text(stats), end="")
    console.print(tokens_text(stats), end="")
    console.print(errors_text(stats, OutputLayout(out).errors))
    console.print(literal(f"output: {out}  (stats: {out}/{STATS_FILE})"))
    if pipeline.incremental:
        console.print(literal(f"committed to the corpus {pipeline.output.path} (its manifest: "
                              f"{pipeline.output.path}/manifest.json; corpusforge stats {pipeline.output.path})"))


def _terminated(_signum: int, _frame: object) -> None:
    from corpusforge.errors import Terminated

    raise Terminated()


def validate(pipeline_file: Annotated[Path, typer.Argument(help="pipeline YAML")]) -> None:
    """Check a pipeline (keys, types, steps, inputs) without running it. Exit code 2 if invalid."""
    pipeline, units = load_checked(pipeline_file)
    console.print(literal(f"ok: {pipeline.name}: {len(pipeline.inputs)} input(s), {len(units)} work "
                          f"unit(s), {len(pipeline.steps)} step(s) -> {pipeline.output.path}"))


def stats(path: Annotated[str, typer.Argument(help="a stats.json or an output folder (local or a bucket URL)")]) -> None:
    """Pretty-print the stats of a run; for an output folder, also where its run is
    (_state/status.json: running, succeeded, failed or interrupted) and the counts so far."""
    from corpusforge.io.corpus import is_corpus
    from corpusforge.io.layout import STATS_FILE, OutputLayout, join
    from corpusforge.io.storage import filesystem

    file, status = path, None
    try:
        fs, root = filesystem(path)
        if fs.isdir(root) and is_corpus(path):
            _corpus_stats(path)
            return
        if fs.isdir(root):
            layout = OutputLayout(path)
            status = _status(layout)
            if status is not None:
                console.print(status_text(status, _holder(layout)))
            file, root = join(path, STATS_FILE), join(root, STATS_FILE)
            if status is not None and status.get("stats") and not fs.exists(root):
                # the run has not finished: the counts so far
                file, run_stats = layout.status_file, RunStats.from_dict(status["stats"])
            else:
                run_stats = RunStats.from_dict(orjson.loads(_read_small(fs, root)))
        else:
            run_stats = RunStats.from_dict(orjson.loads(_read_small(fs, root)))
    except (OSError, ValueError, KeyError, TypeError, ImportError) as e:
        err_console.print(literal(f"cannot read stats from {file}: {e}", "red", lines=True))
        raise typer.Exit(1) from None
    so_far = " (so far)" if status is not None and status.get("state") != "succeeded" else ""
    print_whole(console, summary_table(run_stats, f"{path}{so_far}"))
    console.print(reasons_text(run_stats), end="")
    console.print(tokens_text(run_stats), end="")
    where = nodes_table(run_stats)
    if where is not None:
        console.print(where)
    memory = memory_table(run_stats)
    if memory is not None:
        print_whole(console, memory)  # figures are never cut, as in the summary


def _corpus_stats(path: str) -> None:
    """An incremental corpus: its manifest, and the night under way or failed, if any."""
    from corpusforge.io.atomic import read_json
    from corpusforge.io.corpus import CorpusLayout, read_manifest
    from corpusforge.io.layout import OutputLayout

    layout = CorpusLayout(path)
    for table in corpus_tables(read_manifest(path), f"corpus {path}"):
        print_whole(console, table)
    night = read_json(layout.night_file)
    if night is not None:
        folder = OutputLayout(layout.snapshot(night["snapshot"]))
        status = _status(folder)
        console.print(literal(f"night {night['snapshot']} ({len(night['files'])} files) has not "
                              f"committed: {folder.root}", "yellow"))
        if status is not None:
            console.print(status_text(status, _holder(folder)))


def _read_small(fs, path: str) -> bytes:
    with fs.open(path, "rb") as f:
        raw = f.read(STATS_MAX_BYTES + 1)
    if len(raw) > STATS_MAX_BYTES:
        raise ValueError(f"over {STATS_MAX_BYTES // 2**20} MiB, which no run writes")
    return raw


def _status(layout) -> dict | None:
    """The output's ``_state/status.json``, or None (none there, or not readable: then said)."""
    from corpusforge.io.storage import filesystem

    fs, file = filesystem(layout.status_file)
    try:
        if not fs.exists(file):
            return None
        status = orjson.loads(_read_small(fs, file))
        if not isinstance(status, dict):
            raise ValueError("not a mapping")
    except (OSError, ValueError) as e:
        err_console.print(literal(f"cannot read the run's status from {layout.status_file}: {e}",
                                  "red", lines=True))
        return None
    return status


def _holder(layout) -> tuple[dict, bool] | None:
    """Who holds the output's lock, and whether that run is alive."""
    from corpusforge.engine.lock import OutputLock

    try:
        holder = OutputLock(layout).holder()
    except OSError:
        return None
    return None if holder is None else (holder.owner, holder.alive)


def steps() -> None:
    """List the registered steps and global stages with their parameters and defaults."""
    from corpusforge.cli.describe import describe, render
    from corpusforge.stages.registry import registered_stages
    from corpusforge.steps.registry import registered_steps

    console.print(literal("Steps (steps:)", "bold underline"))
    for name, cls in registered_steps().items():
        render(console, name, describe(cls, "filter" if hasattr(cls, "decide") else "map"))
    console.print(literal("Global stages (stages:)", "bold underline"))
    for name, cls in registered_stages().items():
        render(console, name, describe(cls, "stage"))


def inputs() -> None:
    """List the input types (inputs: type:) with their parameters and defaults."""
    import sys

    from corpusforge.cli.describe import describe, first_paragraph, render
    from corpusforge.io.inputs import READERS

    console.print(literal("Input types (inputs: - type: ...)", "bold underline"))
    for tag, reader in READERS.items():
        # the config model's own docstring is often absent; its module says what the type reads
        doc = first_paragraph(reader.config.__doc__) or first_paragraph(sys.modules[reader.module].__doc__)
        render(console, tag, describe(reader.config, "input", config=reader.config, doc=doc))


# the command table, in the order `corpusforge --help` lists the commands
app.command()(run)
app.command()(validate)
app.command()(stats)
app.command("report")(runreport.report)
app.command("inspect")(inspect.inspect)
app.command()(steps)
app.command()(inputs)
app.command("count")(tokens.count)
app.command("train-tokenizer")(tokens.train_tokenizer)
app.command("filters")(filters.filters)
app.command("index")(search.index)
app.command("search")(search.search)
app.command("trace")(search.trace)
app.command("serve")(search.serve)
app.command("submit")(jobs.submit)
app.add_typer(jobs.jobs_app, name="jobs")
