"""Dedup's kept document per cluster, after the connected components: the one task of before
(arrays over every document of the corpus) against the bounded tasks of
``corpusforge/dedup/clusters.py`` (ranges of ``docs_per_task`` documents, label partitions),
on the same synthetic sign files and edges; both must give the same decisions.

The edges are ``benchmarks/components.py``'s (``--dup-frac`` of the documents near copies of
an earlier one, each pair in 14 band files with probability 5/14); half of the copies also
share the text key of the document they copy and 30% its URL key, so that all three reasons
occur; priorities are 0-3 (ties). The components come from the rounds (above
``--edges-per-task``) or, below, from one task. Each side runs in a fresh process, one task
at a time; a task's memory is the rise of the process's peak resident set while it ran
(``VmHWM``, reset before each task through ``/proc/self/clear_refs``), with freed memory
returned to the system at once (so that a task's rise is its own allocations).

The one-task version is not in the tree any more: export it first.

    git archive eb391e2 | tar -x -C /tmp/cf-before
    python benchmarks/keep.py --docs 10000000 --before /tmp/cf-before
    python benchmarks/keep.py --docs 100000000 --edges-per-task 8000000 --before /tmp/cf-before
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: freed memory goes back to the system at once (glibc's malloc and, through it, Arrow's), so
#: that a task's rise is its own allocations, not pages an earlier task left (both sides)
RETURN_FREED = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536",
                "ARROW_DEFAULT_MEMORY_POOL": "system"}
#: documents per shard of the synthetic run
PER_SHARD = 1_000_000
KINDS = ("text", "url")


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def warm_up(work: Path) -> None:
    """Import and initialise what the tasks use (Parquet, the filesystem layer), so that the
    first task measured does not pay for it."""
    import pyarrow as pa

    import corpusforge.dedup.stage  # noqa: F401
    from corpusforge.io.arrays import load_array, save_array
    from corpusforge.io.tables import read_table, write_table

    write_table(str(work / "warm.parquet"), pa.table({"id": ["文書"]}))
    read_table(str(work / "warm.parquet"))
    save_array(str(work / "warm.npy"), np.zeros(3))
    load_array(str(work / "warm.npy"))


def measured(fn, item):
    """``(fn(item), peak rise in bytes, peak resident set)``."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the high-water mark restarts from the current resident set
    start = _status("VmRSS:")
    out = fn(item)
    peak = _status("VmHWM:")
    return out, peak - start, peak


def make(work: Path, n: int, dup_frac: float) -> dict:
    """Sign files per shard (text and URL keys, validity, priorities, ids) and two edge files."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from components import make_edges

    from corpusforge.io.arrays import load_array, save_array
    from corpusforge.io.tables import write_table

    bands = work / "bands"
    bands.mkdir()
    make_edges(bands, n, dup_frac)
    loaded = [load_array(p) for p in sorted(bands.glob("*.npy"))]
    shutil.rmtree(bands)
    src, dst = np.concatenate([e[0] for e in loaded]), np.concatenate([e[1] for e in loaded])
    del loaded
    rng = np.random.default_rng(1)
    keys = np.stack([np.arange(n, dtype=np.uint64), np.arange(n, 2 * n, dtype=np.uint64)])
    for row, share in ((0, 0.5), (1, 0.3)):
        hit = rng.random(len(src)) < share
        keys[row, src[hit]] = keys[row, dst[hit]]
    half = len(src) // 2
    save_array(str(work / "edges-r000-p0000.npy"), np.stack([src[:half], dst[:half]]))
    save_array(str(work / "edges-r001-p0000.npy"), np.stack([src[half:], dst[half:]]))
    for i, lo in enumerate(range(0, n, PER_SHARD)):
        hi = min(n, lo + PER_SHARD)
        save_array(str(work / f"keys-{i:05d}.npy"), keys[:, lo:hi])
        save_array(str(work / f"valid-{i:05d}.npy"), rng.random((2, hi - lo)) < 0.95)
        save_array(str(work / f"prio-{i:05d}.npy"), rng.integers(0, 4, hi - lo).astype(np.float64))
        ids = pc.binary_join_element_wise("doc-", pc.cast(pa.array(np.arange(lo, hi)), pa.string()), "")
        write_table(str(work / f"ids-{i:05d}.parquet"), pa.table({"id": ids}))
    return {"edges": int(len(src))}


def layout(work: Path, n: int, docs_per_task: int | None):
    """The run's layout, in whichever version of the code is imported."""
    from corpusforge.dedup.config import DedupConfig

    try:
        from corpusforge.dedup.layout import Layout
    except ImportError:  # before
        from corpusforge.dedup.stage import Layout
    extra = {"docs_per_task": docs_per_task} if docs_per_task else {}
    cfg = DedupConfig.model_validate({"exact": {"on": list(KINDS)}, **extra})
    sizes = tuple(min(PER_SHARD, n - lo) for lo in range(0, n, PER_SHARD))
    return Layout(cfg, str(work), tuple(f"f{i}" for i in range(len(sizes))), sizes, (), KINDS, 0, 0)


