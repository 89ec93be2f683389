"""The Japanese Common Crawl recipe end to end: pages/s per core and each step's share of time.

    taskset -c 0 python benchmarks/cc_ja.py [--copies 10]

Input: every shared WARC file (``../shared/data/warc``, the recipe's offline input), copied
``--copies`` times into a temporary folder (copies: the input listing takes regular files only).
Each variant is ``pipelines/commoncrawl-ja-local.yaml`` with its input and output paths pointed
there, run as a user runs it, ``corpusforge run <yaml> --workers 1``, in a subprocess that
inherits this process's CPU pinning: WARC -> ``extract_html`` -> ``normalize`` -> ``langid`` ->
Japanese chain -> ``tokenize`` -> ``dedup``. Variants: the recipe as shipped (the default
extractor), the recipe with ``extractor: resiliparse``, and, because the recipe's Japanese chain
(``ja-swallow``: 400 letters) removes every Japanese page of these files (short product blurbs
of one shop), the same two with the LLM-jp chain alone (``ja-web``, its TLD rule off: the shop is
on ``.st``, not on its list), so that ``tokenize`` and ``dedup`` see documents.

Printed per variant: records read, HTML pages (what ``extract_html`` sees), pages/s of wall time
and per CPU-second (the run's process and its reaped workers; one worker, so pages/s of one
core; start-up included), and each step's share of the steps' time from the run's
``stats.json``, which times steps in wall seconds (the rest of the wall time is start-up:
imports, the fastText model, the extraction worker; planning, writing and the stage's own
bookkeeping). With ``--repeat`` the steps come from the fastest run by wall time and the CPU
figure is the least of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared" / "data").resolve()
RECIPE = ROOT / "pipelines" / "commoncrawl-ja-local.yaml"
#: (label, extractor, LLM-jp chain alone)
VARIANTS = [
    ("recipe, default extractor (trafilatura)", "trafilatura", False),
    ("recipe, extractor: resiliparse", "resiliparse", False),
    ("ja-web chain alone, default extractor", "trafilatura", True),
    ("ja-web chain alone, extractor: resiliparse", "resiliparse", True),
]


def pipeline(folder: Path, out: Path, extractor: str, llmjp_only: bool) -> str:
    """The recipe's YAML with its paths pointed at ``folder`` and ``out``."""
    text = RECIPE.read_text(encoding="utf-8")
    text = text.replace("path: ../shared/data/warc/*", f"path: {folder}/*")
    text = text.replace("../shared/data", str(SHARED)).replace("path: out/commoncrawl-ja-local", f"path: {out}")
    if extractor != "trafilatura":
        text = text.replace("  - step: extract_html ", f"  - step: extract_html\n    extractor: {extractor}\n   ", 1)
    if llmjp_only:
        text = re.sub(r"\n  - use: ja-swallow\n", "\n", text)
        text = text.replace("  - use: ja-web\n", "  - use: ja-web\n    overrides: {ja_quality: {allowed_tlds: null}}\n")
    assert str(folder) in text and str(out) in text
    return text


def children_cpu() -> float:
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return c.ru_utime + c.ru_stime


def run(folder: Path, work: Path, extractor: str, llmjp_only: bool) -> tuple[dict, float, float]:
    """(stats.json, wall seconds, CPU seconds) of one ``corpusforge run``."""
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    yaml = work / "pipeline.yaml"
    yaml.write_text(pipeline(folder, out, extractor, llmjp_only), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    c0, t0 = children_cpu(), time.perf_counter()
    # the shared ARC file and the clipped WARC are error records: their warnings are expected
    done = subprocess.run([sys.executable, "-m", "corpusforge.cli", "run", str(yaml), "--workers", "1", "--quiet"],
                          env=env, cwd=work, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, children_cpu() - c0
    if done.returncode:
        sys.exit(f"corpusforge run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads((out / "stats.json").read_text()), wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=1, help="runs per variant; the fastest is reported")
    args = ap.parse_args()
    files = sorted(p for p in (SHARED / "warc").iterdir() if p.is_file())
    with tempfile.TemporaryDirectory() as tmp:
        folder, work = Path(tmp) / "in", Path(tmp) / "work"
        folder.mkdir()
        work.mkdir()
        for k in range(args.copies):
            for f in files:
                shutil.copyfile(f, folder / f"{k:03d}-{f.name}")
        print(f"{len(files)} shared WARC files x {args.copies} copies; one worker; "
              f"CPUs allowed: {sorted(os.sched_getaffinity(0))}")
        for label, extractor, llmjp_only in VARIANTS:
            runs = [run(folder, work, extractor, llmjp_only) for _ in range(args.repeat)]
            # the least disturbed run by wall time gives the steps' times; CPU is the least of all
            stats, wall, _ = min(runs, key=lambda r: r[1])
            cpu = min(r[2] for r in runs)
            steps = stats["steps"]
            by = {s["name"]: s for s in steps}
            pages = by["extract_html"]["docs_in"]
            total = sum(s["seconds"] for s in steps)
            print(f"\n{label}: {by['read']['docs_in']} records, {pages} pages, {stats['docs_written']} written; "
                  f"wall {wall:.1f} s, CPU {cpu:.1f} s")
            print(f"  whole run: {pages / wall:.1f} pages/s (wall), {pages / cpu:.1f} pages per CPU-second; "
                  f"the steps: {total:.1f} s = {total / wall:.0%} of the wall time, {pages / total:.1f} pages/s")
            for s in steps:
                removed = ", ".join(f"{k} {v}" for k, v in sorted(s["removed"].items(), key=lambda kv: -kv[1])[:3])
                print(f"  {s['name']:24} {s['docs_in']:>6} -> {s['docs_out']:>6}  {s['seconds']:7.2f} s "
                      f"{s['seconds'] / total:6.1%}  {removed}")


if __name__ == "__main__":
    main()
