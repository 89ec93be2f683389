"""Shared test helpers: the shared real-data folder, pipeline construction, output reading,
error records and the conservation check of hostile-input tests."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

# every Ray instance a test starts (in this process or a CLI subprocess) binds to 127.0.0.1
# only: set before anything imports Ray, which reads it once
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# a Ray Client address nobody serves (tests of refusals) fails after three 1 s attempts, not
# after Ray's 5 + 10 + 15 s
os.environ.setdefault("RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S", "1")
os.environ.setdefault("RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; skips the test cleanly when the folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def shared() -> type:
    return shared_data  # type: ignore[return-value]


@pytest.fixture
def files_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Work in ``tmp_path``, with empty files of the names given: ``files_here("ja.model")``
    (validation checks that the files a pipeline names exist; it does not load them)."""
    monkeypatch.chdir(tmp_path)

    def make(*names: str) -> Path:
        for name in names:
            (tmp_path / name).write_bytes(b"")
        return tmp_path

    return make


def read_output(path: Path | str) -> pa.Table:
    """All documents of a run (partition folders become columns again), in shard order."""
    from corpusforge.io.output import read_output as read

    return read(str(path))


JA = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
EN = "The quick brown fox jumps over the lazy dog."


def run(tmp_path: Path, body: str, out: str = "out", **kw):
    """Run the pipeline ``body`` (``OUT`` and ``TMP`` replaced by paths under ``tmp_path``)
    with one worker; its stats, checked for conservation."""
    from corpusforge.config import pipeline_from_yaml
    from corpusforge.engine import run_pipeline

    text = textwrap.dedent(body).replace("OUT", str(tmp_path / out)).replace("TMP", str(tmp_path))
    return conserved(run_pipeline(pipeline_from_yaml(text), workers=1, **kw))


def conserved(stats):
    """``stats`` after checking docs_in == docs_out + removed + errored for every step, and
    that each step got what the one before it passed on."""
    for s in stats.steps:
        assert s.docs_in == s.docs_out + s.docs_removed + s.errored, s
    for a, b in zip(stats.steps, stats.steps[1:]):
        assert b.docs_in == a.docs_out, (a, b)
    return stats


def error_records(out: Path) -> list[dict]:
    """The error records a run wrote under ``out/_errors``, file by file."""
    folder = out / "_errors"
    if not folder.exists():
        return []
    return [orjson.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_bytes().splitlines()]


@pytest.fixture(scope="session")
def search_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict]]:
    """The search tests' corpus (tests/search_corpus.py) as a run's output with its exact,
    BM25 and dense (static model) indexes built: ``(output folder, documents)``."""
    from corpusforge.search import index

    from search_corpus import documents, write_run

    docs = documents()
    out = write_run(tmp_path_factory.mktemp("search") / "out", docs)
    index(str(out), ("exact", "bm25", "dense"))
    return str(out), docs


# the report tests' runs, shared by their modules (a session fixture is computed once only
# where it is defined once)
from report_data import web_runs  # noqa: E402,F401
