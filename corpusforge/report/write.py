"""Gather what a run left and write ``report.html`` (atomically, like every file of a run)."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from corpusforge.config import Pipeline
from corpusforge.io.atomic import atomic_write, read_json, write_json
from corpusforge.io.corpus import CorpusLayout, is_corpus, read_manifest
from corpusforge.io.layout import REPORT_FILE, OutputLayout, join
from corpusforge.io.storage import filesystem
from corpusforge.report.corpus_page import render_corpus
from corpusforge.report.page import render

#: what the report knows of the pipeline, written by the run (the report may be made later)
RUN_INFO = "run.json"
#: error records shown per kind, and the most read from the error files
ERRORS_PER_KIND, ERRORS_READ = 3, 2000


def run_info(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline as the report shows it: names, inputs, executor (no storage options:
    they may hold credentials)."""
    inputs = []
    for i, inp in enumerate(pipeline.inputs):
        where = next((getattr(inp, k) for k in ("path", "dataset", "paths") if getattr(inp, k, None)), None)
        inputs.append({"type": inp.type, "source": pipeline.source_name(i), "where": where})
    return {"pipeline": pipeline.name, "inputs": inputs,
            "executor": {"type": pipeline.executor.type, "workers": pipeline.executor.workers},
            "steps": pipeline.step_names(), "stages": pipeline.stage_names(),
            "output": {"path": pipeline.output.path, "format": pipeline.output.format}}


log = logging.getLogger(__name__)


def write_run_info(pipeline: Pipeline) -> None:
    write_json(join(OutputLayout(pipeline.output.path).state, RUN_INFO), run_info(pipeline), indent=True)


def report_finished_run(pipeline: Pipeline) -> None:
    """What a finished run leaves for its report: the run's description, and the report
    itself unless the pipeline says ``report: false``. A report that cannot be written is a
    warning: the run's documents and stats are complete."""
    try:
        write_run_info(pipeline)
        if pipeline.report:
            write_report(pipeline.output.path)
    except Exception as e:  # noqa: BLE001 - logged; the run succeeded
        log.warning("the run report could not be written: %s: %s", type(e).__name__, e)


def write_report(root: str) -> str:
    """Write ``<root>/report.html`` from the run's files (an incremental corpus's root: from
    its manifest, :func:`write_corpus_report`); its path. Raises FileNotFoundError when
    ``root`` holds no run."""
    if is_corpus(root):
        return write_corpus_report(root)
    layout = OutputLayout(root)
    status = read_json(layout.status_file)
    stats = read_json(layout.stats_file)
    if stats is None and isinstance(status, dict):
        stats = status.get("stats")  # a run that did not finish: its last counts
    if not isinstance(stats, dict):
        raise FileNotFoundError(f"{root} holds no run (no stats.json or _state/status.json)")
    info = read_json(join(layout.state, RUN_INFO))
    page = render(stats, status if isinstance(status, dict) else None,
                  info if isinstance(info, dict) else None, _error_samples(layout.errors))
    path = join(root, REPORT_FILE)
    with atomic_write(path) as f:
        f.write(page.encode("utf-8"))
    return path


def write_corpus_report(root: str) -> str:
    """Write ``<corpus>/report.html``: the manifest's snapshots, linking to their reports."""
    manifest = read_manifest(root)
    if not isinstance(manifest, dict):
        raise FileNotFoundError(f"{root} holds no corpus manifest")
    layout, fs = CorpusLayout(root), filesystem(root)[0]
    reports = {}
    for s in manifest.get("snapshots", []):
        folder = layout.snapshot(str(s.get("id")))
        if fs.exists(filesystem(join(folder, REPORT_FILE))[1]):
            reports[str(s.get("id"))] = f"{folder[len(layout.root.rstrip('/')) + 1:]}/{REPORT_FILE}"
    path = join(root, REPORT_FILE)
    with atomic_write(path) as f:
        f.write(render_corpus(manifest, root, reports).encode("utf-8"))
    return path


def _error_samples(folder: str) -> dict[str, list[dict]]:
    """A few error records per kind (``error``), read from the first error files."""
    fs, root = filesystem(folder)
    out: dict[str, list[dict]] = {}
    if not fs.exists(root):
        return out
    read = 0
    for name in sorted(fs.find(root)):
        if not name.endswith(".jsonl"):
            continue
        with fs.open(name, "rb") as f:
            for line in f:
                read += 1
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                kind = str(rec.get("error")) if isinstance(rec, dict) else "?"
                if isinstance(rec, dict) and len(out.setdefault(kind, [])) < ERRORS_PER_KIND:
                    out[kind].append(rec)
                if read >= ERRORS_READ:
                    return out
    return out
