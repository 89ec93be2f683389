"""``_state/status.json``: where a run is, for a scheduler or a person.

Written by the driver (atomically, as every file) once the run holds its output folder: when
it starts, after every map unit and every phase, and when it ends. ``state`` is ``running``,
then ``succeeded``, ``failed`` or ``interrupted``; a run killed outright (``kill -9``, a lost
machine) leaves ``running`` behind, and its lock (``_state/lock/``) tells whether its process
is still there. ``exit_code`` is the command line's (docs/nightly.md).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from corpusforge.accounting import RunStats, StepStats
from corpusforge.errors import EXIT_OK, exit_code
from corpusforge.io.atomic import read_json, write_json
from corpusforge.io.layout import OutputLayout

RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"
#: the longest error message kept (a message may quote a document)
MESSAGE_CHARS = 2000


def now_iso(t: float | None = None) -> str:
    """A UTC time as ISO 8601 to the second (``2026-01-31T03:00:00+00:00``)."""
    return datetime.fromtimestamp(time.time() if t is None else t, timezone.utc).isoformat(timespec="seconds")


class RunStatus:
    """The status of one run, kept in memory and rewritten to ``_state/status.json``."""

    def __init__(self, layout: OutputLayout, pipeline: str, units: int, map_steps: Sequence[str],
                 *, resumed: bool = False, took_over: dict[str, Any] | None = None,
                 started_at: str, run: str | None = None) -> None:
        self.path = layout.status_file
        self._t0 = time.perf_counter()
        self.map = RunStats.empty(map_steps)
        self.stages: list[StepStats] = []
        self.body: dict[str, Any] = {
            "state": RUNNING,
            "pipeline": pipeline,
            "output": layout.root,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "run": run,
            "resumed": resumed,
            # the owner of the lock this run took over (a run that died)
            "took_over_from": None if took_over is None else
            {k: took_over.get(k) for k in ("host", "pid", "run", "started_at", "heartbeat_at")},
            "started_at": started_at,
            "updated_at": started_at,
            "ended_at": None,
            "phase": None,
            "units": {"total": units, "done": 0},
            "exit_code": None,
            "last_error": None,
            "error_records": 0,
            "errors": layout.errors,
            "stats": None,
        }

    def _write(self) -> None:
        stats = RunStats([*self.map.steps, *self.stages], units=self.map.units,
                         wall_seconds=time.perf_counter() - self._t0)
        self.body["updated_at"] = now_iso()
        self.body["units"]["done"] = self.map.units
        self.body["error_records"] = sum(s.error_records for s in stats.steps)
        self.body["stats"] = stats.to_dict()
        write_json(self.path, self.body, indent=True)

    def begin(self) -> None:
        self._write()

    def phase(self, name: str) -> None:
        self.body["phase"] = name
        self._write()

    def unit(self, stats: RunStats, *, write: bool = True) -> None:
        """A map unit finished (now, or in the run this one resumes)."""
        self.map.merge(stats)
        if write:
            self._write()

    def map_done(self, stats: RunStats) -> None:
        """The map phase's merged stats (those of every unit, resumed ones included)."""
        self.map = RunStats([StepStats.from_dict(s.to_dict()) for s in stats.steps], units=stats.units)
        self._write()

    def stage_done(self, stats: StepStats) -> None:
        self.stages.append(stats)
        self._write()

    def end(self, exc: BaseException | None) -> None:
        """The run ended: succeeded (``exc`` None), interrupted, or failed with ``exc``."""
        code = exit_code(exc)
        self.body["state"] = (SUCCEEDED if code == EXIT_OK else
                              INTERRUPTED if isinstance(exc, KeyboardInterrupt) else FAILED)
        self.body["exit_code"] = code
        self.body["ended_at"] = now_iso()
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            self.body["last_error"] = {"type": type(exc).__name__, "message": str(exc)[:MESSAGE_CHARS]}
        self._write()


def read_status(layout: OutputLayout) -> dict[str, Any] | None:
    """The status a run left in ``layout`` (None: no run has started there)."""
    status = read_json(layout.status_file)
    if status is not None and not isinstance(status, dict):
        raise ValueError(f"{layout.status_file} is not a run's status")
    return status
