"""Human-readable run reports: the summary table and a live progress bar."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from corpusforge.accounting import RunStats
from corpusforge.cli.terminal import inert, literal

if TYPE_CHECKING:
    from corpusforge.io.units import WorkUnit


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def summary_table(stats: RunStats, title: str = "corpusforge run") -> Table:
    """Per step: docs and bytes in/out, removals by reason, errors, throughput.

    ``title`` and the step names are shown literally (a pipeline's name, a stats file's content).
    """
    table = Table(title=literal(f"{title}: {stats.units} work units in {stats.wall_seconds:.1f}s"),
                  pad_edge=False, collapse_padding=True)
    # a tokens column once the run counted tokens (steps after a tokenize step, stages after it)
    tokens = stats.token_step() is not None
    headers = ["step", "in", "out", "removed", "errored", "bytes\nin", "bytes\nout",
               *(["tokens\nout"] if tokens else []), "docs/s"]
    rows = []
    for s in stats.steps:
        rate = f"{s.docs_in / s.seconds:,.0f}" if s.seconds > 0 else "-"
        counted = ([f"{s.token_total():,}" if s.tokens is not None else "-"] if tokens else [])
        rows.append([literal(s.name), f"{s.docs_in:,}", f"{s.docs_out:,}", f"{s.docs_removed:,}",
                     f"{s.errored:,}", human_bytes(s.bytes_in), human_bytes(s.bytes_out),
                     *counted, rate])
    for i, header in enumerate(headers):
        # every value shown whole: a column is at least as wide as its longest value (a table
        # wider than the terminal wraps its lines rather than cutting a figure to "1,6…")
        widest = max([len(str(r[i])) for r in rows] + [max(map(len, header.split("\n")))])
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=True,
                         min_width=widest + 1)  # + the padding
    for row in rows:
        table.add_row(*row)
    return table


def print_whole(console: Console, table: Table) -> None:
    """Print ``table`` without cutting it: one wider than the terminal is laid out at its own
    width and left to the terminal to wrap (rich would shrink and crop its columns)."""
    wide = Console(width=10_000, file=io.StringIO(), color_system=None)
    with wide.capture() as out:
        wide.print(table)
    need = max((cell_len(line) for line in out.get().splitlines()), default=0)
    if need > console.width:
        # a console of that width on the same stream (print(width=...) still shrinks columns
        # to the terminal's width)
        Console(width=need, file=console.file, color_system=console.color_system,
                force_terminal=console.is_terminal, highlight=False).print(table, crop=False)
    else:
        console.print(table)


def nodes_table(stats: RunStats) -> Table | None:
    """Where the work ran: per node, its tasks in all and per task group (none for stats
    that do not say). Node and group names are shown literally."""
    per_node: dict[str, dict[str, int]] = {}
    for group, tally in stats.nodes.items():
        for node, n in tally.items():
            per_node.setdefault(node, {})[group] = n
    if not per_node:
        return None
    table = Table(title="tasks per node", pad_edge=False, collapse_padding=True)
    table.add_column("node", no_wrap=True)
    table.add_column("tasks", justify="right", no_wrap=True)
    table.add_column("of which")
    for node, groups in sorted(per_node.items()):
        table.add_row(literal(node), f"{sum(groups.values()):,}",
                      literal(", ".join(f"{g} {n:,}" for g, n in groups.items())))
    return table


def memory_table(stats: RunStats) -> Table | None:
    """Memory per task of each task group: the largest peak resident set of a task's process
    and the largest growth over the resident set it started with (none for stats that do not
    say)."""
    if not stats.memory:
        return None
    table = Table(title="memory per task (largest)", pad_edge=False, collapse_padding=True)
    table.add_column("task group", no_wrap=True)
    table.add_column("tasks", justify="right", no_wrap=True)
    table.add_column("peak MB", justify="right", no_wrap=True)
    table.add_column("growth MB", justify="right", no_wrap=True)
    for group, m in stats.memory.items():
        table.add_row(literal(group), f"{m['tasks']:,}", f"{m['peak'] / 2**20:,.0f}",
                      f"{m['growth'] / 2**20:,.0f}")
    return table


def tokens_text(stats: RunStats) -> Text:
    """Tokens per language and per source after the last step that counted them, and each
    token target of a stage (a mix) with what it got: met or not (names shown literally)."""
    out = Text()
    step = stats.token_step()
    if step is not None:
        total = step.token_total()
        out.append(f"tokens after {inert(step.name)}: ", style="bold")
        out.append(f"{total:,}\n")
        for key in ("language", "source"):
            shares = ", ".join(f"{inert(k)} {n:,} ({_share(n, total)})"
                               for k, n in step.tokens_by(key).items())
            out.append(f"  per {key}: {shares or '-'}\n")
    for s in stats.steps:
        for lang, t in s.targets.items():
            target, got = t["target"], t["tokens"]
            off = f"{(got - target) / target:+.2%}" if target else "-"
            out.append(f"target of {inert(s.name)} for {inert(lang)}: ", style="bold")
            out.append(f"{target:,.0f} tokens, got {got:,} ({off})")
            if t.get("validation"):
                out.append(f" + {t['validation']:,} validation")
            out.append(": ")
            out.append("met\n" if t["met"] else "NOT MET\n", style="green" if t["met"] else "bold red")
    return out


def _share(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "-"


def reasons_text(stats: RunStats) -> Text:
    """Removal reasons per step, most frequent first (shown literally, never as markup)."""
    out = Text()
    for s in stats.steps:
        if s.removed:
            reasons = ", ".join(f"{inert(r)} {n:,}"
                                for r, n in sorted(s.removed.items(), key=lambda kv: -kv[1]))
            out.append(f"removed by {inert(s.name)}: ", style="bold")
            out.append(reasons + "\n")
    return out


class RunProgress:
    """A progress bar over work units with the running docs/s and MB/s rates and the time
    left, and one bar per task group of the global stages (``00-dedup/sign`` ...), fed by the
    run log's records (:attr:`handler`).

    The units bar moves within a unit too: running units report the documents and text bytes
    they have read (:meth:`unit_progress`, from the driver's polling thread), and a unit counts
    as the share of its expected bytes it has read. A unit's expected text bytes are the mean
    of the units finished so far, or before any has, the planned input bytes per unit (the
    listed file sizes, :meth:`plan`); the time left is the bytes left at the rate so far."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[what]}"), TextColumn("{task.fields[docs]}"),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), _Remaining(),
            console=console, disable=not enabled, transient=False,
        )
        self.task = None
        self.docs = 0
        self.bytes = 0
        self.handler = _PhaseBars(self.progress)
        self.total = self.already_done = self.finished = 0
        #: documents and text bytes read so far by each running unit, by label
        self.running: dict[str, tuple[int, int]] = {}
        self._ended: set[str] = set()
        self._planned: float | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def plan(self, units: Sequence[WorkUnit]) -> None:
        """The planned input bytes per unit, from the listed sizes of the units' files (none
        when a unit has no file or a size is not known)."""
        from corpusforge.io.files import listed_size  # the command line imports light

        files: dict[str, int | None] = {u.path: listed_size(u.path) if u.path else None for u in units}
        if units and files and all(size is not None for size in files.values()):
            self._planned = sum(files.values()) / len(units)  # type: ignore[arg-type]

    def start(self, total: int, already_done: int) -> None:
        self.total, self.already_done = total, already_done
        self.task = self.progress.add_task("running", total=total, completed=already_done, what="units",
                                           docs="0 docs", rate="- docs/s", eta=None)

    def unit_progress(self, unit: WorkUnit, docs: int, nbytes: int) -> None:
        with self._lock:
            if unit.label not in self._ended:
                self.running[unit.label] = (docs, nbytes)
                self._show()

    def unit_done(self, unit, stats: RunStats) -> None:
        with self._lock:
            self._ended.add(unit.label)
            self.running.pop(unit.label, None)
            self.finished += 1
            self.docs += stats.steps[0].docs_in
            self.bytes += stats.steps[0].bytes_in
            self._show()

    def expected_unit_bytes(self) -> float | None:
        if self.finished:
            return self.bytes / self.finished
        return self._planned

    def _show(self) -> None:
        if self.task is None:
            return
        docs = self.docs + sum(d for d, _ in self.running.values())
        nbytes = self.bytes + sum(b for _, b in self.running.values())
        elapsed = self.progress.tasks[0].elapsed or 0
        rate = (f"{docs / elapsed:,.0f} docs/s, {nbytes / elapsed / 1e6:,.1f} MB/s" if elapsed > 0
                else "- docs/s")
        per_unit = self.expected_unit_bytes()
        share = sum(min(b / per_unit, 0.99) for _, b in self.running.values()) if per_unit else 0.0
        eta = None
        if per_unit and nbytes and elapsed > 0:
            waiting = max(self.total - self.already_done - self.finished - len(self.running), 0)
            left = waiting * per_unit + sum(max(per_unit - b, 0.0) for _, b in self.running.values())
            eta = _duration(left / (nbytes / elapsed))
        self.progress.update(self.task, completed=self.already_done + self.finished + share,
                             docs=f"{docs:,} docs", rate=rate, eta=eta)


