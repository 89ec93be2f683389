"""The output folder of a run: the one place that knows where everything goes.

::

    part-*.*            the final documents (the last phase writes the output's format and
                        partitioning here)
    _map/               the map phase's documents, when global stages follow (Parquet)
    _stage-<i>/         documents between two stages (Parquet), when there are several
                        (both removed once the run has finished, unless keep_intermediate)
    _work/<ii>-<name>/  a stage's scratch files (signatures, band keys...), removed when done
    _rejects/step=*/    removed documents of every phase, partitioned by step
    _errors/            error records of every phase
    _state/plan.json    the run's fingerprint (what a resume must match)
    _state/status.json  where the run is: state, times, counts, exit code, last error
    _state/lock/        the one-writer lock: ``gen-<n>.json``, the highest generation holds it
    _state/unit-*.json  map-phase work unit markers
    _state/progress/    what each running map unit has read so far (removed when the phase ends)
    _state/stages/      phase markers (``map.json``, ``<ii>-<name>.json``) and their task
                        markers (``<ii>-<name>/<phase>/task-<n>.json``)
    stats.json          the merged stats of the whole run
"""

from __future__ import annotations

from dataclasses import dataclass

from corpusforge.io.storage import filesystem


def join(root: str, *parts: str) -> str:
    """``root/part/...`` for local paths and URLs alike (no protocol handling of its own)."""
    return "/".join([root.rstrip("/"), *[p.strip("/") for p in parts if p]])


MAP_DIR, WORK_DIR, REJECTS_DIR, ERRORS_DIR, STATE_DIR = "_map", "_work", "_rejects", "_errors", "_state"
STATS_FILE, PLAN_FILE, STATUS_FILE, LOCK_DIR = "stats.json", "plan.json", "status.json", "lock"
#: the map phase's key among the phase markers
MAP_PHASE = "map"


@dataclass(frozen=True)
class OutputLayout:
    """Paths inside one run's output folder (local path or URL)."""

    root: str

    @property
    def rejects(self) -> str:
        return join(self.root, REJECTS_DIR)

    @property
    def errors(self) -> str:
        return join(self.root, ERRORS_DIR)

    @property
    def state(self) -> str:
        return join(self.root, STATE_DIR)

    @property
    def plan_file(self) -> str:
        return join(self.state, PLAN_FILE)

    @property
    def status_file(self) -> str:
        return join(self.state, STATUS_FILE)

    @property
    def lock_dir(self) -> str:
        """The output lock's folder (``gen-<n>.json`` files; see ``engine/lock.py``)."""
        return join(self.state, LOCK_DIR)

    @property
    def progress_dir(self) -> str:
        """Running map units' progress files (``io/progress.py``)."""
        return join(self.state, "progress")

    @property
    def stats_file(self) -> str:
        return join(self.root, STATS_FILE)

    def documents(self, phase: int, phases: int) -> str:
        """Where phase ``phase`` of ``phases`` (0 = the map phase) writes its documents."""
        if phase == phases - 1:
            return self.root
        return join(self.root, MAP_DIR) if phase == 0 else join(self.root, f"_stage-{phase - 1}")

    @staticmethod
    def phase_key(stage_index: int | None, name: str) -> str:
        """``map`` for the map phase, ``<ii>-<name>`` for stage ``stage_index``."""
        return MAP_PHASE if stage_index is None else f"{stage_index:02d}-{name}"

    def phase_marker(self, key: str) -> str:
        return join(self.state, "stages", f"{key}.json")

    def task_markers(self, key: str) -> str:
        """The folder of a phase's task markers (map units sit directly in ``_state/``)."""
        return self.state if key == MAP_PHASE else join(self.state, "stages", key)

    def work_dir(self, key: str) -> str:
        return join(self.root, WORK_DIR, key)


def is_document_path(relative: str) -> bool:
    """Whether a path relative to an output (or input) folder can hold documents: not inside
    the run layout's ``_`` folders (rejects, errors, state, scratch) nor a hidden one, and not
    a run file such as ``stats.json``."""
    parts = relative.strip("/").split("/")
    return not any(part.startswith(("_", ".")) for part in parts) and parts[-1] not in RUN_FILES


#: files a run writes next to its documents (``mix_manifest.json``: the mix stage's plan;
#: ``manifest.json``: an incremental corpus's, io/corpus.py; ``report.html``: the run report)
REPORT_FILE = "report.html"
RUN_FILES = frozenset({STATS_FILE, "mix_manifest.json", "manifest.json", REPORT_FILE})


def list_shards(path: str, suffixes: tuple[str, ...] = (".parquet",)) -> list[str]:
    """Document shards under ``path`` (see :func:`is_document_path`), sorted; paths keep the
    protocol of ``path`` (``s3://``, ``memory://``) so any worker can open them."""
    fs, root = filesystem(path)
    if not fs.exists(root):
        return []
    out = []
    for p in fs.find(root):
        if p.endswith(suffixes) and is_document_path(p[len(root.rstrip("/")) + 1:]):
            out.append(fs.unstrip_protocol(p) if "://" in path else p)
    return sorted(out)
