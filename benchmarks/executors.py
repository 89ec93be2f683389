"""Executor scaling: the same pipeline with 1 and 2 workers, on the local executor and on Ray.

Prints wall time, docs/s, the 2-worker speed-up of each executor, and checks that all four
runs wrote byte-identical files.

    python benchmarks/executors.py [--docs 40000] [--units 8]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline

PIPELINE = """
inputs: [{{type: demo, docs: {docs}, units: {units}}}]
steps:
  - {{step: normalize, unicode: NFKC}}
  - {{step: length, min_chars: 50}}
output: {{path: {out}}}
"""


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_state" not in p.parts and p.name != "stats.json"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=40000)
    ap.add_argument("--units", type=int, default=8)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cf-exec-"))
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        results: dict[tuple[str, int], float] = {}
        outputs = {}
        for executor in ("local", "ray"):
            for workers in (1, 2):
                out = tmp / f"{executor}-{workers}"
                pipe = pipeline_from_yaml(PIPELINE.format(docs=args.docs, units=args.units, out=out))
                if executor == "local" and workers == 1:
                    run_pipeline(pipe, executor="local", workers=1, overwrite=True)  # warm caches
                t0 = time.perf_counter()
                stats = run_pipeline(pipe, executor=executor, workers=workers, overwrite=True)
                results[(executor, workers)] = time.perf_counter() - t0
                outputs[(executor, workers)] = files(out)
                print(f"{executor:5s} {workers} worker(s): {results[(executor, workers)]:6.2f} s  "
                      f"{stats.steps[0].docs_in / results[(executor, workers)]:9,.0f} docs/s")
        for executor in ("local", "ray"):
            print(f"{executor}: 2 workers / 1 worker speed-up {results[(executor, 1)] / results[(executor, 2)]:.2f}x")
        ref = outputs[("local", 1)]
        same = all(o == ref for o in outputs.values())
        print(f"identical output in all four runs: {same} ({len(ref)} files)")
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
