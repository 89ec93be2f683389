"""Incremental runs (``incremental: true``): each night processes only the input files the
corpus's ledger does not hold yet, into a snapshot folder of its own, and commits by writing
the ledger and then the manifest, last (the layout: ``io/corpus.py``).

A night is an ordinary run into ``snapshot=<id>/`` (the same driver, markers, resume and
lock), given only the new files, with its ``dedup`` stages pointed at the corpus's persistent
index unless they name one: so its documents are deduplicated against every earlier snapshot
and ``reject_dup_of`` names the earlier document. ``_state/night.json`` records the night's
snapshot and files before it starts, so that ``--resume`` finishes exactly that night even if
more files have appeared since; re-running after a commit finds nothing new and does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import pyarrow as pa

from corpusforge.accounting import RunStats
from corpusforge.config import Pipeline
from corpusforge.dedup.index import DedupIndex
from corpusforge.dedup.stage import output_id
from corpusforge.engine.inputs_guard import file_version
from corpusforge.engine.lock import OutputLock
from corpusforge.engine.output import OutputExistsError
from corpusforge.executors import ExecutorUnavailable
from corpusforge.io.atomic import read_json, write_json
from corpusforge.io.corpus import LEDGER_SCHEMA, CorpusLayout, read_ledger, read_manifest
from corpusforge.io.layout import OutputLayout
from corpusforge.io.output import open_output, read_output
from corpusforge.io.storage import filesystem
from corpusforge.io.tables import write_table
from corpusforge.io.units import WorkUnit
from corpusforge.schema import LANG, N_TOKENS, SOURCE, TEXT, doc_counts, token_counts

log = logging.getLogger(__name__)

#: a Common Crawl snapshot id in a file's path (``crawl-data/CC-MAIN-2024-10/...``)
_CRAWL = re.compile(r"CC-MAIN-\d{4}-\d{2}")
#: what a snapshot id may be: it names a folder and a ledger file
SNAPSHOT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: version of the manifest's layout
MANIFEST_FORMAT = 1

RunFn = Callable[..., RunStats]


@dataclass(frozen=True)
class Night:
    """One night's work: its snapshot id, its units (numbered from 0) and the ledger rows of
    its files."""

    snapshot: str
    units: list[WorkUnit]
    files: list[dict]
    resumed: bool


def crawl_of(path: str) -> str | None:
    m = _CRAWL.search(path)
    return m.group(0) if m else None


def run_night(pipeline: Pipeline, units: list[WorkUnit], run: RunFn, *, snapshot: str | None,
              resume: bool, overwrite: bool, **run_args) -> RunStats:
    """Plan, run and commit one night of an incremental pipeline; ``run`` is the driver's run
    of one output folder. Returns the night's stats, or empty stats (no steps, no units) when
    no input file is new."""
    layout = CorpusLayout(pipeline.output.path)
    # one night at a time on a corpus: two would both take the same new files
    with OutputLock(OutputLayout(layout.root)):
        night = plan_night(pipeline, units, layout, snapshot=snapshot, resume=resume,
                           overwrite=overwrite)
        if night is None:
            return RunStats([])
        tonight = night_pipeline(pipeline, layout, night.snapshot)
        plan_file = OutputLayout(tonight.output.path).plan_file
        started = night.resumed and filesystem(plan_file)[0].exists(filesystem(plan_file)[1])
        try:
            stats = run(tonight, units=night.units, resume=started, overwrite=not started, **run_args)
        except ExecutorUnavailable:
            if not night.resumed:  # nothing started: the corpus is as it was
                _remove(layout.night_file)
            raise
        commit(layout, night, stats, tonight)
    return stats


def plan_night(pipeline: Pipeline, units: list[WorkUnit], layout: CorpusLayout, *,
               snapshot: str | None, resume: bool, overwrite: bool) -> Night | None:
    """Tonight's snapshot and units: the night that did not commit (``resume``), or the
    listed files the ledger does not hold; None when there is nothing to do."""
    manifest = read_manifest(layout.root) or {"snapshots": []}
    committed = {s["id"] for s in manifest["snapshots"]}
    pending = read_json(layout.night_file)
    if pending is not None and pending["snapshot"] in committed:
        _remove(layout.night_file)  # a night killed after its manifest, before this cleanup
        pending = None
    keyed = {_key(pipeline, u): u for u in units}
    if pending is not None:
        if resume:
            if snapshot is not None and snapshot != pending["snapshot"]:
                raise OutputExistsError(f"night {pending['snapshot']!r} of {layout.root} did not "
                                        f"commit; --resume finishes it (not {snapshot!r})")
            mine = {(f["source"], f["name"]) for f in pending["files"]}
            gone = sorted(mine - keyed.keys())
            if gone:
                raise OutputExistsError(
                    f"night {pending['snapshot']!r} cannot be resumed: {len(gone)} of its input "
                    f"files are no longer listed ({', '.join(n for _, n in gone[:3])}); "
                    "--overwrite starts the night again with the files there are")
            chosen = [u for k, u in keyed.items() if k in mine]
            return Night(pending["snapshot"], _renumber(chosen), pending["files"], resumed=True)
        if not overwrite:
            raise OutputExistsError(
                f"night {pending['snapshot']!r} of {layout.root} did not commit; --resume "
                "finishes it, --overwrite starts it again")
        _abandon(layout, night_pipeline(pipeline, layout, pending["snapshot"]))
    seen = {(r["source"], r["name"]): r for r in read_ledger(layout.root).to_pylist()}
    new = [u for k, u in keyed.items() if k not in seen]
    _warn_changed(pipeline, keyed, seen)
    if not new:
        return None
    files = _ledger_rows(pipeline, new)
    snapshot = snapshot or default_snapshot(files, committed)
    if not SNAPSHOT_ID.match(snapshot):
        raise OutputExistsError(f"snapshot id {snapshot!r}: letters, digits, '.', '_' and '-' only")
    if snapshot in committed:
        raise OutputExistsError(f"snapshot {snapshot!r} of {layout.root} is committed; "
                                "name the new files' snapshot otherwise")
    write_json(layout.night_file, {"snapshot": snapshot, "files": files,
                                   "planned_at": _now()}, indent=True)
    return Night(snapshot, _renumber(new), files, resumed=False)


def default_snapshot(files: list[dict], committed: set[str]) -> str:
    """The crawl id when every new file is of one crawl not yet a snapshot, else the time
    (with ``-2``, ``-3``... when a night of that second exists)."""
    crawls = {f["crawl"] for f in files}
    if len(crawls) == 1 and None not in crawls and next(iter(crawls)) not in committed:
        return next(iter(crawls))
    stamp = "run-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    # two nights may start within one second (a night with nothing to do is quick)
    return next(i for i in (stamp, *(f"{stamp}-{n}" for n in range(2, 10**6))) if i not in committed)


def night_pipeline(pipeline: Pipeline, layout: CorpusLayout, snapshot: str) -> Pipeline:
    """The pipeline of one night: its output is the snapshot folder, and a ``dedup`` stage
    with no ``index`` of its own uses the corpus's."""
    stages = [s if s.stage != "dedup" or s.params.get("index") else
              s.model_copy(update={"params": {**s.params, "index": layout.index}})
              for s in pipeline.stages]
    output = pipeline.output.model_copy(update={"path": layout.snapshot(snapshot)})
    return pipeline.model_copy(update={"incremental": False, "output": output, "stages": stages})


