"""Preparing a run's output folder: the plan fingerprint, resume and overwrite."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import orjson
from fsspec import AbstractFileSystem

from corpusforge.accounting import RunStats
from corpusforge.config import Pipeline
from corpusforge.engine.inputs_guard import input_versions
from corpusforge.errors import EXIT_REFUSED
from corpusforge.io.atomic import TMP_SUFFIX, read_json, write_json
from corpusforge.io.layout import STATE_DIR, OutputLayout
from corpusforge.io.storage import filesystem
from corpusforge.io.units import WorkUnit

#: bumped when the layout of ``_state`` changes: a resume across versions is refused
LAYOUT_VERSION = 2


class OutputExistsError(RuntimeError):
    """The output folder holds something this run may not continue or replace."""

    exit_code = EXIT_REFUSED


def fingerprint(pipeline: Pipeline, units: list[WorkUnit]) -> str:
    """What must not change between a run and its resume: the steps, stages, output, units
    and the version (size, modification time or etag) of every input file."""
    body = {
        "layout": LAYOUT_VERSION,
        # credentials and endpoints may change between a run and its resume
        "inputs": [i.model_dump(exclude={"storage_options"}) for i in pipeline.inputs],
        # so may a step's error budget (a run stopped by it is resumed with a larger one)
        "steps": [s.model_dump(exclude={"max_error_fraction"}) for s in pipeline.steps],
        "stages": [s.model_dump() for s in pipeline.stages],
        # the stages' configs with their defaults filled in: a default that changes between
        # versions (dedup normalisation) changes the work as much as a changed key does
        "stage_configs": [st.config.model_dump(mode="json") for st in pipeline.build_stages()],
        "output": pipeline.output.model_dump(exclude={"storage_options"}),
        "batch": pipeline.batch.model_dump(),
        "units": [asdict(u) for u in units],
        "files": input_versions(units),
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def prepare_output(pipeline: Pipeline, units: list[WorkUnit], layout: OutputLayout,
                   resume: bool, overwrite: bool) -> None:
    """Make the output folder ready: new, replaced (``overwrite``) or resumed (``resume``:
    the same pipeline and units, checked by fingerprint; half-written files removed)."""
    fs, root = filesystem(layout.root)
    fp = fingerprint(pipeline, units)
    _, lock = filesystem(layout.lock_dir)
    if fs.exists(root) and _entries(fs, root, lock, any_one=True):
        try:
            plan = read_json(layout.plan_file)
        except ValueError:  # an empty or cut plan.json (a disk that filled up before 0.2)
            plan = {"fingerprint": None}
        if overwrite:
            _clear(fs, root, lock)
        elif resume and plan is not None:
            if plan.get("fingerprint") != fp:
                raise OutputExistsError(
                    f"{pipeline.output.path} was written by a different pipeline or input set, "
                    "from input files that have changed since, or by another version of "
                    "corpusforge; resume needs the same config and inputs (use --overwrite to "
                    "start again)")
            for path in fs.find(root):
                if path.endswith(TMP_SUFFIX) and not _inside(path, lock):
                    fs.rm(path)  # half-written files of killed tasks
        elif not resume:
            raise OutputExistsError(
                f"output folder {pipeline.output.path} is not empty; use --resume to continue "
                "an interrupted run or --overwrite to replace it")
        else:
            raise OutputExistsError(f"{pipeline.output.path} holds no run to resume (no {STATE_DIR}/plan.json)")
    if read_json(layout.plan_file) is None:
        write_json(layout.plan_file, {"fingerprint": fp, "units": len(units)})


def _inside(path: str, folder: str) -> bool:
    return path.rstrip("/") == folder.rstrip("/") or path.startswith(folder.rstrip("/") + "/")


def _entries(fs: AbstractFileSystem, root: str, lock: str, *, any_one: bool = False) -> list[str]:
    """What the output folder holds besides this run's lock (and the folders around it);
    ``any_one``: stop at the first (``_state/``, which may hold a marker per unit, is listed
    only when nothing else is there)."""
    out, around = [], []
    for path in fs.ls(root, detail=False):
        (around if _inside(lock, path) else out).append(path)
    for path in around:  # _state/: look inside it
        if out and any_one:
            break
        out += [p for p in fs.ls(path, detail=False) if not _inside(p, lock)]
    return out


def _clear(fs: AbstractFileSystem, root: str, lock: str) -> None:
    """Remove the output folder's content (``--overwrite``), keeping this run's lock."""
    for path in _entries(fs, root, lock):
        fs.rm(path, recursive=True)


def write_stats(layout: OutputLayout, stats: RunStats) -> None:
    write_json(layout.stats_file, stats.to_dict(), indent=True)
