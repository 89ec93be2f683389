"""Shared test helpers: the shared real-data folder, pipeline construction, output reading."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

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
    """All main-output Parquet shards of a run, in file-name order (partition folders included)."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*.parquet") if not any(part.startswith("_") for part in p.relative_to(root).parts))
    if not files:
        return pa.table({})
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