def commit(layout: CorpusLayout, night: Night, stats: RunStats, tonight: Pipeline) -> None:
    """Make the night part of the corpus: its ledger file, then the manifest (last)."""
    rows = [{**f, "snapshot": night.snapshot, "run": _now()} for f in night.files]
    write_table(layout.ledger(night.snapshot), pa.Table.from_pylist(rows, schema=LEDGER_SCHEMA))
    manifest = read_manifest(layout.root) or {"format": MANIFEST_FORMAT, "snapshots": []}
    entry = {"id": night.snapshot, "committed_at": _now(), "files": len(night.files),
             "docs_read": stats.to_dict()["docs_read"], **tally(tonight.output.path, tonight.output.format),
             "stats": f"snapshot={night.snapshot}/stats.json"}
    snapshots = [s for s in manifest["snapshots"] if s["id"] != night.snapshot] + [entry]
    indexes = sorted({s.params["index"] for s in tonight.stages if s.stage == "dedup"})
    manifest = {"format": MANIFEST_FORMAT, "snapshots": snapshots, "totals": _totals(snapshots),
                "index": [{"path": p, "segments": _segments(p)} for p in indexes]}
    write_json(layout.manifest, manifest, indent=True)
    _remove(layout.night_file)


def tally(folder: str, fmt: str) -> dict:
    """Documents, text bytes and tokens of a run's output, in all and per language and per
    source (one read of those columns)."""
    if fmt == "parquet":
        dataset = open_output(folder)
        cols = [c for c in (TEXT, SOURCE, LANG, N_TOKENS) if c in dataset.schema.names]
        batches = (pa.Table.from_batches([b]) for b in dataset.to_batches(columns=cols))
    else:
        batches = iter([read_output(folder)])
    out: dict = {**_zero(), "languages": {}, "sources": {}}
    for t in batches:
        tokens = token_counts(t) or {}
        for source, langs in doc_counts(t).items():
            for lang, (docs, size) in langs.items():
                for bucket in (out, out["languages"].setdefault(lang, _zero()),
                               out["sources"].setdefault(source, _zero())):
                    bucket["docs"] += docs
                    bucket["bytes"] += size
                    bucket["tokens"] += tokens.get(source, {}).get(lang, 0)
    for group in ("languages", "sources"):
        out[group] = dict(sorted(out[group].items()))
    return out