class _Remaining(TimeRemainingColumn):
    """The time left: the units bar's own estimate (from bytes left), rich's elsewhere."""

    def render(self, task):  # noqa: ANN001 - rich's signature
        eta = task.fields.get("eta")
        if eta is None or task.finished:
            return super().render(task)
        return Text(eta, style="progress.remaining")


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    h, m = divmod(minutes, 60)
    return f"{h}:{m:02d}:{s:02d}"


class _PhaseBars(logging.Handler):
    """A bar per task group of a global stage, from the records ``StageContext.map_tasks``
    logs (the map phase has the units bar)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.INFO)
        self.progress = progress
        self.bars: dict[str, TaskID] = {}

    def emit(self, record: logging.LogRecord) -> None:
        group = getattr(record, "task_group", None)
        if not isinstance(group, str) or group == "map":
            return
        if hasattr(record, "tasks"):
            self.bars[group] = self.progress.add_task(inert(group), total=record.tasks, completed=record.done_earlier,
                                                      what="tasks", docs="", rate="")
        elif hasattr(record, "task_done") and group in self.bars:
            self.progress.advance(self.bars[group])


def errors_text(stats: RunStats, errors_dir: str) -> Text:
    """How many error records the run wrote, of which kinds, and where (said even when none)."""
    records = sum(s.error_records for s in stats.steps)
    docs = sum(s.errored for s in stats.steps)
    kinds: dict[str, int] = {}
    for s in stats.steps:
        for kind, n in s.error_kinds.items():
            kinds[kind] = kinds.get(kind, 0) + n
    out = Text()
    out.append("error records: ", style="bold")
    out.append(f"{records:,} ({docs:,} documents) in {inert(errors_dir)}")
    if kinds:
        shown = ", ".join(f"{inert(k)} {n:,}" for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
        out.append(f"; by kind: {shown}")
    return out


def status_text(status: dict, holder: tuple[dict, bool] | None) -> Text:
    """A run's ``_state/status.json`` for a person, with whether a ``running`` run's process is
    still there (``holder``: the lock's owner and whether it is alive)."""
    import time

    def field(key: str) -> str:
        return inert(str(status.get(key)))

    state = str(status.get("state"))
    out = Text()
    out.append("run: ", style="bold")
    out.append(inert(state), style={"succeeded": "green", "running": "cyan"}.get(state, "red"))
    if status.get("exit_code") is not None:
        out.append(f" (exit code {field('exit_code')})")
    out.append(f", started {field('started_at')}")
    if status.get("ended_at"):
        out.append(f", ended {field('ended_at')}")
    out.append(f" on {field('host')}, pid {field('pid')}\n")
    units = status.get("units") if isinstance(status.get("units"), dict) else {}
    out.append(f"phase: {field('phase')}; units done: {inert(str(units.get('done')))} of "
               f"{inert(str(units.get('total')))}; error records: {field('error_records')} in "
               f"{field('errors')}\n")
    if state == "running":
        if holder is not None and holder[1]:
            beat = holder[0].get("heartbeat")
            age = f", last heartbeat {time.time() - beat:.0f} s ago" if isinstance(beat, (int, float)) else ""
            out.append(f"its process is alive{age}\n")
        else:
            out.append("no live process holds the output (killed, or its machine lost): "
                       "`corpusforge run <pipeline> --resume` continues it\n", style="yellow")
    error = status.get("last_error")
    if isinstance(error, dict):
        out.append("last error: ", style="bold")
        out.append(f"{inert(str(error.get('type')))}: {inert(str(error.get('message')))}\n")
    return out


def corpus_tables(manifest: dict, title: str) -> list[Table]:
    """An incremental corpus's manifest: its snapshots, then documents, bytes and tokens per
    language and per source over all of them, then its dedup index segments (names shown
    literally: they come from file names)."""
    snaps = Table(title=literal(title), pad_edge=False, collapse_padding=True)
    for name, right in (("snapshot", False), ("committed", False), ("files", True), ("read", True),
                        ("docs", True), ("bytes", True), ("tokens", True)):
        snaps.add_column(name, justify="right" if right else "left", no_wrap=True)
    for s in manifest["snapshots"]:
        snaps.add_row(literal(s["id"]), s["committed_at"], f"{s['files']:,}", f"{s['docs_read']:,}",
                      f"{s['docs']:,}", human_bytes(s["bytes"]), f"{s['tokens']:,}")
    totals = manifest["totals"]
    snaps.add_row("total", "", f"{totals['files']:,}", "", f"{totals['docs']:,}",
                  human_bytes(totals["bytes"]), f"{totals['tokens']:,}", style="bold")
    out = [snaps]
    for group in ("languages", "sources"):
        table = Table(title=f"{group} (all snapshots)", pad_edge=False, collapse_padding=True)
        for name in (group[:-1] if group == "sources" else "language", "docs", "bytes", "tokens"):
            table.add_column(name, justify="left" if name in ("language", "source") else "right",
                             no_wrap=True)
        for name, v in totals[group].items():
            table.add_row(literal(name), f"{v['docs']:,}", human_bytes(v["bytes"]), f"{v['tokens']:,}")
        out.append(table)
    for index in manifest.get("index", []):
        table = Table(title=literal(f"dedup index {index['path']}"), pad_edge=False, collapse_padding=True)
        table.add_column("segment", no_wrap=True)
        table.add_column("documents", justify="right", no_wrap=True)
        for seg in index["segments"]:
            table.add_row(literal(seg["name"]), f"{seg['rows']:,}")
        out.append(table)
    return out
