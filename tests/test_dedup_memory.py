"""The dedup stage's memory per task does not grow with the corpus: a run of N and one of 2N
documents (Japanese and English, exact text and URL duplicates, in shards of one size) with
small bounds — documents per range, edges per task, documents per hash range of a key row —
measure the same per-task peak growth (the task markers' record) in every task group of the
stage, under the bound."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import ROOT

MB = 2**20
#: documents of the smaller run
N = 80_000
#: documents per input file, per range (``docs_per_task``), per hash range of a key row
DOCS = 10_000
#: what a task group's largest task may grow by from N to 2N documents: the noise is under
#: 1 MB, and 48 bytes more per document of the corpus in one task show as 3.6 MB
SLACK = 2 * MB
#: freed memory goes back to the system at once (glibc's malloc and, through it, Arrow's), so
#: that a task's growth is its own allocations, not hidden in pages an earlier task left
RETURN_FREED = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536",
                "ARROW_DEFAULT_MEMORY_POOL": "system"}
#: the bound at these settings: a task's growth above its worker's resident set (the first
#: sign task of a process loads the compiled kernels, ~55 MB)
BOUND = 80 * MB
#: the same for the phases after the components, whose bound is docs_per_task alone
KEEP_BOUND = 8 * MB
KEEP = ("00-dedup/components", "00-dedup/members", "00-dedup/clusters", "00-dedup/decide")


def _corpus(folder, n: int) -> None:
    """``n`` documents in files of DOCS: every other one an exact copy of an earlier one
    (chains of copies across files), every tenth a URL duplicate with another text."""
    folder.mkdir()
    rng = np.random.default_rng(n)
    i = np.arange(n)
    k = np.where(i % 2 == 1, rng.integers(0, np.maximum(i // 2, 1)), i // 2)  # copy of an earlier text
    ja = pa.array(np.where(k % 2 == 0, "吾輩は猫である。名前はまだ無い。第", "The cat has no name yet, part "))
    text = pc.binary_join_element_wise(ja, pc.cast(pa.array(k), pa.string()), "")
    u = np.where(i % 10 == 9, i - 1, i)
    url = pc.binary_join_element_wise("https://example.jp/", pc.cast(pa.array(u), pa.string()), "")
    ids = pc.binary_join_element_wise("doc-", pc.cast(pa.array(i), pa.string()), "")
    table = pa.table({"id": ids, "text": text, "url": url})
    for f, lo in enumerate(range(0, n, DOCS)):
        pq.write_table(table.slice(lo, DOCS), folder / f"part-{f:04d}.parquet")


def _memory(tmp_path: Path, n: int) -> dict[str, dict[str, int]]:
    """The largest task memory of each dedup task group, the rounds' phases as one group per
    step (their number varies), in a run of its own process (the same start for both sizes)."""
    _corpus(tmp_path / f"in-{n}", n)
    (tmp_path / f"p-{n}.yaml").write_text(f"""
inputs: [{{type: parquet, path: {tmp_path}/in-{n}/*.parquet}}]
stages:
  - dedup: {{exact: {{on: [text, url]}}, docs_per_task: {DOCS}, edges_per_task: {DOCS}, partitions: {n // DOCS}}}
output: {{path: {tmp_path}/out-{n}, format: parquet}}
report: false
""")
    env = dict(os.environ, PYTHONPATH=str(ROOT), **RETURN_FREED)
    done = subprocess.run([sys.executable, "-m", "corpusforge.cli", "run", str(tmp_path / f"p-{n}.yaml"),
                           "--workers", "1", "--quiet"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    stats = json.loads((tmp_path / f"out-{n}" / "stats.json").read_text())
    assert stats["steps"][-1]["docs_out"] < n * 0.6  # the copies went
    groups: dict[str, dict[str, int]] = {}
    for group, m in stats["task_memory"].items():
        if group.startswith("00-dedup/"):
            g = groups.setdefault(re.sub(r"cc-r\d+", "cc-r", group), {"tasks": 0, "growth": 0})
            g["tasks"] += m["tasks"]
            g["growth"] = max(g["growth"], m["growth"])
    return groups


@pytest.mark.slow
def test_memory_per_task_does_not_grow_with_the_corpus(tmp_path: Path) -> None:
    small, large = _memory(tmp_path, N), _memory(tmp_path, 2 * N)
    assert set(small) == set(large) >= {"00-dedup/members", "00-dedup/clusters", "00-dedup/decide",
                                         "00-dedup/cc-rl", "00-dedup/cc-rs"}
    # twice the documents are twice the tasks of one size (the ranges of docs_per_task)
    for group in ("00-dedup/members", "00-dedup/decide", "00-dedup/sign", "00-dedup/write"):
        assert small[group]["tasks"] == N // DOCS and large[group]["tasks"] == 2 * N // DOCS
    for group, m in large.items():
        # the kept-document task before held ~50 bytes per document of the corpus: 4 MB more at 2N
        assert m["growth"] <= small[group]["growth"] + SLACK, (group, small[group], m)
        assert m["growth"] <= (KEEP_BOUND if group in KEEP else BOUND), (group, m)
