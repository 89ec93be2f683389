"""The root of an incremental corpus (``incremental: true``): one snapshot per night, the
ledger of the input files each night processed, and the manifest that says what the corpus
holds. The one place that knows this layout::

    manifest.json               the committed snapshots and their totals (written last)
    _ledger/snapshot=<id>.parquet   the input files night <id> processed
    _index/                     the persistent dedup index every night dedups against
    _state/night.json           the night under way: its snapshot and files (gone on commit)
    _state/lock/                the one-writer lock of the corpus (one night at a time)
    snapshot=<id>/              one night's run folder: documents, _rejects, _errors, _state,
                                stats.json (a part of the corpus once the manifest lists it)

A snapshot folder that the manifest does not list is a night that has not committed: readers
of the corpus (:func:`committed_snapshot_paths`, ``read_output``) leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from corpusforge.io.atomic import read_json
from corpusforge.io.layout import STATE_DIR, join
from corpusforge.io.storage import filesystem
from corpusforge.io.tables import read_table

MANIFEST_FILE, LEDGER_DIR, INDEX_DIR, NIGHT_FILE = "manifest.json", "_ledger", "_index", "night.json"
#: the hive key of a night's folder: the snapshot id comes back as a column
SNAPSHOT = "snapshot"
#: what the ledger keeps of each input file
LEDGER_SCHEMA = pa.schema([
    ("source", pa.string()), ("name", pa.string()), ("path", pa.string()),
    ("size", pa.int64()), ("version", pa.string()), ("crawl", pa.string()),
    ("snapshot", pa.string()), ("run", pa.string()),
])


@dataclass(frozen=True)
class CorpusLayout:
    """Paths of an incremental corpus root (local path or URL)."""

    root: str

    @property
    def manifest(self) -> str:
        return join(self.root, MANIFEST_FILE)

    @property
    def index(self) -> str:
        """The dedup index a night's ``dedup`` stage uses when it names none."""
        return join(self.root, INDEX_DIR)

    @property
    def night_file(self) -> str:
        return join(self.root, STATE_DIR, NIGHT_FILE)

    def snapshot(self, snapshot_id: str) -> str:
        return join(self.root, f"{SNAPSHOT}={snapshot_id}")

    def ledger(self, snapshot_id: str) -> str:
        return join(self.root, LEDGER_DIR, f"{SNAPSHOT}={snapshot_id}.parquet")


def read_manifest(root: str) -> dict | None:
    """The corpus manifest of ``root``, or None when ``root`` is no incremental corpus."""
    return read_json(CorpusLayout(root).manifest)


def is_corpus(root: str) -> bool:
    fs, path = filesystem(CorpusLayout(root).manifest)
    return fs.exists(path)


def committed_snapshot_paths(root: str) -> list[str]:
    """The folders of the snapshots the manifest lists, in commit order."""
    manifest = read_manifest(root) or {"snapshots": []}
    layout = CorpusLayout(root)
    return [layout.snapshot(s["id"]) for s in manifest["snapshots"]]


def read_ledger(root: str) -> pa.Table:
    """Every file the committed nights processed (one row per file)."""
    manifest = read_manifest(root) or {"snapshots": []}
    layout = CorpusLayout(root)
    tables = [read_table(layout.ledger(s["id"])) for s in manifest["snapshots"]]
    return pa.concat_tables(tables) if tables else LEDGER_SCHEMA.empty_table()