def rounds(work: Path, edges: int, edges_per_task: int) -> dict:
    import math

    from corpusforge.dedup.starcc import run_rounds

    files = [str(work / f"edges-r{r:03d}-p0000.npy") for r in range(2)]
    t0 = time.perf_counter()
    stars = run_rounds(lambda phase, fn, items: [fn(x) for x in items], str(work / "cc"), files,
                       math.ceil(edges / edges_per_task))
    (work / "stars.json").write_text(json.dumps(stars))
    return {"seconds": time.perf_counter() - t0}


def _stars(work: Path) -> list[list[str]] | None:
    path = work / "stars.json"
    return json.loads(path.read_text()) if path.exists() else None


def before(work: Path, n: int) -> dict:
    from corpusforge.dedup.stage import ComponentsTask, _components_task

    warm_up(work)
    stars = _stars(work)
    task = ComponentsTask(layout(work, n, None), 1, tuple(f for part in stars for f in part) if stars else ())
    t0 = time.perf_counter()
    _, rise, peak = measured(_components_task, task)
    return {"seconds": time.perf_counter() - t0, "tasks": 1, "rise": rise, "peak": peak}


def after(work: Path, n: int, docs_per_task: int) -> dict:
    from corpusforge.dedup.clusters import run_phases

    warm_up(work)
    lay = layout(work, n, docs_per_task)
    phases: dict[str, dict] = {}

    def map_tasks(phase, fn, items):
        t0, out = time.perf_counter(), []
        got = phases.setdefault(phase, {"tasks": 0, "rise": 0, "peak": 0, "seconds": 0.0})
        for item in items:
            value, rise, peak = measured(fn, item)
            out.append(value)
            got["rise"], got["peak"] = max(got["rise"], rise), max(got["peak"], peak)
        got["tasks"] += len(items)
        got["seconds"] += time.perf_counter() - t0
        return out

    files = [str(work / f"edges-r{r:03d}-p0000.npy") for r in range(2)]
    t0 = time.perf_counter()
    run_phases(map_tasks, lay, files, _stars(work))
    return {"seconds": time.perf_counter() - t0, "phases": phases}


def compare(work: Path, n: int, docs_per_task: int) -> dict:
    """The decisions of both versions, shard by shard as the write tasks read them."""
    import pyarrow as pa

    from corpusforge.dedup.clusters import decisions
    from corpusforge.io.tables import read_table

    lay = layout(work, n, docs_per_task)
    rep, size, reason = (np.load(work / f"{k}.npy", mmap_mode="r") for k in ("rep", "size", "reason"))
    reps = read_table(str(work / "reps.parquet"))
    rep_idx = reps.column("rep").to_numpy()
    same, removed = True, 0
    for first, count in zip(lay.offsets[:-1], lay.sizes):
        first = int(first)
        got_size, got_reason, got_dup = decisions(lay, first, count)
        r = np.asarray(rep[first:first + count])
        gone = r != np.arange(first, first + count)
        want_dup = reps.column("id").take(pa.array(np.searchsorted(rep_idx, r[gone])))
        same &= (np.array_equal(got_size, size[first:first + count])
                 and np.array_equal(got_reason, reason[first:first + count])
                 and np.array_equal(got_reason > 0, gone) and got_dup.equals(want_dup.combine_chunks()))
        removed += int(gone.sum())
    codes = np.bincount(np.asarray(reason), minlength=4).tolist()
    return {"same": bool(same), "removed": removed, "reasons": codes}


