"""The kept document of every duplicate cluster, its size and why each other member goes, in
tasks whose memory is bounded by ``docs_per_task`` and never grows with the corpus.

Only documents that some edge names are in a cluster of more than one; every other document
is a singleton (kept, size 1). Documents are cut into **buckets**, contiguous ranges of
``docs_per_task`` global indexes, so that a shard's write task reads the slices of the one or
two buckets it spans. Four phases, each a ``map_tasks`` group:

1. ``components`` — every node of an edge with its component's label, the smallest node of
   the component: one task running scipy on the compacted graph (up to ``edges_per_task``
   edges), or one per partition of the converged stars of the rounds (``starcc``). Written
   split by the bucket of the node.
2. ``members`` (one task per bucket) — each member's keep priority; per label, the best
   member of this bucket (highest priority, then lowest index), with its text and URL keys
   and its id, and how many members the label has here. Written split by a hash of the label.
3. ``clusters`` (one task per label partition) — per label, the best of the buckets' bests
   (the same total order, so the cluster's kept document) and the sum of their counts (its
   size), sent back to every bucket that has members of it.
4. ``decide`` (one task per bucket of this run's documents) — per member its cluster's kept
   document and size, and the reason it is removed (its text key equals the kept one's beats
   its URL, beats near); dense size and reason arrays of the bucket, and the ids its removed
   documents duplicate.

A label's members send one row per bucket they are in, not one per member, so a cluster of a
million copies costs the ``clusters`` phase a row per bucket it spans; labels are hashed to
partitions (not ranged) because the smallest members of many clusters can crowd one range.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from corpusforge.dedup.components import component_labels
from corpusforge.dedup.layout import Layout
from corpusforge.dedup.starcc import partition_of, star_labels
from corpusforge.io.arrays import load_array, load_rows, save_array, take_cols, take_rows
from corpusforge.io.tables import read_table, write_table

#: removal reasons by code (0: kept)
REASONS = {1: "duplicate_exact", 2: "duplicate_url", 3: "duplicate_near"}
#: the exact keys compared with the kept document's to name the reason, in the order they
#: are applied (the last that matches wins: exact text beats URL beats near)
REASON_KEYS = (("url", 2), ("text", 1))
NEAR = 3


@dataclass(frozen=True)
class Plan:
    """The buckets of a run (picklable, in every task)."""

    lay: Layout
    #: tasks of the ``components`` phase (each writes one file per bucket)
    sources: int = 1
    #: label partitions of the ``clusters`` phase
    parts: int = 1

    @property
    def size(self) -> int:
        """Documents per bucket."""
        return self.lay.cfg.docs_per_task

    @property
    def buckets(self) -> int:
        return math.ceil(self.lay.n_total / self.size)

    @property
    def run_buckets(self) -> int:
        """Buckets holding documents of this run (the index's need no decision)."""
        return math.ceil(self.lay.n_docs / self.size)

    def file(self, name: str, *nums: int, ext: str = "npy") -> str:
        return self.lay.path("-".join([f"keep-{name}", *(f"{n:05d}" for n in nums)]) + f".{ext}")

    def kinds(self) -> list[tuple[str, int, int]]:
        """(kind, key row, reason code) of the exact keys this run has."""
        return [(k, self.lay.kinds.index(k), code) for k, code in REASON_KEYS if k in self.lay.kinds]


@dataclass(frozen=True)
class LabelTask:
    plan: Plan
    task: int
    #: ``edges``: the group phase's edge files (components here); ``stars``: one partition
    #: of the rounds' converged stars
    kind: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class BucketTask:
    plan: Plan
    #: a bucket (``members``, ``decide``) or a label partition (``clusters``)
    part: int


def _concat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype)


