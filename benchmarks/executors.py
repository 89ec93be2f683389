"""Executor scaling: the same pipeline with 1 and 2 workers, on the local executor and on Ray;
then on a Ray cluster of one node with 2 CPUs and of two nodes with 1 CPU each (same total).

Prints wall time, docs/s, the 2-worker speed-up of each executor, the 2-node / 1-node ratio,
and checks that all six runs wrote byte-identical files. The clusters run on this machine
(``ray.cluster_utils``, every node on 127.0.0.1): the row measures what a second raylet and
object store cost, not a network.

    python benchmarks/executors.py [--docs 40000] [--units 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

# Ray nodes of this benchmark listen on the loopback address only (read when Ray is imported)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from corpusforge.config import pipeline_from_yaml  # noqa: E402
from corpusforge.engine import run_pipeline  # noqa: E402

PIPELINE = """
inputs: [{{type: demo, docs: {docs}, units: {units}}}]
steps:
  - {{step: normalize, unicode: NFKC}}
  - {{step: length, min_chars: 50}}
output: {{path: {out}}}
"""
#: (CPUs of the head, CPUs of each other node): 2 CPUs in all
CLUSTERS = {"1 node x 2 CPUs": (2, ()), "2 nodes x 1 CPU": (1, (1,))}


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_state" not in p.parts and p.name != "stats.json"}


def timed(args: argparse.Namespace, out: Path, **run) -> tuple[float, int]:
    pipe = pipeline_from_yaml(PIPELINE.format(docs=args.docs, units=args.units, out=out))
    t0 = time.perf_counter()
    stats = run_pipeline(pipe, overwrite=True, **run)
    return time.perf_counter() - t0, stats.steps[0].docs_in


def on_clusters(args: argparse.Namespace, tmp: Path, outputs: dict) -> dict[str, float]:
    """The pipeline with 2 workers on each cluster of CLUSTERS, ``--repeat`` times, the clusters
    taking turns (a busy machine slows both alike); the median of each."""
    import ray
    from ray.cluster_utils import Cluster

    node = {"object_store_memory": 200 * 2**20, "node_ip_address": "127.0.0.1"}
    # a cluster writes its address where any `ray.init()` on this machine would find and join
    # it: keep that file, and the clusters' sessions, in a folder of this benchmark's own
    os.environ["RAY_TMPDIR"] = str(tmp / "ray")
    (tmp / "ray").mkdir()
    clusters = {}
    for name, (head, others) in CLUSTERS.items():
        clusters[name] = Cluster(initialize_head=True, head_node_args={**node, "num_cpus": head,
                                                                        "include_dashboard": False})
        for cpus in others:
            clusters[name].add_node(**node, num_cpus=cpus)
        clusters[name].wait_for_nodes()
    times: dict[str, list[float]] = {name: [] for name in CLUSTERS}
    try:
        for _ in range(args.repeat):
            for name, cluster in clusters.items():
                # one connection for the warm-up and the timed run, as for the local instance
                # above: the timed run finds its workers started and set up (a run that
                # connects itself starts a new Ray job, whose workers start cold)
                ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
                try:
                    out = tmp / name.replace(" ", "")
                    timed(args, out, executor="ray", workers=2)
                    seconds, docs = timed(args, out, executor="ray", workers=2)
                finally:
                    ray.shutdown()
                times[name].append(seconds)
                outputs[name] = files(out)
    finally:
        for cluster in clusters.values():
            cluster.shutdown()
        del os.environ["RAY_TMPDIR"]
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"ray cluster, {name}: {medians[name]:6.2f} s  {docs / medians[name]:9,.0f} docs/s  "
              f"(median of {', '.join(f'{x:.2f}' for x in t)})")
    return medians


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=40000)
    ap.add_argument("--units", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per cluster")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cf-exec-"))
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             _node_ip_address="127.0.0.1")
    try:
        results: dict[tuple[str, int], float] = {}
        outputs = {}
        for executor in ("local", "ray"):
            for workers in (1, 2):
                out = tmp / f"{executor}-{workers}"
                if executor == "local" and workers == 1:
                    timed(args, out, executor="local", workers=1)  # warm caches
                results[(executor, workers)], docs = timed(args, out, executor=executor, workers=workers)
                outputs[(executor, workers)] = files(out)
                print(f"{executor:5s} {workers} worker(s): {results[(executor, workers)]:6.2f} s  "
                      f"{docs / results[(executor, workers)]:9,.0f} docs/s")
        for executor in ("local", "ray"):
            print(f"{executor}: 2 workers / 1 worker speed-up {results[(executor, 1)] / results[(executor, 2)]:.2f}x")
    finally:
        ray.shutdown()
    try:
        seconds = on_clusters(args, tmp, outputs)
        one, two = CLUSTERS
        print(f"ray cluster: {two} / {one} time {seconds[two] / seconds[one]:.2f}x")
        ref = outputs[("local", 1)]
        same = all(o == ref for o in outputs.values())
        print(f"identical output in all {len(outputs)} runs: {same} ({len(ref)} files)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
