"""The kept document of every cluster in bounded tasks (``dedup/clusters.py``) gives exactly
what a brute force over the whole graph gives: the same kept documents (keep policy, ties to
the lowest index, index documents always winning), cluster sizes, removal reasons and the ids
removed documents duplicate — with ranges and label partitions small enough to really split,
from scipy's one task and from the rounds' stars; and a dedup run on Japanese and English
text writes the same bytes whatever the bounds."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from dedup_corpus import planted
from test_dedup_components import _bytes
from test_dedup_stage import pipeline, rejects

from corpusforge.dedup.clusters import NEAR, Plan, decisions, run_phases
from corpusforge.dedup.config import DedupConfig
from corpusforge.dedup.index import IndexPart
from corpusforge.dedup.layout import Layout
from corpusforge.dedup.starcc import run_rounds
from corpusforge.engine import run_pipeline
from corpusforge.io.arrays import save_array, take_cols
from corpusforge.io.tables import write_table

from conftest import read_output

KINDS = ("band", "band", "text", "url")


def _serial(phase, fn, items):
    # through pickle, as an executor's workers get them
    return [fn(pickle.loads(pickle.dumps(item))) for item in items]


class Run:
    """A run's sign files for synthetic documents: shards, index parts, keys, priorities, ids."""

    def __init__(self, work: Path, rng: np.random.Generator, shards: list[int], index: list[int],
                 docs_per_task: int) -> None:
        work.mkdir()
        n_docs, n_total = sum(shards), sum(shards) + sum(index)
        # few distinct values: ties of priority, of text and of URL keys inside clusters
        self.prio = np.concatenate([rng.choice([0.0, 1.0, 2.0, -np.inf, np.nan], n_docs, p=[.4, .3, .2, .05, .05]),
                                    np.full(n_total - n_docs, np.inf)])
        self.keys = rng.integers(0, 3, (len(KINDS), n_total)).astype(np.uint64)
        self.valid = rng.random((len(KINDS), n_total)) < 0.8
        self.ids = np.array([f"{'文書' if g % 2 else 'doc'}-{g}" for g in range(n_total)], dtype=object)
        parts, first = [], 0
        for i, n in enumerate(shards):
            sl = slice(first, first + n)
            save_array(str(work / f"keys-{i:05d}.npy"), self.keys[:, sl])
            save_array(str(work / f"valid-{i:05d}.npy"), self.valid[:, sl])
            save_array(str(work / f"prio-{i:05d}.npy"), self.prio[sl])
            write_table(str(work / f"ids-{i:05d}.parquet"), pa.table({"id": pa.array(self.ids[sl], pa.string())}))
            first += n
        for i, n in enumerate(index):
            sl, base = slice(first, first + n), str(work / f"index-{i}")
            save_array(base + "-keys.npy", self.keys[:, sl])
            save_array(base + "-valid.npy", self.valid[:, sl])
            write_table(base + "-ids.parquet", pa.table({"id": pa.array(self.ids[sl], pa.string())}))
            parts.append(IndexPart(base + "-keys.npy", base + "-valid.npy", base + "-ids.parquet", n))
            first += n
        cfg = DedupConfig.model_validate({"exact": {"on": ["text", "url"]}, "minhash": {"bands": 2, "rows": 4},
                                          "docs_per_task": docs_per_task})
        self.lay = Layout(cfg, str(work), tuple(f"f{i}" for i in range(len(shards))), tuple(shards),
                          tuple(parts), KINDS, 2, 4)
        self.n_docs, self.n_total = n_docs, n_total

    def reference(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
        """Union-find over every edge, then the keep policy document by document."""
        parent = list(range(self.n_total))

        def root(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in zip(src.tolist(), dst.tolist()):
            parent[root(a)] = root(b)
        members: dict[int, list[int]] = {}
        for g in range(self.n_total):
            members.setdefault(root(g), []).append(g)
        size, reason, dup_of = np.ones(self.n_docs, np.int32), np.zeros(self.n_docs, np.int8), []
        for group in members.values():
            # highest priority wins, a missing (NaN) one loses to every value; then the lowest index
            kept = min(group, key=lambda g: (np.isnan(self.prio[g]), -np.nan_to_num(self.prio[g], nan=0.0), g))
            for g in group:
                if g >= self.n_docs:
                    continue
                size[g] = len(group)
                if g != kept:
                    reason[g] = NEAR
                    for row, code in ((3, 2), (2, 1)):  # URL, then exact text (which wins)
                        if self.valid[row, g] and self.valid[row, kept] and self.keys[row, g] == self.keys[row, kept]:
                            reason[g] = code
        for g in range(self.n_docs):
            if reason[g]:
                dup_of.append(self.ids[min(members[root(g)], key=lambda m: (
                    np.isnan(self.prio[m]), -np.nan_to_num(self.prio[m], nan=0.0), m))])
        return size, reason, dup_of


def _edges(rng: np.random.Generator, n_docs: int, n_total: int) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs among a third of the documents (the rest are singletons), a long chain,
    a star around one hub, edges to index documents, repeated and self edges."""
    some = rng.choice(n_total, n_total // 3, replace=False)
    a, b = rng.choice(some, 120), rng.choice(some, 120)
    chain = rng.permutation(n_docs)[:40]
    hub = np.full(30, rng.integers(n_docs))
    spokes = rng.integers(0, n_total, 30)
    to_index = rng.integers(0, n_docs, 15), rng.integers(n_docs, n_total, 15)
    loops = rng.integers(0, n_total, 5)
    src = np.concatenate([a, chain[:-1], hub, to_index[0], loops, a[:10]])
    dst = np.concatenate([b, chain[1:], spokes, to_index[1], loops, b[:10]])
    return src.astype(np.int64), dst.astype(np.int64)


@pytest.mark.parametrize(("docs_per_task", "rounds"), [(7, 0), (7, 3), (50, 2), (100_000, 0)])
def test_the_kept_documents_of_a_brute_force(tmp_path: Path, docs_per_task: int, rounds: int) -> None:
    rng = np.random.default_rng(docs_per_task + rounds)
    run = Run(tmp_path / "work", rng, shards=[40, 0, 33, 61, 9], index=[25, 12], docs_per_task=docs_per_task)
    src, dst = _edges(rng, run.n_docs, run.n_total)
    files = []
    for i, (s, d) in enumerate(zip(np.array_split(src, 4), np.array_split(dst, 4))):
        files.append(str(tmp_path / "work" / f"edges-{i}.npy"))
        save_array(files[-1], np.stack([s, d]))
    phases = []

    def serial(phase, fn, items):
        phases.append((phase, len(items)))
        return _serial(phase, fn, items)

    stars = run_rounds(serial, str(tmp_path / "work"), files, rounds) if rounds else None
    run_phases(serial, run.lay, files, stars)
    plan = Plan(run.lay)
    counts = dict(phases)
    assert counts["members"] == plan.buckets and counts["decide"] == plan.run_buckets
    if docs_per_task == 7:
        assert plan.buckets == 26 and counts["clusters"] > 1  # ranges and partitions really split
    size, reason, dup_of = run.reference(src, dst)
    assert (reason > 0).any() and {1, 2, 3} <= set(reason.tolist())
    first = 0
    for n in run.lay.sizes:  # as each shard's write task reads them
        got_size, got_reason, got_dup = decisions(run.lay, first, n)
        assert np.array_equal(got_size, size[first:first + n])
        assert np.array_equal(got_reason, reason[first:first + n])
        removed = int((reason[:first] > 0).sum())
        assert got_dup.to_pylist() == dup_of[removed:removed + len(got_dup)]
        assert len(got_dup) == int((reason[first:first + n] > 0).sum())
        first += n


def test_index_documents_always_win(tmp_path: Path) -> None:
    """A cluster with an index document keeps it over a document of the run of the highest
    priority, and of two index documents the first."""
    rng = np.random.default_rng(0)
    run = Run(tmp_path / "work", rng, shards=[10, 10], index=[5, 5], docs_per_task=3)
    run.prio[:20] = 5.0
    save_array(str(tmp_path / "work" / "prio-00000.npy"), run.prio[:10])
    save_array(str(tmp_path / "work" / "prio-00001.npy"), run.prio[10:20])
    src, dst = np.array([0, 12, 27, 1]), np.array([12, 27, 22, 2])
    save_array(str(tmp_path / "e.npy"), np.stack([src, dst]))
    run_phases(_serial, run.lay, [str(tmp_path / "e.npy")], None)
    size, reason, dup_of = decisions(run.lay, 0, 20)
    assert size[[0, 12, 1, 2]].tolist() == [4, 4, 2, 2]
    assert reason[0] > 0 and reason[12] > 0 and reason[1] == 0 and reason[2] > 0
    assert dup_of.to_pylist() == [run.ids[22], run.ids[1], run.ids[22]]


def test_take_cols_reads_values_of_one_row(tmp_path: Path) -> None:
    a = np.arange(3 * 5000, dtype=np.uint64).reshape(3, 5000)
    save_array(str(tmp_path / "a.npy"), a)
    cols = np.array([4999, 0, 17, 17, 2500, 1])
    assert np.array_equal(take_cols(str(tmp_path / "a.npy"), 2, cols), a[2, cols])
    assert take_cols(str(tmp_path / "a.npy"), 1, np.zeros(0, np.int64)).shape == (0,)


def test_a_dedup_run_writes_the_same_bytes_whatever_the_bounds(tmp_path: Path) -> None:
    """Planted Japanese and English duplicates against an index of an earlier run that holds
    one of the files again: ranges of 13 documents (and rounds of 4 partitions) give the
    bytes of one range and one task, and the file's documents lose to their index copies."""
    first, second = planted(prefix="a-"), planted(seed=1, prefix="b-", shift=3)
    again = first.write(tmp_path / "in1")
    runs = {}
    for name, extra in (("one", ""), ("split", "      docs_per_task: 13\n      edges_per_task: 60")):
        index = tmp_path / f"index-{name}"
        run_pipeline(pipeline(again, tmp_path / f"{name}-1", extra=f"      index: {index}\n{extra}"), workers=1)
        out = tmp_path / f"{name}-2"
        run_pipeline(pipeline(second.write(tmp_path / "in2") + again[:1], out,
                              extra=f"      index: {index}\n{extra}"), workers=1)
        runs[name] = out
    assert _bytes(runs["one"]) and _bytes(runs["one"]) == _bytes(runs["split"])
    assert read_output(runs["one"]).equals(read_output(runs["split"]))
    phases = {p.name for p in (runs["split"] / "_state" / "stages" / "00-dedup").iterdir()}
    assert {"cc-r000l", "components", "members", "clusters", "decide"} <= phases
    assert len(list((runs["split"] / "_state" / "stages" / "00-dedup" / "members").iterdir())) > 10
    indexed = set(read_output(tmp_path / "split-1").column("id").to_pylist())
    copies = indexed & {r["id"] for r in first.files["a-part0.jsonl"]}
    gone = {r["id"]: r for r in rejects(runs["split"]).to_pylist()}
    assert copies and all(gone[i]["reason"] == "duplicate_exact" and gone[i]["reject_dup_of"] == i for i in copies)
    assert {"duplicate_exact", "duplicate_near"} <= {r["reason"] for r in gone.values()}