def _groups(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start of each run of equal values, and each row's run number."""
    new = np.ones(len(sorted_values), bool)
    new[1:] = sorted_values[1:] != sorted_values[:-1]
    return np.flatnonzero(new), np.cumsum(new) - 1


def _best_first(label: np.ndarray, prio: np.ndarray, node: np.ndarray) -> np.ndarray:
    """Rows by label, then the keep policy's order: highest priority, then lowest index."""
    return np.lexsort((node, -prio, label))


def _priorities(lay: Layout, nodes: np.ndarray) -> np.ndarray:
    # documents of the index always win: they were kept before
    out = np.full(len(nodes), np.inf)
    run = nodes < lay.n_docs
    out[run] = lay.per_source(nodes[run], lambda s, local: take_rows(lay.path(f"prio-{s:05d}.npy"), local),
                           np.empty(int(run.sum())))
    return out


def _keys(plan: Plan, nodes: np.ndarray) -> dict[str, np.ndarray]:
    """The exact keys (``text``, ``url``) of ``nodes`` and their validity (``text_ok`` ...)."""
    sources = plan.lay.row_sources()
    out: dict[str, np.ndarray] = {}
    for kind, row, _ in plan.kinds():
        for col, file_no, dtype in ((kind, 0, np.uint64), (f"{kind}_ok", 1, bool)):
            def fetch(s: int, local: np.ndarray, row: int = row, file_no: int = file_no) -> np.ndarray:
                return take_cols(sources[s][file_no], row, local)
            out[col] = plan.lay.per_source(nodes, fetch, np.empty(len(nodes), dtype))
    return out


def _ids(lay: Layout, nodes: np.ndarray) -> pa.Array:
    order = np.argsort(nodes)
    ids = lay.ids_of(nodes[order])
    return ids.take(pa.array(np.argsort(order)))


def labels_task(task: LabelTask) -> dict:
    plan = task.plan
    if task.kind == "edges":
        loaded = [load_array(p) for p in task.inputs]
        src = _concat([e[0] for e in loaded], np.int64)
        dst = _concat([e[1] for e in loaded], np.int64)
        del loaded
        nodes, labels = component_labels(src, dst)
    else:
        nodes, labels = star_labels(list(task.inputs))
    # nodes are sorted: a bucket is a slice
    bounds = np.searchsorted(nodes, np.arange(plan.buckets + 1, dtype=np.int64) * plan.size)
    for j in range(plan.buckets):
        lo, hi = bounds[j], bounds[j + 1]
        save_array(plan.file("labels", task.task, j), np.stack([nodes[lo:hi], labels[lo:hi]]))
    return {"nodes": int(len(nodes))}


def members_task(task: BucketTask) -> dict:
    plan, j = task.plan, task.part
    lay = plan.lay
    pairs = [load_array(plan.file("labels", t, j)) for t in range(plan.sources)]
    node, label = _concat([p[0] for p in pairs], np.int64), _concat([p[1] for p in pairs], np.int64)
    del pairs
    by_node = np.argsort(node, kind="stable")  # a node is in one task's files only
    node, label = node[by_node], label[by_node]
    if j < plan.run_buckets:
        run = node < lay.n_docs
        save_array(plan.file("members", j), np.stack([node[run], label[run]]))
    prio = _priorities(lay, node)
    order = _best_first(label, prio, node)
    starts, _ = _groups(label[order])
    best = order[starts]
    count = np.diff(np.append(starts, len(order)))
    table = pa.table({"label": label[best], "node": node[best], "prio": prio[best], "count": count,
                      **_keys(plan, node[best]), "id": _ids(lay, node[best])})
    dest = partition_of(label[best], plan.parts)
    for q in range(plan.parts):
        write_table(plan.file("best", j, q, ext="parquet"), table.filter(pa.array(dest == q)))
    return {"members": int(len(node)), "labels": int(len(best))}


def clusters_task(task: BucketTask) -> dict:
    plan, q = task.plan, task.part
    parts = [read_table(plan.file("best", j, q, ext="parquet")) for j in range(plan.buckets)]
    table = pa.concat_tables(parts)
    bucket = np.repeat(np.arange(len(parts)), [t.num_rows for t in parts])
    label, node = table.column("label").to_numpy(), table.column("node").to_numpy()
    order = _best_first(label, table.column("prio").to_numpy(), node)
    starts, run = _groups(label[order])
    # every row (one bucket's best of a label) gets its label's winner and total count
    winner, size = np.empty(len(order), np.int64), np.empty(len(order), np.int64)
    if len(order):
        winner[order] = order[starts][run]
        size[order] = np.add.reduceat(table.column("count").to_numpy()[order], starts)[run]
    rep = table.take(pa.array(winner))
    cols = [c for kind, _, _ in plan.kinds() for c in (kind, f"{kind}_ok")]
    out = pa.table({"label": table.column("label"), "rep": rep.column("node"),
                    "size": pa.array(size.astype(np.int32)), **{c: rep.column(c) for c in cols},
                    "id": rep.column("id")})
    for j in range(plan.run_buckets):
        write_table(plan.file("reps", q, j, ext="parquet"), out.filter(pa.array(bucket == j)))
    return {"clusters": int(len(starts))}


def decide_task(task: BucketTask) -> dict:
    plan, j = task.plan, task.part
    lo, hi = j * plan.size, min((j + 1) * plan.size, plan.lay.n_docs)
    node, label = load_array(plan.file("members", j))
    reps = pa.concat_tables([read_table(plan.file("reps", q, j, ext="parquet")) for q in range(plan.parts)])
    # one row per label of this bucket's members
    reps = reps.take(pa.array(np.argsort(reps.column("label").to_numpy())))
    at = np.searchsorted(reps.column("label").to_numpy(), label)
    rep = reps.column("rep").to_numpy()[at]
    removed = rep != node
    reason = np.where(removed, NEAR, 0).astype(np.int8)
    own = _keys(plan, node)
    for kind, _, code in plan.kinds():
        theirs = reps.column(kind).to_numpy()[at]
        ok = own[f"{kind}_ok"] & reps.column(f"{kind}_ok").to_numpy(zero_copy_only=False)[at]
        reason[removed & ok & (own[kind] == theirs)] = code
    sizes, reasons = np.ones(hi - lo, np.int32), np.zeros(hi - lo, np.int8)
    sizes[node - lo] = reps.column("size").to_numpy()[at]
    reasons[node - lo] = reason
    save_array(plan.file("size", j), sizes)
    save_array(plan.file("reason", j), reasons)
    gone = np.flatnonzero(removed)
    dup = pa.table({"node": pa.array(node[gone]), "id": reps.column("id").take(pa.array(at[gone]))})
    # one file per shard of the bucket: a shard's write task reads its own removed rows only
    offsets = plan.lay.offsets
    bounds = np.searchsorted(node[gone], offsets)
    for s in _shards_in(offsets, lo, hi):
        write_table(plan.file("dupof", j, s, ext="parquet"), dup.slice(bounds[s], bounds[s + 1] - bounds[s]))
    return {"removed": int(len(gone))}


def _shards_in(offsets: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The shards (``offsets``: their first global indexes, then the end) with documents in
    ``lo .. hi``."""
    return np.flatnonzero((offsets[:-1] < hi) & (offsets[1:] > lo))


def decisions(lay: Layout, first: int, n: int) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """``(size, reason, dup_of)`` of documents ``first .. first + n`` of this run: cluster
    sizes, removal codes (0: kept, else a key of :data:`REASONS`) and, per removed one in
    order, the id of the document its cluster keeps."""
    plan = Plan(lay)
    sizes, reasons, ids = [], [], []
    for j in range(first // plan.size, math.ceil((first + n) / plan.size)):
        lo = j * plan.size
        a, b = max(first, lo), min(first + n, lo + plan.size)
        sizes.append(load_rows(plan.file("size", j), a - lo, b - lo))
        reasons.append(load_rows(plan.file("reason", j), a - lo, b - lo))
        for s in _shards_in(lay.offsets, a, b):
            dup = read_table(plan.file("dupof", j, int(s), ext="parquet"))
            at = dup.column("node").to_numpy()
            ids.append(dup.column("id").filter(pa.array((at >= a) & (at < b))))
    size, reason = _concat(sizes, np.int32), _concat(reasons, np.int8)
    dup_of = pa.chunked_array(ids, pa.string()).combine_chunks()
    return size, reason, dup_of


MapTasks = Callable[[str, Callable, list], list]


def run_phases(map_tasks: MapTasks, lay: Layout, edge_files: list[str], stars: list[list[str]] | None) -> None:
    """The four phases, from the group phase's edges (``stars`` None) or the rounds' stars."""
    if stars is None:
        items = [LabelTask(Plan(lay), 0, "edges", tuple(edge_files))]
    else:
        items = [LabelTask(Plan(lay, len(stars)), q, "stars", tuple(files)) for q, files in enumerate(stars)]
    if items[0].plan.run_buckets == 0:
        return  # no document of this run to decide on
    nodes = sum(r["nodes"] for r in map_tasks("components", labels_task, items))
    # about docs_per_task rows of the members' bests per label partition
    plan = Plan(lay, len(items), max(1, math.ceil(nodes / lay.cfg.docs_per_task)))
    map_tasks("members", members_task, [BucketTask(plan, j) for j in range(plan.buckets)])
    map_tasks("clusters", clusters_task, [BucketTask(plan, q) for q in range(plan.parts)])
    map_tasks("decide", decide_task, [BucketTask(plan, j) for j in range(plan.run_buckets)])
