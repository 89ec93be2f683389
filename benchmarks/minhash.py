"""MinHash signatures per second on one core, 128 hashes, the same shingles for everyone.

corpusforge signs whole Arrow batches of (normalised) text — shingling and hashing
included — while the peers get the shingles ready-made as Python lists (their
shingling is not timed): datasketch ``MinHash.update_batch`` and rensa ``RMinHash``.
Japanese documents use character 5-grams, English word 5-grams; the corpus is real
text from ../shared/data (吾輩は猫である and Japanese Common Crawl pages; Botchan and
English Common Crawl pages) cut into documents.

    taskset -c 1 python benchmarks/minhash.py [--repeat 10] [--docs 2000]

Prints shingles, seconds (best of --repeat), signatures/s and the ratios.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

# one core for everyone: numpy/Arrow thread pools off before they start
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pyarrow as pa  # noqa: E402

from corpusforge.dedup.minhash import MinHasher, ShingleSpec  # noqa: E402
from corpusforge.dedup.normalize import normalize_for_hash  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def japanese_docs(n: int) -> list[str]:
    with gzip.open(DATA / "ja" / "aozora_neko" / "wagahaiwa_nekodearu.txt.gz", "rt", encoding="utf-8") as f:
        neko = f.read().replace("\n", "")
    with gzip.open(DATA / "ja" / "abeja_cc_ja_keyphrase" / "dataset.json.gz", "rt", encoding="utf-8") as f:
        cc = [d["text"] for group in json.load(f).values() for d in group]
    docs = list(cc)
    step = 1500
    while len(docs) < n:
        for i in range(0, len(neko) - 3000, step):
            docs.append(neko[i:i + 1000 + (i // step) % 2000])  # 1,000-3,000 characters
            if len(docs) >= n:
                break
    return docs[:n]


def english_docs(n: int) -> list[str]:
    with gzip.open(DATA / "en" / "botchan.txt.gz", "rt", encoding="utf-8") as f:
        words = f.read().split()
    cc = []
    for p in sorted((DATA / "en" / "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            cc += [json.loads(line)["text"] for line in f if line.strip()]
    docs = list(cc)
    while len(docs) < n:
        for i in range(0, len(words) - 700, 250):
            docs.append(" ".join(words[i:i + 200 + (i // 250) % 500]))  # 200-700 words
            if len(docs) >= n:
                break
    return docs[:n]


def shingles(norm: list[str], spec: ShingleSpec) -> list[list[str]]:
    """The peers' input: the same n-grams corpusforge hashes (documents shorter than n: one)."""
    out = []
    for t in norm:
        units = list(t) if spec.mode == "char" else t.split()
        sep = "" if spec.mode == "char" else " "
        if len(units) < spec.n:
            out.append([sep.join(units)] if units else [])
        else:
            out.append([sep.join(units[i:i + spec.n]) for i in range(len(units) - spec.n + 1)])
    return out


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000, help="documents per language")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--num-perm", type=int, default=128)
    args = ap.parse_args()
    from datasketch import MinHash
    from rensa import RMinHash

    k = args.num_perm
    hasher = MinHasher(k)
    print(f"one core, {k} hashes, best of {args.repeat}")
    print(f"{'corpus':<14}{'docs':>6}{'shingles':>11}{'MB':>7}  {'who':<34}{'seconds':>9}{'sigs/s':>10}{'ratio':>8}")
    for lang, docs, spec in (("ja char5", japanese_docs(args.docs), ShingleSpec("char", 5)),
                             ("en word5", english_docs(args.docs), ShingleSpec("word", 5))):
        raw = pa.array(docs)
        norm = normalize_for_hash(raw, spec.mode)
        sh = shingles(norm.to_pylist(), spec)
        sh_bytes = [[s.encode("utf-8") for s in d] for d in sh]
        n_sh = sum(len(d) for d in sh)
        mb = raw.nbytes / 1e6
        hasher.signatures(norm.slice(0, 2), spec, normalized=True)  # compile outside the timing
        _, counts = hasher.signatures_and_counts(norm, spec, normalized=True)
        assert int(counts.sum()) == n_sh, (int(counts.sum()), n_sh)  # the same shingles

        def datasketch(sh_bytes=sh_bytes) -> None:
            for d in sh_bytes:
                m = MinHash(num_perm=k)
                m.update_batch(d)
                m.digest()

        def rensa(sh=sh) -> None:
            for d in sh:
                m = RMinHash(num_perm=k, seed=42)
                m.update(d)
                m.digest()

        def ours(norm=norm, spec=spec) -> None:
            hasher.signatures(norm, spec, normalized=True)

        def ours_norm(raw=raw, spec=spec) -> None:
            hasher.signatures(raw, spec)

        # interleaved, best of --repeat: a shared machine's load hits every side alike
        t_ours = t_norm = t_rensa = float("inf")
        for _ in range(args.repeat):
            t_ours = min(t_ours, best(ours, 1))
            t_rensa = min(t_rensa, best(rensa, 1))
            t_norm = min(t_norm, best(ours_norm, 1))
        t_ds = best(datasketch, max(1, args.repeat // 4))
        rows = [("corpusforge (normalised text)", t_ours), ("corpusforge incl. normalisation", t_norm),
                ("datasketch MinHash.update_batch", t_ds), ("rensa RMinHash", t_rensa)]
        for who, t in rows:
            print(f"{lang:<14}{len(docs):>6}{n_sh:>11,}{mb:>7.1f}  {who:<34}{t:>9.4f}{len(docs) / t:>10,.0f}"
                  f"{t / t_ours:>7.1f}x")
        print(f"{'':<38}corpusforge vs datasketch: {t_ds / t_ours:.1f}x, vs rensa: {t_rensa / t_ours:.2f}x "
              f"(incl. normalisation: {t_ds / t_norm:.1f}x, {t_rensa / t_norm:.2f}x)")


if __name__ == "__main__":
    main()
