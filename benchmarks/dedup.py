"""Dedup clustering speed and memory, and near-duplicate quality, against the peers.

Clustering (``--docs``, default 1M): the same MinHash signatures (uint32, 14 bands x 8
rows, as FineWeb) go to

* corpusforge: the dedup stage's ``group`` tasks (one per band: sort the band keys,
  runs of equal keys become edges) and its ``components``, ``members``, ``clusters`` and
  ``decide`` tasks (scipy connected components, keep policy, cluster sizes), run here one
  after another on one core;
* datatrove: ``MinhashDedupBuckets`` (stage 2, once per bucket) and
  ``MinhashDedupCluster`` (stage 3) over its own signature files, written in its
  stage-1 format from the same signatures (not timed).

Each side runs in a fresh subprocess: wall time and the peak RSS of that process.
The clusters are compared (datatrove keeps an arbitrary member of each, so the
partitions are compared, not the kept documents). ``--only-ours`` skips datatrove (for 10M).

Normalisation settings (``--quality``): the labelled corpus of ``dedup_labelled`` (real
Japanese and English documents with variants of known kinds) under each setting of
``normalize:`` — the default, each option flipped, nothing normalised. Per setting and
language: precision and recall against the labels of exact dedup (equal normalised
text), of the exact brute-force Jaccard >= threshold over the shingle sets, and of the
LSH candidates of corpusforge and of datasketch ``MinHashLSH`` (same bands x rows); the
two LSHs also against the brute force; and per variant kind, the share found.

LSH against exact Jaccard (``--quality-edits``): Japanese (char 5-grams) and English
(word 5-grams) documents from public-domain novels, each with variants at controlled
edit rates; ground truth is the exact Jaccard similarity of the shingle sets. A
(variant, document) pair is predicted a duplicate when LSH makes it a candidate:
corpusforge's band keys vs datasketch ``MinHashLSH`` at the same threshold (same bands x
rows); precision and recall of both.

    python benchmarks/dedup.py --docs 1000000
    python benchmarks/dedup.py --docs 10000000 --only-ours
    python benchmarks/dedup.py --quality
    python benchmarks/dedup.py --quality-edits
    python benchmarks/dedup.py --stage --docs 200000 [--executor ray]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

BANDS, ROWS, K = 14, 8, 128
PER_FILE = 100_000
#: hash ranges per band of the group phase (0: the stage's default, one per 4M documents)
PARTS = 0
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# ---------------------------------------------------------------- synthetic signatures

def signatures(n: int, seed: int = 0, dup_frac: float = 0.1):
    """Yield (file index, signatures) chunks of PER_FILE documents: random signatures, a
    ``dup_frac`` share of them copies of an earlier document (same or previous file) with
    0-30% of their registers redrawn."""
    rng = np.random.default_rng(seed)
    prev = None
    for f, first in enumerate(range(0, n, PER_FILE)):
        m = min(PER_FILE, n - first)
        sig = rng.integers(0, 2**32, size=(m, K), dtype=np.uint32)
        dup = np.flatnonzero(rng.random(m) < dup_frac)
        dup = dup[dup > 0]
        pool = sig if prev is None else np.vstack([prev, sig])
        offset = 0 if prev is None else len(prev)
        src = (rng.random(len(dup)) * (dup + offset)).astype(np.int64)  # an earlier document
        copied = pool[src].copy()
        redraw = rng.random(copied.shape) < rng.uniform(0, 0.3, size=(len(dup), 1))
        copied[redraw] = rng.integers(0, 2**32, size=int(redraw.sum()), dtype=np.uint32)
        sig[dup] = copied
        prev = sig
        yield f, sig


def layout(work: Path, n: int):
    from corpusforge.dedup.config import DedupConfig, MinHashConfig
    from corpusforge.dedup.layout import Layout

    sizes = [min(PER_FILE, n - first) for first in range(0, n, PER_FILE)]
    cfg = DedupConfig(exact=None, minhash=MinHashConfig(bands=BANDS, rows=ROWS, num_perm=K))
    return Layout(cfg, str(work), tuple(f"f{i}" for i in range(len(sizes))), tuple(sizes), (),
                  ("band",) * BANDS, BANDS, ROWS)


def prepare_ours(work: Path, n: int) -> None:
    """The files the dedup stage's sign phase writes (band keys timed, as part of signing)."""
    from corpusforge.dedup.grouped import write_grouped
    from corpusforge.dedup.lsh import band_keys

    t_keys = 0.0
    for f, sig in signatures(n):
        t0 = time.perf_counter()
        keys = np.ascontiguousarray(band_keys(sig, BANDS, ROWS, 1).T)
        valid = np.ones(keys.shape, bool)
        write_grouped(str(work / f"grouped-{f:05d}.npy"), str(work / f"directory-{f:05d}.npy"), keys, valid)
        t_keys += time.perf_counter() - t0
        np.save(work / f"keys-{f:05d}.npy", keys)
        np.save(work / f"valid-{f:05d}.npy", valid)
        np.save(work / f"prio-{f:05d}.npy", np.zeros(len(sig)))
        first = f * PER_FILE
        pq.write_table(pa.table({"id": pa.array([f"d{first + i}" for i in range(len(sig))])}),
                       work / f"ids-{f:05d}.parquet")
    (work / "prepared.json").write_text(json.dumps({"band_keys_s": t_keys}))


