"""Connected components in rounds of hash-partitioned tasks (``dedup/starcc.py``) find exactly
the clusters of the one-task scipy version: on random graphs, long chains and stars, and in
a real dedup run on Japanese and English text, whose output is byte-identical either way."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from dedup_corpus import planted
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from test_dedup_stage import pipeline, rejects

from corpusforge.dedup.components import component_labels
from corpusforge.dedup.starcc import run_rounds, star_labels
from corpusforge.engine import run_pipeline
from corpusforge.io.arrays import save_array

from conftest import read_output


def _serial(phase, fn, items):
    # through pickle, as an executor's workers get them
    return [fn(pickle.loads(pickle.dumps(item))) for item in items]


def _graphs(rng: np.random.Generator):
    """(name, n, src, dst): random sparse and dense graphs, long chains in shuffled order,
    stars around a few hubs, no edges at all, and repeated and self edges."""
    for n, k in ((1, 0), (50, 0), (2000, 300), (2000, 1900), (3000, 9000)):
        yield f"random-{n}-{k}", n, rng.integers(0, n, k), rng.integers(0, n, k)
    perm = rng.permutation(5000)
    yield "chain", 5000, perm[:-1], perm[1:]
    yield "sorted-chain", 5000, np.arange(1, 5000), np.arange(4999)
    hubs = rng.integers(0, 4000, 4)
    src = rng.integers(0, 4000, 6000)
    yield "stars", 4000, src, hubs[rng.integers(0, 4, 6000)]
    a = rng.integers(0, 300, 500)
    yield "repeats-and-loops", 300, np.concatenate([a, a, a]), np.concatenate([a[::-1], a[::-1], a])


def _scipy(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The reference: scipy's labels over all ``n`` nodes, as the smallest node of each."""
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, comp = connected_components(graph, directed=True, connection="weak")
    smallest = np.full(n, n)
    np.minimum.at(smallest, comp, np.arange(n))
    return smallest[comp]


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_rounds_give_the_clusters_of_one_task(tmp_path: Path, parts: int) -> None:
    rng = np.random.default_rng(parts)
    for name, n, src, dst in _graphs(rng):
        work = tmp_path / f"{name}-{parts}"
        work.mkdir()
        files = []
        for i, (a, b) in enumerate(zip(np.array_split(src, 3), np.array_split(dst, 3))):
            files.append(str(work / f"edges-{i}.npy"))
            save_array(files[-1], np.stack([a, b]).astype(np.int64))
        stars = run_rounds(_serial, str(work), files, parts)
        got = [star_labels(part) for part in stars]
        nodes, labels = np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got])
        order = np.argsort(nodes)
        # every node of an edge once, labelled with its component's smallest node, by both
        named = np.unique(np.concatenate([src, dst])).astype(np.int64)
        one_task = component_labels(src, dst)
        assert np.array_equal(one_task[0], named) and np.array_equal(nodes[order], named), name
        assert np.array_equal(one_task[1], _scipy(n, src, dst)[named]), name
        assert np.array_equal(labels[order], one_task[1]), name
        # of the rounds' scratch files only the converged stars are left
        left = {p.name for p in work.iterdir() if p.name.startswith("cc-")}
        assert left == {Path(s).name for part in stars for s in part}, name


def _bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))
            if "_state" not in p.parts}


def test_dedup_run_is_byte_identical_with_distributed_components(tmp_path: Path, monkeypatch) -> None:
    """The planted Japanese and English duplicates (245 edges), clustered in one task and in
    rounds of 5 partitions; a run killed in a round resumes without redoing finished phases."""
    from corpusforge.dedup import starcc

    corpus = planted()
    paths = corpus.write(tmp_path / "in")
    single, rounds = tmp_path / "single", tmp_path / "rounds"
    run_pipeline(pipeline(paths, single), workers=1)
    run_pipeline(pipeline(paths, rounds, extra="      edges_per_task: 60"), workers=1)
    assert _bytes(single) and _bytes(single) == _bytes(rounds)
    assert len(rejects(single)) == len(corpus.exact) + len(corpus.near)
    phases = sorted(p.name for p in (rounds / "_state" / "stages" / "00-dedup").iterdir())
    assert {"cc-scatter", "cc-r000l", "cc-r000s"} <= set(phases)
    assert len(list((rounds / "_state" / "stages" / "00-dedup" / "cc-r000l").iterdir())) == 5

    killed = tmp_path / "killed"
    real, calls = starcc.phase_task, []

    def crash_in_small_star(task):
        if task.phase == "r000s" and task.part == 3:
            raise RuntimeError("killed")
        calls.append(task.phase)
        return real(task)

    monkeypatch.setattr(starcc, "phase_task", crash_in_small_star)
    with pytest.raises(RuntimeError, match="killed"):
        run_pipeline(pipeline(paths, killed, extra="      edges_per_task: 60"), workers=1)
    assert calls[-3:] == ["r000s"] * 3  # partitions 0-2 of the small-star done
    calls.clear()
    monkeypatch.setattr(starcc, "phase_task", lambda task: calls.append((task.phase, task.part)) or real(task))
    run_pipeline(pipeline(paths, killed, extra="      edges_per_task: 60"), workers=1, resume=True)
    assert calls == [("r000s", 3), ("r000s", 4)]
    assert _bytes(killed) == _bytes(single)
    assert read_output(killed).equals(read_output(single))
