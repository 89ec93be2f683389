"""The map stage end to end against datatrove: JSONL -> Gopher repetition -> Gopher quality ->
C4 -> FineWeb -> Parquet, same input, one worker each.

corpusforge: ``run_pipeline`` of a pipeline with the four filter steps (defaults), Parquet
output without rejects. datatrove: ``LocalPipelineExecutor(tasks=1, workers=1)`` over
``JsonlReader``, ``GopherRepetitionFilter``, ``GopherQualityFilter``, ``C4QualityFilter``,
``FineWebQualityFilter`` (defaults) and ``ParquetWriter``. The input is English Common Crawl
documents (dolma's samples) and Botchan in chunks (``filters.english_docs``), repeated to each
size. Each run is a fresh process, imports done before the clock starts; its peak RSS is that
process's (datatrove runs its one task in the process). A one-document run shows each side's
fixed start-up. The sides alternate, ``--repeat`` rounds, best time each; the CPU ratio
(process CPU time, all threads) is the steadier one on a shared machine. "process" is each
side's whole process (interpreter, imports, run) in seconds, corpusforge / datatrove, and
its ratio: the clock above leaves out the imports done before it, not those a run triggers
(datatrove's spaCy, pyarrow's pandas). ``--only-ours``
runs corpusforge alone, to profile it.

    python benchmarks/e2e.py --mb 10,40 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def make_input(path: Path, megabytes: float) -> int:
    from filters import english_docs

    docs = english_docs()
    target, size, n = megabytes * 1e6, 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while size < target or n == 0:  # 0 MB: one document
            text = docs[n % len(docs)]
            line = json.dumps({"id": f"d{n}", "text": text}, ensure_ascii=False) + "\n"
            f.write(line)
            size += len(line.encode())
            n += 1
    return n


def ours(src: Path, out: Path) -> tuple[float, float, int]:
    from corpusforge.config import pipeline_from_yaml
    from corpusforge.engine import run_pipeline

    pipe = pipeline_from_yaml(f"""
inputs: [{{type: jsonl, path: {src}}}]
steps: [{{step: gopher_repetition}}, {{step: gopher_quality}}, {{step: c4}}, {{step: fineweb}}]
output: {{path: {out}, format: parquet, rejects: false}}
""")
    t0, c0 = time.perf_counter(), time.process_time()
    stats = run_pipeline(pipe, workers=1)
    return time.perf_counter() - t0, time.process_time() - c0, stats.steps[-1].docs_out


def peer(src: Path, out: Path) -> tuple[float, float, int]:
    import pyarrow.parquet as pq
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    ex = LocalPipelineExecutor(pipeline=[
        JsonlReader(str(src.parent), glob_pattern=src.name),
        GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter(),
        ParquetWriter(str(out / "data")),
    ], tasks=1, workers=1, logging_dir=str(out / "logs"))
    t0, c0 = time.perf_counter(), time.process_time()
    ex.run()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return seconds, cpu, sum(pq.read_metadata(p).num_rows for p in (out / "data").glob("*.parquet"))


def child(side: str, src: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seconds, cpu, kept = (ours if side == "corpusforge" else peer)(src, Path(tmp) / "out")
    print(json.dumps({"seconds": seconds, "cpu": cpu, "kept": kept,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(side: str, src: Path) -> dict:
    """One run in a fresh process: its own figures, and the whole process's wall time
    (interpreter start and every import included)."""
    cmd = [sys.executable, __file__, "--child", side, "--src", str(src)]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return {**json.loads(res.stdout.strip().splitlines()[-1]), "process": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", default="10,40")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child")
    ap.add_argument("--src", type=Path)
    ap.add_argument("--only-ours", action="store_true",
                    help="run corpusforge alone (to profile its time and memory)")
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.src)
    tmp = Path(tempfile.mkdtemp(prefix="cf-e2e-"))
    try:
        sizes = [("1 doc", 0.0)] + [(f"{m} MB", float(m)) for m in args.mb.split(",")]
        print(f"{'input':>10} {'docs':>7} {'corpusforge':>12} {'datatrove':>10} {'ratio':>7} "
              f"{'CPU ratio':>9} {'process':>16} {'RSS cf':>8} {'RSS dt':>8} {'RSS cf/dt':>9}  kept cf / dt")
        for label, mb in sizes:
            src = tmp / f"in-{label.replace(' ', '')}" / "in.jsonl"
            src.parent.mkdir()
            n = make_input(src, mb)
            best: dict[str, dict] = {}
            for _ in range(args.repeat):
                for side in ("corpusforge",) if args.only_ours else ("datatrove", "corpusforge"):
                    r = run(side, src)
                    prev = best.get(side, r)
                    # best time and best CPU time of the rounds, the largest peak RSS
                    best[side] = {**(r if r["seconds"] <= prev["seconds"] else prev),
                                  "cpu": min(r["cpu"], prev["cpu"]),
                                  "process": min(r["process"], prev["process"]),
                                  "rss_mb": max(r["rss_mb"], prev["rss_mb"])}
            cf, dt = best["corpusforge"], best.get("datatrove")
            if dt is None:
                print(f"{label:>10} {n:>7,} {cf['seconds']:>10.2f} s (CPU {cf['cpu']:.2f} s) "
                      f"{cf['rss_mb']:>6.0f} MB kept {cf['kept']:,}")
                continue
            print(f"{label:>10} {n:>7,} {cf['seconds']:>10.2f} s {dt['seconds']:>8.2f} s "
                  f"{dt['seconds'] / cf['seconds']:>6.1f}x {dt['cpu'] / cf['cpu']:>8.1f}x "
                  f"{cf['process']:>5.1f}/{dt['process']:>5.1f} {dt['process'] / cf['process']:>4.1f}x "
                  f"{cf['rss_mb']:>6.0f} MB {dt['rss_mb']:>5.0f} MB "
                  f"{cf['rss_mb'] / dt['rss_mb']:>8.2f}x  {cf['kept']:,} / {dt['kept']:,}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