def run_ours(work: Path, n: int) -> dict:
    from corpusforge.dedup import grouped
    from corpusforge.dedup.clusters import Plan, run_phases
    from corpusforge.dedup.stage import DOCS_PER_PARTITION, GroupTask, _edge_files, _group_task

    lay, t_keys = layout(work, n), json.loads((work / "prepared.json").read_text())["band_keys_s"]
    parts = PARTS or max(1, -(-n // DOCS_PER_PARTITION))
    read = [0]
    real_load_rows = grouped.load_rows

    def counted(path: str, start: int, stop: int) -> np.ndarray:
        out = real_load_rows(path, start, stop)
        read[0] += out.nbytes
        return out

    grouped.load_rows = counted  # the bytes the group tasks read (a ranged read each)
    t0 = time.perf_counter()
    edges = sum(_group_task(GroupTask(lay, r, p, parts))["edges"] for r in range(BANDS) for p in range(parts))
    t1 = time.perf_counter()
    grouped.load_rows = real_load_rows
    results: dict[str, list] = {}
    # the kept-document phases one task after another, as the stage runs them (below
    # edges_per_task: the components in one task)
    run_phases(lambda phase, fn, items: results.setdefault(phase, [fn(x) for x in items]), lay,
               _edge_files(lay, parts), None)
    t2 = time.perf_counter()
    # clusters as (document, smallest member): the members of every range with their label,
    # the smallest member, which keep-first keeps
    plan = Plan(lay)
    np.save(work / "clusters.npy", np.concatenate([np.load(plan.file("members", j)) for j in range(plan.run_buckets)],
                                                  axis=1))
    return {"band_keys_s": t_keys, "group_s": t1 - t0, "components_s": t2 - t1, "edges": edges,
            "parts": parts, "group_read_bytes": read[0],
            "removed": sum(r["removed"] for r in results["decide"]),
            "clusters": sum(r["clusters"] for r in results["clusters"])}


def prepare_datatrove(work: Path, n: int) -> None:
    """datatrove's stage-1 output for the same signatures: sorted records per bucket."""
    sigs = work / "sigs"
    dtype = np.dtype([(f"field{i + 1}", "<u4") for i in range(ROWS)] + [(f"field{ROWS + 1}", "<u4")])
    for f, sig in signatures(n):
        for b in range(BANDS):
            rec = np.empty(len(sig), dtype)
            for j in range(ROWS):
                rec[f"field{j + 1}"] = sig[:, b * ROWS + j]
            rec[f"field{ROWS + 1}"] = np.arange(len(sig), dtype=np.uint32)
            rec.sort(order=dtype.names)
            d = sigs / f"bucket_{b:03d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{f:05d}.minhash.sig").write_bytes(rec.tobytes())


def run_datatrove(work: Path, n: int) -> dict:
    import logging

    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
    )
    from datatrove.utils.hashing import HashConfig
    from loguru import logger

    logger.remove()
    logging.disable(logging.CRITICAL)
    cfg = MinhashConfig(num_buckets=BANDS, hashes_per_bucket=ROWS, hash_config=HashConfig(precision=32))
    sigs = work / "sigs"
    t0 = time.perf_counter()
    for b in range(BANDS):
        MinhashDedupBuckets(input_folder=str(sigs), output_folder=str(work / "buckets"), config=cfg).run(
            rank=b, world_size=BANDS)
    t1 = time.perf_counter()
    MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"), config=cfg,
                        save_cluster_id=True).run()
    t2 = time.perf_counter()
    removed = sum(p.stat().st_size // 4 for p in (work / "remove").glob("*.remove"))
    docs, cluster = [], []
    for p in sorted((work / "remove").glob("*.clusters")):
        pairs = np.frombuffer(p.read_bytes(), dtype="<u4").reshape(-1, 2).astype(np.int64)
        docs.append(int(p.name.split(".")[0]) * PER_FILE + pairs[:, 0])
        cluster.append(pairs[:, 1])
    d, c = (np.concatenate(docs), np.concatenate(cluster)) if docs else (np.zeros(0, np.int64),) * 2
    smallest = np.full(int(c.max()) + 1 if len(c) else 0, np.iinfo(np.int64).max)
    np.minimum.at(smallest, c, d)
    order = np.argsort(d)
    np.save(work / "clusters.npy", np.stack([d[order], smallest[c[order]]]))
    return {"stage2_s": t1 - t0, "stage3_s": t2 - t1, "removed": int(removed)}


def baseline(work: Path, n: int) -> dict:
    """The RSS of a process that only imports what the clustering imports."""
    import scipy.sparse.csgraph  # noqa: F401

    import corpusforge.dedup.stage  # noqa: F401
    return {}


def child(side: str, n: int, work: str) -> None:
    runs = {"prepare-ours": prepare_ours, "prepare-datatrove": prepare_datatrove,
            "ours": run_ours, "datatrove": run_datatrove, "baseline": baseline}
    out = runs[side](Path(work), n) or {}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def in_subprocess(side: str, n: int, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", side, "--docs", str(n), "--work", str(work), "--parts", str(PARTS)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def clustering(n: int, only_ours: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cf-dedup-"))
    try:
        in_subprocess("prepare-ours", n, tmp / "ours")
        ours = in_subprocess("ours", n, tmp / "ours")
        base = in_subprocess("baseline", n, tmp / "base")["peak_rss_mb"]
        t_ours = ours["group_s"] + ours["components_s"]
        print(f"{n:,} documents, {BANDS} bands x {ROWS} rows, one core")
        print(f"  corpusforge: band keys {ours['band_keys_s']:.1f} s (part of signing), group "
              f"{ours['group_s']:.1f} s + components {ours['components_s']:.1f} s = {t_ours:.1f} s; "
              f"{ours['edges']:,} edges, {ours['removed']:,} removed, peak RSS {ours['peak_rss_mb']:,.0f} MB "
              f"(imports alone: {base:,.0f} MB; {(ours['peak_rss_mb'] - base) * 2**20 / n:,.0f} bytes/document)")
        # before grouped keys, every group task read its key row (8 bytes a document) and its
        # validity row (1 byte) of every shard whole
        whole = BANDS * ours["parts"] * 9 * n
        print(f"  group reads with {ours['parts']} hash range(s) per band: {ours['group_read_bytes'] / 1e6:,.1f} MB "
              f"(whole key rows per range, as before: {whole / 1e6:,.1f} MB; "
              f"{whole / max(1, ours['group_read_bytes']):.1f}x less)")
        if only_ours:
            return
        in_subprocess("prepare-datatrove", n, tmp / "dt")
        dt = in_subprocess("datatrove", n, tmp / "dt")
        t_dt = dt["stage2_s"] + dt["stage3_s"]
        same = np.array_equal(np.load(tmp / "ours" / "clusters.npy"), np.load(tmp / "dt" / "clusters.npy"))
        print(f"  datatrove:   stage 2 {dt['stage2_s']:.1f} s + stage 3 {dt['stage3_s']:.1f} s = {t_dt:.1f} s; "
              f"{dt['removed']:,} removed, peak RSS {dt['peak_rss_mb']:,.0f} MB")
        print(f"  speed-up {t_dt / t_ours:.1f}x; identical clusters: {same}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- quality

def _docs(lang: str, n: int) -> list[str]:
    """Up to ``n`` non-overlapping windows: 400 characters of 吾輩は猫である, 100 words of Botchan."""
    if lang == "ja":
        with gzip.open(DATA / "ja" / "aozora_neko" / "wagahaiwa_nekodearu.txt.gz", "rt", encoding="utf-8") as f:
            text = f.read().replace("\n", "")
        return [text[i:i + 400] for i in range(0, len(text) - 400, 400)][:n]
    with gzip.open(DATA / "en" / "botchan.txt.gz", "rt", encoding="utf-8") as f:
        words = f.read().split()
    return [" ".join(words[i:i + 100]) for i in range(0, len(words) - 100, 100)][:n]


def _edit(text: str, lang: str, rate: float, rng: random.Random) -> str:
    units = list(text) if lang == "ja" else text.split(" ")
    pool = "あいうえおかきくけこさしすせそ" if lang == "ja" else ["cat", "river", "lamp", "stone", "bread", "moon"]
    for i in range(len(units)):
        if rng.random() < rate:
            units[i] = rng.choice(pool)
    return ("" if lang == "ja" else " ").join(units)


def shingle_set(t: str, spec) -> set[str]:
    u = list(t) if spec.mode == "char" else t.split()
    sep = "" if spec.mode == "char" else " "
    return {sep.join(u[i:i + spec.n]) for i in range(max(1, len(u) - spec.n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


def quality_edits(threshold: float, per_lang: int, seeds: int) -> None:
    from datasketch import MinHash, MinHashLSH

    from corpusforge.dedup.lsh import band_keys, optimal_params
    from corpusforge.dedup.minhash import MinHasher, ShingleSpec
    from corpusforge.dedup.normalize import normalize_for_hash

    b, r = optimal_params(threshold, K)
    rates = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3)
    print(f"threshold {threshold}, {K} hashes, {b} bands x {r} rows; edit rates {rates}; "
          f"counts summed over {seeds} hash seeds")
    print(f"{'':<4}{'docs':>6}{'pairs':>7}{'true':>6}  {'who':<24}{'precision':>12}{'recall':>12}{'predicted':>10}")
    for lang, spec in (("ja", ShingleSpec("char", 5)), ("en", ShingleSpec("word", 5))):
        rng = random.Random(0)
        base = _docs(lang, per_lang)
        variants, owner = [], []
        for i, d in enumerate(base):
            for rate in rates:
                variants.append(_edit(d, lang, rate, rng))
                owner.append(i)
        nb = normalize_for_hash(pa.array(base), spec.mode).to_pylist()
        nv = normalize_for_hash(pa.array(variants), spec.mode).to_pylist()
        sb = [shingle_set(t, spec) for t in nb]
        sv = [shingle_set(t, spec) for t in nv]
        truth = {(v, owner[v]) for v in range(len(sv)) if jaccard(sv[v], sb[owner[v]]) >= threshold}
        counts = {"corpusforge": [0, 0, 0], "datasketch MinHashLSH": [0, 0, 0]}  # predicted, tp, found
        per_seed: dict[str, list[tuple[float, float]]] = {who: [] for who in counts}
        for seed in range(1, seeds + 1):
            hasher = MinHasher(K, seed=seed)
            kb = band_keys(hasher.signatures(pa.array(nb), spec, normalized=True), b, r)
            kv = band_keys(hasher.signatures(pa.array(nv), spec, normalized=True), b, r)
            by_key: dict[tuple[int, int], list[int]] = {}
            for d in range(len(nb)):
                for j in range(b):
                    by_key.setdefault((j, int(kb[d, j])), []).append(d)
            ours = {(v, d) for v in range(len(nv)) for j in range(b) for d in by_key.get((j, int(kv[v, j])), [])}
            lsh = MinHashLSH(threshold=threshold, num_perm=K, params=(b, r))
            for d, sh in enumerate(sb):
                m = MinHash(num_perm=K, seed=seed)
                m.update_batch([x.encode() for x in sh])
                lsh.insert(d, m)
            theirs = set()
            for v, sh in enumerate(sv):
                m = MinHash(num_perm=K, seed=seed)
                m.update_batch([x.encode() for x in sh])
                theirs |= {(v, d) for d in lsh.query(m)}
            for who, pred in (("corpusforge", ours), ("datasketch MinHashLSH", theirs)):
                # a predicted pair is right when its exact Jaccard reaches the threshold
                tp = sum(1 for v, d in pred if (v, d) in truth or jaccard(sv[v], sb[d]) >= threshold)
                c = counts[who]
                c[0], c[1], c[2] = c[0] + len(pred), c[1] + tp, c[2] + len(pred & truth)
                per_seed[who].append((tp / max(1, len(pred)), len(pred & truth) / max(1, len(truth))))
        for who, (n_pred, tp, found) in counts.items():
            precision = tp / n_pred if n_pred else 1.0
            recall = found / (len(truth) * seeds) if truth else 1.0
            # spread across hash seeds: the standard error of the per-seed figures
            se = np.std(np.array(per_seed[who]), axis=0, ddof=1) / np.sqrt(seeds) if seeds > 1 else (0, 0)
            print(f"{lang:<4}{len(nb):>6}{len(nv):>7}{len(truth):>6}  {who:<24}{precision:>6.3f}±{se[0]:.3f}"
                  f"{recall:>6.3f}±{se[1]:.3f}{n_pred:>10}")


# ---------------------------------------------------------------- normalisation settings

def settings():
    """(name, Normalization): the default, each option flipped, nothing normalised, and the
    normalisation before it had options."""
    from typing import get_args

    from corpusforge.dedup.normalize import Normalization

    base = Normalization()
    out = [("default", base)]
    for name, f in Normalization.model_fields.items():
        values = (True, False) if f.annotation in (bool, "bool") else get_args(f.annotation)
        other = next(v for v in values if v != getattr(base, name))
        out.append((f"{name}: {str(other).lower()}", base.model_copy(update={name: other})))
    out.append(("nothing normalised", Normalization(nfkc=False, case="keep", digits="keep",
                                                    punctuation="keep", whitespace="keep")))
    legacy = Normalization(digits="zero")
    if all(o != legacy for _, o in out):
        out.append(("before options (digits: zero)", legacy))
    return out


def _group_pairs(keys: np.ndarray, n: int) -> np.ndarray:
    """Every pair ``a * n + b`` (a < b) of positions with equal ``keys``."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    out = [np.zeros(0, np.int64)]
    for s, e in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
        m = np.sort(order[s:e]).astype(np.int64)
        a, b = np.triu_indices(e - s, 1)
        out.append(m[a] * n + m[b])
    return np.unique(np.concatenate(out))


def _brute_force(sets: list[set], threshold: float, block: int = 256) -> np.ndarray:
    """Pairs with exact Jaccard >= threshold (sparse products, block by block)."""
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, s in enumerate(sets):
        for x in s:
            rows.append(i)
            cols.append(vocab.setdefault(x, len(vocab)))
    n = len(sets)
    a = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, len(vocab)))
    at = a.T.tocsc()
    size = np.asarray(a.sum(axis=1)).ravel()
    out = [np.zeros(0, np.int64)]
    for lo in range(0, n, block):
        inter = (a[lo:lo + block] @ at).tocoo()
        r, c = inter.row + lo, inter.col
        union = size[r] + size[c] - inter.data
        keep = (r < c) & (inter.data >= threshold * union)
        out.append(r[keep].astype(np.int64) * n + c[keep])
    return np.concatenate(out)


def _lsh_pairs(keys: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Candidate pairs: documents that share a band key (``keys``: documents x bands)."""
    n = len(keys)
    idx = np.flatnonzero(valid)
    out = [_group_pairs(keys[idx, j], len(idx)) for j in range(keys.shape[1])]
    local = np.unique(np.concatenate(out))
    return idx[local // len(idx)] * n + idx[local % len(idx)]


def _datasketch_pairs(sets: list[set], b: int, r: int, k: int, seed: int, threshold: float) -> np.ndarray:
    from datasketch import MinHash, MinHashLSH

    n = len(sets)
    lsh = MinHashLSH(threshold=threshold, num_perm=k, params=(b, r))
    hashes = MinHash.bulk([[x.encode() for x in s] for s in sets], num_perm=k, seed=seed)
    for i, (m, s) in enumerate(zip(hashes, sets)):
        if s:
            lsh.insert(i, m)
    pairs = [min(i, j) * n + max(i, j) for i, (m, s) in enumerate(zip(hashes, sets)) if s
             for j in lsh.query(m) if j != i]
    return np.unique(np.array(pairs, np.int64))


def _pr(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hit = len(np.intersect1d(pred, truth, assume_unique=True))
    return (hit / len(pred) if len(pred) else 1.0), (hit / len(truth) if len(truth) else 1.0)


def _truth(orig: np.ndarray, kind: np.ndarray, same: tuple[str, ...], n: int) -> np.ndarray:
    """Labelled duplicate pairs: two documents of one original, both of a ``same`` kind."""
    pos = np.flatnonzero(np.isin(kind, same))
    local = _group_pairs(orig[pos], len(pos))
    return np.sort(pos[local // len(pos)] * n + pos[local % len(pos)])


def _found(pred: np.ndarray, orig: np.ndarray, kind: np.ndarray, n: int) -> dict[str, float]:
    """Per variant kind, the share of variants paired with their original."""
    from dedup_labelled import KINDS

    out = {}
    for k in KINDS:
        v = np.flatnonzero(kind == k)
        if len(v):
            pairs = np.minimum(v, orig[v]) * n + np.maximum(v, orig[v])
            out[k] = float(np.isin(pairs, pred).mean())
    return out


def quality(threshold: float, per_lang: int, seeds: int) -> None:
    from dedup_labelled import EXACT_SAME, KINDS, NEAR_SAME, labelled

    from corpusforge.dedup.lsh import band_keys, optimal_params
    from corpusforge.dedup.minhash import MinHasher, ShingleSpec, text_hashes
    from corpusforge.dedup.normalize import normalize_for_hash

    b, r = optimal_params(threshold, K)
    corpus = labelled(per_lang)
    print(f"threshold {threshold}, {K} hashes, {b} bands x {r} rows, {seeds} hash seed(s); "
          f"labelled corpus: {len(corpus.texts):,} documents")
    found_rows = []
    for lang, spec in (("ja", ShingleSpec("char", 5)), ("en", ShingleSpec("word", 5))):
        sel = [i for i, x in enumerate(corpus.lang) if x == lang]
        texts = pa.array([corpus.texts[i] for i in sel])
        first = sel[0]
        orig = np.array([corpus.orig[i] - first for i in sel])
        kind = np.array([corpus.kind[i] for i in sel])
        n = len(sel)
        exact_truth = _truth(orig, kind, EXACT_SAME, n)
        near_truth = _truth(orig, kind, NEAR_SAME, n)
        counts = {k: int((kind == k).sum()) for k in ("orig", *KINDS)}
        print(f"\n{lang} ({spec}): {n:,} documents {counts}; labelled pairs: exact "
              f"{len(exact_truth):,}, near {len(near_truth):,}")
        print(f"{'setting':<32}{'exact P':>8}{'R':>7}  {'brute P':>8}{'R':>7}  {'cf P':>7}{'R':>7}"
              f"  {'ds P':>7}{'R':>7}  {'cf/bf P':>8}{'R':>7}  {'ds/bf P':>8}{'R':>7}")
        for name, opts in settings():
            norm = normalize_for_hash(texts, spec.mode, opts)
            nonempty = np.asarray(pc.binary_length(norm).to_numpy(zero_copy_only=False)) > 0
            h = text_hashes(norm)
            exact = _group_pairs(np.where(nonempty, h, np.arange(n, dtype=np.uint64)), n)
            sets = [shingle_set(t, spec) if t else set() for t in norm.to_pylist()]
            brute = _brute_force(sets, threshold)
            cf_pr, ds_pr, cf_bf, ds_bf = [], [], [], []
            cf_found: list[dict] = []
            for seed in range(1, seeds + 1):
                sig, cnt = MinHasher(K, seed=seed).signatures_and_counts(norm, spec, normalized=True)
                cf = _lsh_pairs(band_keys(sig, b, r, seed), cnt > 0)
                ds = _datasketch_pairs(sets, b, r, K, seed, threshold)
                cf_pr.append(_pr(cf, near_truth))
                ds_pr.append(_pr(ds, near_truth))
                cf_bf.append(_pr(cf, brute))
                ds_bf.append(_pr(ds, brute))
                cf_found.append(_found(cf, orig, kind, n))
            m = [np.mean(x, axis=0) for x in (cf_pr, ds_pr, cf_bf, ds_bf)]
            ep, er = _pr(exact, exact_truth)
            bp, br = _pr(brute, near_truth)
            print(f"{name:<32}{ep:>8.3f}{er:>7.3f}  {bp:>8.3f}{br:>7.3f}  {m[0][0]:>7.3f}{m[0][1]:>7.3f}"
                  f"  {m[1][0]:>7.3f}{m[1][1]:>7.3f}  {m[2][0]:>8.3f}{m[2][1]:>7.3f}  {m[3][0]:>8.3f}{m[3][1]:>7.3f}")
            cf_mean = {k: float(np.mean([f[k] for f in cf_found])) for k in cf_found[0]}
            found_rows.append((lang, name, _found(exact, orig, kind, n), _found(brute, orig, kind, n), cf_mean))
    print("\nshare of each kind of variant found with its original: exact / near (brute force) / "
          "near (corpusforge LSH)")
    kinds = [k for k in KINDS if any(k in row[2] for row in found_rows)]
    print(f"{'':<4}{'setting':<32}" + "".join(f"{k:>17}" for k in kinds))
    for lang, name, ex, bf, cf in found_rows:
        cells = "".join(f"{ex[k]:>7.2f}/{bf[k]:.2f}/{cf[k]:.2f}" if k in ex else f"{'':>17}" for k in kinds)
        print(f"{lang:<4}{name:<32}{cells}")


def stage(n: int, workers: list[int], executor: str) -> None:
    """The whole dedup stage through ``run_pipeline`` on real text: 1 vs N workers."""
    from corpusforge.config import pipeline_from_yaml
    from corpusforge.engine import run_pipeline

    tmp = Path(tempfile.mkdtemp(prefix="cf-dedup-stage-"))
    try:
        rng = random.Random(0)
        pieces = [(lang, d) for lang in ("ja", "en") for d in _docs(lang, 10**6)]
        rows = []
        for k in range(n):
            lang, text = pieces[k % len(pieces)]
            if k >= len(pieces):  # later rounds: near copies of the first round
                text = _edit(text, lang, rng.choice((0.0, 0.02, 0.1, 0.3)), rng)
            rows.append({"id": f"d{k}", "text": text, "lang": lang, "url": f"https://x.example/{k}"})
        shards = 8
        for i in range(shards):
            pq.write_table(pa.Table.from_pylist(rows[i::shards]), tmp / f"in-{i}.parquet")
        mb = sum(len(r["text"].encode()) for r in rows) / 1e6
        print(f"dedup stage, {n:,} documents ({mb:.0f} MB, {shards} shards), {executor} executor")
        for w in workers:
            out = tmp / f"out{w}"
            yaml = f"""
inputs: [{{type: parquet, path: "{tmp}/in-*.parquet", metadata: [lang]}}]
stages:
  - dedup: {{exact: {{on: [text, url]}}, minhash: {{threshold: 0.8}}}}
output: {{path: {out}}}
"""
            st = run_pipeline(pipeline_from_yaml(yaml), workers=w, executor=executor)
            d = st.steps[-1]
            print(f"  {w} worker(s): stage {d.seconds:.1f} s ({d.docs_in / d.seconds:,.0f} docs/s, "
                  f"{mb / d.seconds:.1f} MB/s), removed {sum(d.removed.values()):,} {dict(d.removed)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--only-ours", action="store_true")
    ap.add_argument("--quality", action="store_true", help="normalisation settings on the labelled corpus")
    ap.add_argument("--quality-edits", action="store_true", help="LSH vs exact Jaccard at edit rates")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--per-lang", type=int, help="quality: originals per language (at most; "
                    "default 400, and 1000 for --quality-edits)")
    ap.add_argument("--seeds", type=int, default=3, help="quality: hash seeds")
    ap.add_argument("--stage", action="store_true", help="the whole stage on real text, 1 vs 2 workers")
    ap.add_argument("--executor", default="local")
    ap.add_argument("--parts", type=int, default=0, help="clustering: hash ranges per band (default: "
                    "one per 4M documents), to see the group phase's reads at a larger corpus's count")
    ap.add_argument("--child")
    ap.add_argument("--work")
    args = ap.parse_args()
    global PARTS
    PARTS = args.parts
    if args.child:
        child(args.child, args.docs, args.work)
    elif args.stage:
        stage(args.docs, [1, 2], args.executor)
    elif args.quality:
        quality(args.threshold, args.per_lang or 400, args.seeds)
    elif args.quality_edits:
        quality_edits(args.threshold, args.per_lang or 1000, args.seeds)
    else:
        clustering(args.docs, args.only_ours)


if __name__ == "__main__":
    main()