def _zero() -> dict:
    return {"docs": 0, "bytes": 0, "tokens": 0}


def _totals(snapshots: list[dict]) -> dict:
    out: dict = {"snapshots": len(snapshots), "files": 0, **_zero(), "languages": {}, "sources": {}}
    for s in snapshots:
        out["files"] += s["files"]
        for key in ("docs", "bytes", "tokens"):
            out[key] += s[key]
        for group in ("languages", "sources"):
            for name, v in s[group].items():
                bucket = out[group].setdefault(name, _zero())
                for key in ("docs", "bytes", "tokens"):
                    bucket[key] += v[key]
    for group in ("languages", "sources"):
        out[group] = dict(sorted(out[group].items()))
    return out


def _segments(index: str) -> list[dict]:
    meta = DedupIndex(index).meta() or {"segments": []}
    return [{"name": s["name"], "rows": sum(p["rows"] for p in s["parts"]), "output": s.get("output")}
            for s in meta["segments"]]


def _key(pipeline: Pipeline, unit: WorkUnit) -> tuple[str, str]:
    """What names a file in the ledger: its input's source and its name in document ids (so
    a file keeps its place in the ledger exactly as long as its documents keep their ids)."""
    return pipeline.source_name(unit.input_index), unit.name or unit.path


def _ledger_rows(pipeline: Pipeline, units: list[WorkUnit]) -> list[dict]:
    rows, seen = [], set()
    for u in units:
        key = _key(pipeline, u)
        if key in seen:
            continue
        seen.add(key)
        size, version = file_version(u.path)
        rows.append({"source": key[0], "name": key[1], "path": u.path, "size": size,
                     "version": version, "crawl": crawl_of(u.path)})
    return rows


def _warn_changed(pipeline: Pipeline, keyed: dict, seen: dict) -> None:
    """Ledgered files listed with another size or version are not processed again (their
    documents keep their ids and are in the corpus); say so."""
    changed = []
    for key, unit in keyed.items():
        row = seen.get(key)
        if row is None or row["size"] is None:
            continue
        if [row["size"], row["version"]] != list(file_version(unit.path)):
            changed.append(key[1])
    if changed:
        log.warning("%d input file(s) changed since a night processed them and are not processed "
                    "again: %s", len(changed), ", ".join(changed[:5]))


def _renumber(units: list[WorkUnit]) -> list[WorkUnit]:
    return [replace(u, index=i) for i, u in enumerate(units)]


def _abandon(layout: CorpusLayout, tonight: Pipeline) -> None:
    """Drop a night that did not commit: its folder and what it added to the dedup indexes."""
    folder = tonight.output.path
    for stage in tonight.stages:
        if stage.stage == "dedup":
            DedupIndex(stage.params["index"]).drop_output(output_id(folder))
    fs, path = filesystem(folder)
    if fs.exists(path):
        fs.rm(path, recursive=True)
    _remove(layout.night_file)


def _remove(path: str) -> None:
    fs, p = filesystem(path)
    if fs.exists(p):
        fs.rm(p)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
