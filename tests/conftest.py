"""Shared test helpers: the shared real-data folder, pipeline construction, output reading."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

# every Ray instance a test starts (in this process or a CLI subprocess) binds to 127.0.0.1
# only: set before anything imports Ray, which reads it once
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

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


def read_output(path: Path | str) -> pa.Table:
    """All documents of a run (partition folders become columns again), in shard order."""
    from corpusforge.io.output import read_output as read

    return read(str(path))
