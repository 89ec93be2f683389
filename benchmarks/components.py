"""Dedup's connected components: one task (scipy over the graph of every edge, compacted to the
nodes the edges name) against rounds of
hash-partitioned large-star/small-star tasks (``corpusforge/dedup/starcc.py``) on 1 and 2
workers, on synthetic candidate edges.

The graph has the dedup stage's shape: ``--dup-frac`` of the documents are near copies of
a random earlier document (so copies of copies make chains and trees), and each such pair
is an edge in ``--bands`` group files with probability 5/14 each (the same pair found by
several LSH bands), about 0.5 edges per document at the defaults. Each run is a fresh
process; the distributed runs use the stage's executor (a spawned process pool for 2
workers, inline for 1). Per task, the peak of memory allocated while it ran is measured with
``tracemalloc`` (NumPy reports its arrays to it), and the peak RSS of the processes with
``getrusage``. Both versions must give the same clusters (checked on the labels).

    python benchmarks/components.py --docs 10000000
    python benchmarks/components.py --docs 100000000 --edges-per-task 8000000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

BANDS = 14


def make_edges(work: Path, n: int, dup_frac: float, seed: int = 0) -> int:
    """Write the group phase's edge files (``edges-rNNN-p0000.npy``); returns the edge count."""
    from corpusforge.io.arrays import save_array

    rng = np.random.default_rng(seed)
    dups = np.sort(rng.choice(np.arange(1, n), int(n * dup_frac), replace=False))
    orig = (rng.random(len(dups)) * dups).astype(np.int64)  # a random earlier document
    total = 0
    for r in range(BANDS):
        hit = rng.random(len(dups)) < 5 / BANDS
        save_array(str(work / f"edges-r{r:03d}-p0000.npy"), np.stack([dups[hit], orig[hit]]))
        total += int(hit.sum())
    return total


def _files(work: Path) -> list[str]:
    return sorted(str(p) for p in work.glob("edges-r*.npy"))


def traced(task):
    """A phase task with the peak of memory it allocated (bytes)."""
    from corpusforge.dedup.starcc import phase_task

    tracemalloc.start()
    out = phase_task(task)
    out["peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out


def _dense(n: int, nodes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A label per node of the graph (a node of no edge is its own), for the comparison."""
    out = np.arange(n, dtype=np.int64)
    out[nodes] = labels
    return out


def single(work: Path, n: int) -> dict:
    from corpusforge.dedup.components import component_labels
    from corpusforge.io.arrays import load_array

    t0 = time.perf_counter()
    tracemalloc.start()
    edges = [load_array(p) for p in _files(work)]
    src = np.concatenate([e[0] for e in edges])
    dst = np.concatenate([e[1] for e in edges])
    del edges
    nodes, labels = component_labels(src, dst)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    seconds = time.perf_counter() - t0
    np.save(work / "labels-single.npy", _dense(n, nodes, labels))
    return {"seconds": seconds, "task_peak_mb": peak / 2**20, "tasks": 1}


def rounds(work: Path, n: int, workers: int, edges_per_task: int, edges: int) -> dict:
    import math

    from corpusforge.dedup.starcc import run_rounds, star_labels
    from corpusforge.executors.local import LocalExecutor

    parts = math.ceil(edges / edges_per_task)
    peaks: list[int] = []
    phases: list[str] = []
    t0 = time.perf_counter()
    with LocalExecutor(workers) as ex:
        def map_tasks(phase, fn, items):
            phases.append(phase)
            res = ex.map(traced, items)
            peaks.extend(r["peak"] for r in res)
            return res

        stars = run_rounds(map_tasks, str(work / f"cc-{workers}"), _files(work), parts)
    seconds = time.perf_counter() - t0
    got = [star_labels(part) for part in stars]
    labels = _dense(n, np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got]))
    np.save(work / f"labels-{workers}.npy", labels)
    shutil.rmtree(work / f"cc-{workers}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "task_peak_mb": max(peaks) / 2**20, "tasks": len(peaks),
            "parts": parts, "rounds": (len(phases) - 1) // 2,
            "worker_rss_mb": children if workers > 1 else None}


def same_clusters(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labelings partition the nodes alike (labels may be numbered differently)."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    pairs = np.unique(ia.astype(np.int64) * (int(ib.max()) + 1) + ib)
    return len(pairs) == ia.max() + 1 == ib.max() + 1


def child(args) -> None:
    work = Path(args.work)
    if args.child == "make":
        out = {"edges": make_edges(work, args.docs, args.dup_frac)}
    elif args.child == "single":
        out = single(work, args.docs)
    elif args.child == "baseline":
        import corpusforge.dedup.stage  # noqa: F401
        out = {}
    else:
        out = rounds(work, args.docs, int(args.child), args.edges_per_task, args.edges)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run_child(args, side: str, **extra) -> dict:
    cmd = [sys.executable, __file__, "--child", side, "--docs", str(args.docs), "--work", args.work,
           "--dup-frac", str(args.dup_frac), "--edges-per-task", str(args.edges_per_task)]
    for k, v in extra.items():
        cmd += [f"--{k}", str(v)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=10_000_000)
    ap.add_argument("--dup-frac", type=float, default=0.1)
    ap.add_argument("--edges-per-task", type=int, default=1_000_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--work", default="/tmp/corpusforge-components-bench")
    ap.add_argument("--child")
    ap.add_argument("--edges", type=int, default=0)
    args = ap.parse_args()
    if args.child:
        return child(args)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    edges = run_child(args, "make")["edges"]
    base = run_child(args, "baseline")["rss_mb"]
    print(f"{args.docs:,} documents, {edges:,} edges ({edges / args.docs:.2f} per document); "
          f"a process that only imports: {base:,.0f} MB RSS")
    # every run before this process loads labels: a child starts with its parent's RSS as
    # its own peak (the maximum RSS survives exec)
    one = run_child(args, "single")
    dist = {int(w): run_child(args, w, edges=edges) for w in args.workers.split(",")}
    print(f"one task (scipy):  {one['seconds']:7.1f} s  task peak {one['task_peak_mb']:7.0f} MB "
          f"({one['task_peak_mb'] * 2**20 / edges:.0f} B/edge)  process RSS {one['rss_mb']:,.0f} MB")
    ref = np.load(work / "labels-single.npy")
    for w, r in dist.items():
        ok = same_clusters(ref, np.load(work / f"labels-{w}.npy"))
        rss = f"  worker RSS {r['worker_rss_mb']:,.0f} MB" if r["worker_rss_mb"] else ""
        print(f"rounds, {w} worker{'s' if w > 1 else ' '}: {r['seconds']:7.1f} s  task peak "
              f"{r['task_peak_mb']:7.0f} MB ({r['task_peak_mb'] * 2**20 / args.edges_per_task:.0f} B/edge "
              f"of edges_per_task)  {r['parts']} partitions, {r['rounds']} rounds, {r['tasks']} tasks, "
              f"driver RSS {r['rss_mb']:,.0f} MB{rss}  same clusters: {ok}")
        assert ok
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
