"""Connected components in rounds of parallel tasks, each holding one hash partition of edges.

The alternating large-star / small-star algorithm (Kiveris et al., "Connected Components in
MapReduce and Beyond", 2014). Edges are split by a hash of one endpoint into ``parts``
partitions; every phase is one task per partition, reading that partition from every task of
the phase before and writing its output split by the partition the next phase groups on:

* **large-star** groups directed edges ``(u, v)`` by ``u`` (each undirected edge is there in
  both directions): with ``m`` the smallest of ``u`` and its neighbours, every neighbour
  ``v > u`` is linked to ``m``. Output keyed by ``v``, the larger end.
* **small-star** groups edges ``(u, v)``, ``u > v``, by ``u``: with ``m`` the smallest of its
  smaller neighbours, those and ``u`` itself are linked to ``m``. Output in both directions.

Neither phase ever makes more edges than it reads, so a task holds at most its share of the
edges (plus the neighbourhood of the node of highest degree). The rounds stop when neither
phase changed anything: every component is then a star around its smallest node, and each
node's label is that node — the same components as scipy's on the whole graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from corpusforge.hashing import mix64
from corpusforge.io.arrays import load_array, save_array
from corpusforge.io.layout import join
from corpusforge.io.storage import filesystem

#: rounds after which the computation is assumed broken (it needs O(log n) in practice)
MAX_ROUNDS = 200


def partition_of(nodes: np.ndarray, parts: int) -> np.ndarray:
    """The hash partition of each node (mixed, so that runs of close ids spread evenly)."""
    h = mix64(nodes.astype(np.uint64, copy=False))
    return (((h >> np.uint64(32)) * np.uint64(parts)) >> np.uint64(32)).astype(np.int64)


def phase_file(work: str, phase: str, task: int, part: int) -> str:
    return join(work, f"cc-{phase}-{task:04d}-{part:04d}.npy")


@dataclass(frozen=True)
class PhaseTask:
    """One partition of one phase: read ``(src, part)`` of every task of ``src``, write
    ``(phase, part, q)`` for every partition ``q``."""

    work: str
    #: ``scatter`` (the group phase's edge files, ``inputs``), ``large`` or ``small``
    kind: str
    phase: str
    part: int
    parts: int
    #: files this task reads
    inputs: tuple[str, ...]


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(a, b)`` pairs, sorted by ``a`` then ``b``."""
    if len(a) == 0:
        return a, b
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]


def _groups(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start of each run of equal values of sorted ``u``, and each row's run number."""
    new = np.ones(len(u), bool)
    new[1:] = u[1:] != u[:-1]
    return np.flatnonzero(new), np.cumsum(new) - 1


def _large_star(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    starts, run = _groups(u)
    m = np.minimum(np.minimum.reduceat(v, starts), u[starts])[run]
    up = v > u
    changed = int((up & (m < u)).sum())
    return v[up], m[up], changed


def _small_star(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    starts, run = _groups(u)
    m = np.minimum.reduceat(v, starts)[run]
    degree = np.diff(np.append(starts, len(u)))
    changed = int((degree >= 2).sum())
    # each smaller neighbour other than m, and u itself, linked to m
    other = v != m
    a = np.concatenate([v[other], u[starts]])
    b = np.concatenate([m[other], m[starts]])
    return a, b, changed


def _write_split(task: PhaseTask, key: np.ndarray, other: np.ndarray) -> None:
    """Write rows ``(key, other)`` to the partition of ``key``."""
    dest = partition_of(key, task.parts)
    order = np.argsort(dest, kind="stable")
    key, other, dest = key[order], other[order], dest[order]
    bounds = np.searchsorted(dest, np.arange(task.parts + 1))
    for q in range(task.parts):
        lo, hi = bounds[q], bounds[q + 1]
        save_array(phase_file(task.work, task.phase, task.part, q), np.stack([key[lo:hi], other[lo:hi]]))


def phase_task(task: PhaseTask) -> dict:
    """Run one partition of one phase; ``changed`` counts the nodes it changed."""
    loaded = [load_array(p) for p in task.inputs]
    u = np.concatenate([e[0] for e in loaded]) if loaded else np.zeros(0, np.int64)
    v = np.concatenate([e[1] for e in loaded]) if loaded else np.zeros(0, np.int64)
    del loaded
    u, v = u.astype(np.int64, copy=False), v.astype(np.int64, copy=False)
    changed = 0
    if task.kind == "scatter":
        # an edge file of the group phase: undirected edges, to large-star in both directions
        a, b = np.concatenate([u, v]), np.concatenate([v, u])
    elif task.kind == "large":
        u, v = _unique_pairs(u, v)
        a, b, changed = _large_star(u, v) if len(u) else (u, v, 0)
    else:
        u, v = _unique_pairs(u, v)
        a, b, changed = _small_star(u, v) if len(u) else (u, v, 0)
        a, b = np.concatenate([a, b]), np.concatenate([b, a])
    loop = a != b
    _write_split(task, a[loop], b[loop])
    return {"edges": int(loop.sum()), "changed": changed}


def star_labels(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(nodes, labels)`` of the nodes of one partition of the converged star edges in
    ``paths`` (sorted, once): a leaf's label is its star's centre, the smallest node of its
    component, and a centre is its own label."""
    loaded = [load_array(p) for p in paths]
    u = np.concatenate([e[0] for e in loaded]) if loaded else np.zeros(0, np.int64)
    v = np.concatenate([e[1] for e in loaded]) if loaded else np.zeros(0, np.int64)
    del loaded
    # the rows of a partition are keyed by its nodes: (leaf, centre) and (centre, leaf)
    u, v = _unique_pairs(u, np.minimum(u, v))
    return u, v


def remove(paths: list[str]) -> None:
    for path in paths:
        fs, root = filesystem(path)
        if fs.exists(root):
            fs.rm(root)


MapTasks = Callable[[str, Callable[[PhaseTask], dict], list[PhaseTask]], list[dict]]


def run_rounds(map_tasks: MapTasks, work: str, edge_files: list[str], parts: int) -> list[list[str]]:
    """Components of the graph whose undirected edges (``2 x k`` arrays) are ``edge_files``,
    as rounds of ``parts`` tasks through ``map_tasks(phase, fn, items)``; returns the files of
    the converged star edges, per partition (for :func:`star_labels`). A phase's inputs are removed once it
    is done (a resumed run finds its markers and never reads them again)."""
    items = [PhaseTask(work, "scatter", "scatter", i, parts, (path,)) for i, path in enumerate(edge_files)]
    map_tasks("cc-scatter", phase_task, items)
    prev, prev_tasks = "scatter", len(edge_files)
    for rnd in range(MAX_ROUNDS):
        changed = 0
        for kind in ("large", "small"):
            phase = f"r{rnd:03d}{kind[0]}"
            items = [PhaseTask(work, kind, phase, p, parts,
                               tuple(phase_file(work, prev, t, p) for t in range(prev_tasks)))
                     for p in range(parts)]
            changed += sum(r["changed"] for r in map_tasks(f"cc-{phase}", phase_task, items))
            remove([f for it in items for f in it.inputs])
            prev, prev_tasks = phase, parts
        if changed == 0:
            return [[phase_file(work, prev, t, q) for t in range(parts)] for q in range(parts)]
    raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
