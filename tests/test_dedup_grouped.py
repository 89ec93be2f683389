"""Grouped keys: a hash range read through the directory gives exactly the valid keys of that
range (for any number of ranges, fewer or more than the directory's buckets), and a dedup
index segment written without grouped keys is still read (whole)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from dedup_corpus import planted
from test_dedup_stage import pipeline, rejects

from corpusforge.dedup.grouped import BUCKET_BITS, partition_of, read_range, write_grouped
from corpusforge.engine import run_pipeline

from conftest import read_output


@pytest.mark.parametrize("parts", [1, 2, 7, 250, 3 << BUCKET_BITS])
def test_a_range_read_is_exactly_the_valid_keys_of_the_range(tmp_path, parts):
    rng = np.random.default_rng(parts)
    keys = rng.integers(0, 2**64, size=(3, 5000), dtype=np.uint64)
    keys[1, :100] = keys[1, 100:200]  # repeated keys land in one range
    keys[2, :] = np.uint64(7) << np.uint64(58)  # one bucket holds a whole row
    valid = rng.random((3, 5000)) > 0.2
    valid[0, :] = False  # a row with no valid key at all
    g, d = str(tmp_path / "g.npy"), str(tmp_path / "d.npy")
    write_grouped(g, d, keys, valid)
    for r in range(3):
        seen = []
        for p in sorted({0, 1, parts // 2, parts - 1} & set(range(parts))):
            k, idx = read_range(g, d, r, p, parts)
            want = np.flatnonzero(valid[r] & (partition_of(keys[r], parts) == p))
            assert sorted(idx.tolist()) == want.tolist()
            assert (k == keys[r, idx]).all()
            seen += idx.tolist()
        if parts == 1:
            assert sorted(seen) == np.flatnonzero(valid[r]).tolist()


def test_an_index_segment_without_grouped_keys_is_read_whole(tmp_path):
    """A segment written before grouped keys existed: the same duplicates are found in it."""
    old = planted(originals=6, seed=1, files=1, prefix="old-")
    new = planted(originals=6, seed=2, files=1, prefix="new-", shift=40)
    olds = [r for r in old.files["old-part0.jsonl"] if "-orig-" in r["id"]]
    news = new.files["new-part0.jsonl"]
    news.append({**olds[0], "id": "again-exact", "url": "https://z.example/1"})
    news.append({**olds[1], "id": "again-near", "text": olds[1]["text"][:-3] + "ぬ。",
                 "url": "https://z.example/2"})
    index = tmp_path / "index"
    extra = f"      index: {index}\n      partitions: 3"
    run_pipeline(pipeline(old.write(tmp_path / "a"), tmp_path / "out-a", extra=extra), workers=1)
    legacy = tmp_path / "legacy"
    shutil.copytree(index, legacy)
    meta = json.loads((legacy / "index.json").read_text())
    for seg in meta["segments"]:
        for part in seg["parts"]:
            assert part.pop("grouped") and part.pop("directory")
    (legacy / "index.json").write_text(json.dumps(meta))
    for f in [*legacy.glob("seg-*/grouped-*.npy"), *legacy.glob("seg-*/directory-*.npy")]:
        f.unlink()
    inputs = new.write(tmp_path / "b")
    found = {}
    for name, folder in (("grouped", index), ("legacy", legacy)):
        out = tmp_path / f"out-{name}"
        run_pipeline(pipeline(inputs, out, extra=f"      index: {folder}\n      partitions: 3"), workers=1)
        found[name] = (sorted(read_output(out).column("id").to_pylist()),
                       sorted(zip(*rejects(out).select(["id", "reject_dup_of"]).to_pydict().values())))
    assert found["grouped"] == found["legacy"]
    assert ("again-exact", olds[0]["id"]) in found["grouped"][1]
    assert ("again-near", olds[1]["id"]) in found["grouped"][1]