def child(args) -> None:
    work = Path(args.work)
    if args.child == "make":
        out = make(work, args.docs, args.dup_frac)
    elif args.child == "rounds":
        out = rounds(work, args.edges, args.edges_per_task)
    elif args.child == "before":
        out = before(work, args.docs)
    elif args.child == "after":
        out = after(work, args.docs, args.docs_per_task)
    elif args.child == "baseline":
        import corpusforge.dedup.stage  # noqa: F401
        out = {}
    else:
        out = compare(work, args.docs, args.docs_per_task)
    out["rss"] = _status("VmHWM:")
    print(json.dumps(out))


def run_child(args, side: str, pythonpath: str) -> dict:
    cmd = [sys.executable, __file__, "--child", side, "--docs", str(args.docs), "--work", args.work,
           "--dup-frac", str(args.dup_frac), "--edges-per-task", str(args.edges_per_task),
           "--docs-per-task", str(args.docs_per_task), "--edges", str(args.edges)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([pythonpath, str(Path(__file__).parent)]), **RETURN_FREED)
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode:
        raise SystemExit(f"{side}: {res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=10_000_000)
    ap.add_argument("--dup-frac", type=float, default=0.1)
    ap.add_argument("--edges-per-task", type=int, default=8_000_000)
    ap.add_argument("--docs-per-task", type=int, default=4_000_000)
    ap.add_argument("--before", required=False, help="a copy of the code with the one-task version")
    ap.add_argument("--work", default="/tmp/corpusforge-keep-bench")
    ap.add_argument("--child")
    ap.add_argument("--edges", type=int, default=0)
    args = ap.parse_args()
    if args.child:
        return child(args)
    ours = str(Path(__file__).resolve().parents[1])
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    mb = 2**20
    base = run_child(args, "baseline", ours)["rss"]
    t0 = time.perf_counter()
    args.edges = run_child(args, "make", ours)["edges"]
    print(f"{args.docs:,} documents, {args.edges:,} edges ({args.edges / args.docs:.2f} per document), "
          f"made in {time.perf_counter() - t0:.0f} s; a process that only imports: {base / mb:,.0f} MB")
    if args.edges > args.edges_per_task:
        r = run_child(args, "rounds", ours)
        print(f"components in rounds of edges_per_task {args.edges_per_task:,}: {r['seconds']:.0f} s")
    new = run_child(args, "after", ours)
    print(f"bounded tasks, docs_per_task {args.docs_per_task:,}: {new['seconds']:.1f} s")
    for phase, p in new["phases"].items():
        print(f"  {phase:10s} {p['tasks']:4d} tasks  {p['seconds']:6.1f} s  largest task: +{p['rise'] / mb:6.0f} MB "
              f"(process peak {p['peak'] / mb:,.0f} MB)")
    if args.before:
        old = run_child(args, "before", args.before)
        print(f"one task (before): {old['seconds']:.1f} s  +{old['rise'] / mb:,.0f} MB "
              f"({old['rise'] / args.docs:.0f} B/document; process peak {old['peak'] / mb:,.0f} MB)")
        cmp = run_child(args, "compare", ours)
        print(f"same decisions: {cmp['same']} ({cmp['removed']:,} removed; kept/exact/url/near "
              f"{cmp['reasons']})")
        assert cmp["same"]
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
