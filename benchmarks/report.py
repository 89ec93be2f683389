"""Report generation from a large run's stats: the report reads what the run left (stats,
status, a few error records), never its documents, so its time does not grow with the data.

Builds the stats of a synthetic 1M-document run the way a run does — 1,000 work units of
1,000 documents, each through 10 filters of 4 signals, histograms counted per unit
(``StepStats.add_signals``) and samples of removed documents taken per unit
(``samples.take``), then merged — writes them to a folder as ``stats.json`` and times
``corpusforge report`` on it (best of N), with the size of stats.json and of the page.

    python benchmarks/report.py [--docs 1000000] [--units 1000] [--repeat 3]

``--overhead``: what counting costs during a run, per batch of 4,096 real Japanese web pages
(ABEJA CC, ../shared/data): the length filter's ``apply`` against the histograms of its signals
and the samples of its removed documents, when it removes a third and all of the batch.

    python benchmarks/report.py --overhead
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
import pyarrow as pa

from corpusforge import samples
from corpusforge.accounting import RunStats, StepStats
from corpusforge.report import write_report
from corpusforge.schema import ID, REJECT_PREFIX, REMOVED_REASON, SOURCE, TEXT, URL

FILTERS, SIGNALS = 10, 4
TEXT_JA = "吾輩は猫である。名前はまだ無い。<script>window.__pwned=1</script>" * 20
TEXT_EN = "The quick brown fox jumps over the lazy dog. \x1b[31mred\x1b[0m " * 20


def unit_stats(unit: int, docs: int, rng: np.random.Generator) -> RunStats:
    """One unit's stats: every filter removes about 3% of what it sees, for one of two reasons."""
    names = ["read", *(f"filter{i}" for i in range(FILTERS))]
    stats = RunStats.empty(names)
    stats.units = 1
    n = docs
    read = stats.steps[0]
    read.docs_in = read.docs_out = n
    read.bytes_in = read.bytes_out = n * 3000
    for st in stats.steps[1:]:
        values = {f"{st.name}_s{j}": (rng.random(n) if j % 2 else rng.lognormal(7, 1.5, n))
                  for j in range(SIGNALS)}
        keep = rng.random(n) > 0.03
        st.add_signals(values, keep, {f"{st.name}_s0": {"min_s0": 100.0, "max_s0": 1e5}})
        gone = int((~keep).sum())
        st.docs_in, st.docs_out = n, n - gone
        st.bytes_in, st.bytes_out = n * 3000, (n - gone) * 3000
        ids = [f"u{unit}-{st.name}-{i}" for i in range(gone)]
        removed = pa.table({ID: ids, SOURCE: ["web"] * gone, URL: [f"https://example.jp/{i}" for i in ids],
                            TEXT: [TEXT_JA if i % 2 else TEXT_EN for i in range(gone)],
                            f"{REJECT_PREFIX}{st.name}_s0": values[f"{st.name}_s0"][~keep],
                            REMOVED_REASON: ["too_short" if i % 3 else "too_long" for i in range(gone)]})
        for reason, k in zip(*np.unique(removed.column(REMOVED_REASON).to_numpy(zero_copy_only=False),
                                        return_counts=True)):
            st.remove(str(reason), int(k))
        samples.merge(st.samples, samples.take(removed))
        st.seconds = 0.5
        n -= gone
    return stats


def overhead(repeat: int = 10) -> None:
    import gzip
    from pathlib import Path

    from corpusforge.filters.length import LengthFilter
    from corpusforge.schema import make_batch

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "ja" / "abeja_cc_ja_keyphrase" / "dataset.json.gz"
    texts = [r["text"] for g in json.loads(gzip.decompress(data.read_bytes())).values() for r in g]
    texts = (texts * (4096 // len(texts) + 1))[:4096]
    batch = make_batch([f"abeja:dataset.json:{i * 1000}" for i in range(len(texts))], texts, "web", "f",
                       list(range(len(texts))))

    def best(fn) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times) * 1000

    for min_chars in (300, 100_000):
        f = LengthFilter(min_chars=min_chars)
        r = f.apply(batch)
        st = StepStats("length")
        t_apply = best(lambda f=f: f.apply(batch))
        t_hist = best(lambda r=r, st=st: [st.add_signals(s.values, s.keep, s.thresholds) for s in r.signals])
        t_samples = best(lambda r=r, st=st: samples.merge(st.samples, samples.take(r.removed)))
        print(f"removed {r.removed.num_rows} of 4096: length apply {t_apply:.2f} ms, "
              f"histograms {t_hist:.2f} ms, samples {t_samples:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--overhead", action="store_true")
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.overhead:
        overhead()
        return
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    per_unit = args.docs // args.units
    total = unit_stats(0, per_unit, rng)
    for u in range(1, args.units):
        total.merge(unit_stats(u, per_unit, rng))
    total.check()
    built = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "stats.json"), "w") as f:
            json.dump(total.to_dict(), f, indent=2)
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            path = write_report(root)
            times.append(time.perf_counter() - t)
        print(f"{total.steps[0].docs_in:,} documents, {args.units} units, {FILTERS} filters x {SIGNALS} signals "
              f"(stats built and merged in {built:.1f} s)")
        print(f"stats.json {os.path.getsize(os.path.join(root, 'stats.json')) / 1e6:.2f} MB, "
              f"report.html {os.path.getsize(path) / 1e6:.2f} MB")
        print(f"report generation: best {min(times):.3f} s of {args.repeat}")


if __name__ == "__main__":
    main()
