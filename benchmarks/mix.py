"""The mix stage's rate per core and its memory per task, on a synthetic tokenized corpus.

The corpus: documents made of 1 to 8 lines of real Japanese (吾輩は猫である, livedoor news)
and English (Botchan) text, each line tokenized once with the LLM-jp v2.2 SentencePiece model,
so every document carries ``n_tokens`` and ``token_ids``; four subsets: ``ja-web`` and
``ja-wiki`` (ja), ``en-web`` (en) and ``xx-web`` (a language without a target, removed), in
Parquet shards of ``--shard-docs`` documents, as a map phase leaves them.

The mix stage runs as the driver runs it (its ``run`` on a stage context over those shards,
local executor): targets that downsample ja and upsample en (about 1.6 epochs), a validation
split per subset, ``--outputs`` (Parquet and Megatron by default). Per run: the stage's wall
time and its CPU seconds (driver and workers, every thread), as docs/s, tokens/s and MB/s of
input text; per task group the largest peak resident set of a task and the largest growth over
the task's start (the stage context's ``memory``, measured where each task ran); with 2+ workers
the driver's own peak increase (``/proc/self/status`` VmHWM, reset at the start by writing 5 to
``/proc/self/clear_refs``). Each configuration runs in a fresh process.

The peer (``--peer``): the same selection done by brute force with pyarrow and NumPy in one
process — read every shard, keep the subsets with a target, draw a Bernoulli sample per
subset at the rate the target needs (repeats for the whole epochs), one global shuffle by a
random permutation, write Parquet shards and the raw token ids. It is what a script without a
mix stage does; it holds the whole corpus in memory and meets a target only in expectation.

    python benchmarks/mix.py --docs 100000 --shard-docs 10000 --peer   # N and 2N, 1 and 2 workers
    python benchmarks/mix.py --docs 20000 --shard-docs 5000 --sizes 1 --workers 1
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODEL = DATA / "tokenizers" / "llm-jp-tokenizer" / "code10K_en20K_ja30K.ver2.2.model"
#: (source, language, line pool, share of the documents)
SUBSETS = (("ja-web", "ja", "ja", 0.45), ("ja-wiki", "ja", "ja", 0.15),
           ("en-web", "en", "en", 0.3), ("xx-web", "xx", "en", 0.1))


def _lines() -> dict[str, list[str]]:
    neko = gzip.decompress((DATA / "ja" / "aozora_neko" / "wagahaiwa_nekodearu.txt.gz").read_bytes()).decode()
    ja = [x for x in neko.split("\n") if len(x) > 20]
    for f in sorted((DATA / "ja" / "livedoor_news").rglob("*.txt"))[:300]:
        ja += [x for x in f.read_text(errors="replace").split("\n")[3:] if len(x) > 20]
    botchan = gzip.decompress((DATA / "en" / "botchan.txt.gz").read_bytes()).decode().replace("\r\n", "\n")
    lines = [x.strip() for x in botchan.split("\n")]
    paras = [" ".join(lines[i:i + 4]) for i in range(0, len(lines), 4)]
    return {"ja": ja, "en": [p for p in paras if len(p) > 40]}


def make_corpus(folder: Path, docs: int, shard_docs: int, seed: int = 0) -> dict:
    """Write ``docs`` tokenized documents as ``in-NNNNN.parquet`` shards; returns their sizes."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(MODEL))
    pools = {}
    for lang, lines in _lines().items():
        ids = sp.encode(lines)
        pools[lang] = (np.array(lines, dtype=object), [np.array(x, np.uint32) for x in ids])
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shares = np.array([s[3] for s in SUBSETS])
    text_bytes = tokens = 0
    for start in range(0, docs, shard_docs):
        n = min(shard_docs, docs - start)
        which = rng.choice(len(SUBSETS), n, p=shares / shares.sum())
        k = rng.integers(1, 9, n)
        texts, ids, source, lang = [], [], [], []
        for w, m in zip(which, k):
            name, language, pool, _ = SUBSETS[w]
            lines, line_ids = pools[pool]
            pick = rng.integers(0, len(lines), m)
            texts.append("\n".join(lines[pick]))
            ids.append(np.concatenate([line_ids[i] for i in pick]))
            source.append(name)
            lang.append(language)
        lengths = np.array([len(x) for x in ids], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        table = pa.table({
            "id": [f"d{start + i}" for i in range(n)], "text": texts, "source": source, "lang": lang,
            "n_tokens": lengths,
            "token_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.concatenate(ids))),
        })
        pq.write_table(table, folder / f"in-{start // shard_docs:05d}.parquet", compression="zstd")
        text_bytes += sum(len(t.encode()) for t in texts)
        tokens += int(lengths.sum())
    return {"docs": docs, "bytes": text_bytes, "tokens": tokens}


def mix_conf(tokens: int, outputs: list[str]) -> dict:
    """Targets that keep ~70% of ja and take en ~1.6 times, relative to the corpus' tokens."""
    ja = tokens * (SUBSETS[0][3] + SUBSETS[1][3]) / sum(s[3] for s in SUBSETS)
    en = tokens * SUBSETS[2][3] / sum(s[3] for s in SUBSETS)
    conf = {"targets": {"ja": round(0.7 * ja), "en": round(1.6 * en)}, "outputs": outputs,
            "validation": {"tokens_per_subset": 50_000}, "seed": 1}
    if "megatron" in outputs:
        conf["tokenizer"] = {"sentencepiece": str(MODEL)}
    return conf


def _reset_peak() -> int:
    """Reset this process's peak RSS to its current RSS; returns that (bytes)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def run_mix(inputs: list[str], out: Path, conf: dict, workers: int) -> dict:
    """The mix stage over ``inputs`` as the driver runs it: its time, each task group's
    memory per task (the largest growth and peak, as the stage context records them) and,
    with 2+ workers, the driver's own peak RSS increase."""
    from corpusforge.executors.local import LocalExecutor
    from corpusforge.io.layout import OutputLayout
    from corpusforge.io.sinks import Sinks
    from corpusforge.mix import Mix, MixConfig
    from corpusforge.stages.context import StageContext

    layout = OutputLayout(str(out))
    sinks = Sinks(path=str(out), rejects=layout.rejects, errors=layout.errors, step="mix")
    with LocalExecutor(workers) as ex:
        ctx = StageContext(name="mix", key="00-mix", input_files=inputs, sinks=sinks, layout=layout, executor=ex)
        base = _reset_peak()
        t = time.perf_counter()
        stats = Mix(MixConfig(**conf)).run(ctx)
        seconds = time.perf_counter() - t
        driver = _status("VmHWM") - base
    return {"seconds": seconds, "memory": {g.rpartition("/")[2]: m for g, m in ctx.memory.items()},
            # with one worker the tasks run in the driver's process: its peak is theirs
            "driver": driver if workers > 1 else None,
            "docs_out": stats.docs_out, "met": all(t["met"] for t in stats.targets.values())}


def peer(inputs: list[str], out: Path, conf: dict, shards: int) -> dict:
    """The brute-force select + shuffle: the whole corpus in one table, NumPy draws."""
    t0 = time.perf_counter()
    out.mkdir(parents=True)
    table = pa.concat_tables([pq.read_table(f) for f in inputs])
    rng = np.random.default_rng(1)
    lang = table.column("lang").to_numpy(zero_copy_only=False)
    source = table.column("source").to_numpy(zero_copy_only=False)
    ntok = table.column("n_tokens").to_numpy()
    copies = np.zeros(table.num_rows, np.int64)
    val = np.zeros(table.num_rows, bool)
    for language, target in conf["targets"].items():
        pool = 0
        for src in np.unique(source[lang == language]):
            rows = np.flatnonzero((lang == language) & (source == src))
            # validation: random documents until the budget
            perm = rng.permutation(rows)
            k = int(np.searchsorted(np.cumsum(ntok[perm]), conf["validation"]["tokens_per_subset"])) + 1
            val[perm[:k]] = True
            pool += int(ntok[perm[k:]].sum())
        train = np.flatnonzero((lang == language) & ~val)
        rate = target / pool
        copies[train] = int(rate) + (rng.random(len(train)) < rate - int(rate))
    rows = rng.permutation(np.repeat(np.arange(table.num_rows), copies))  # the global shuffle
    for p, part in enumerate(np.array_split(rows, shards)):
        piece = table.take(pa.array(part))
        pq.write_table(piece.drop_columns(["token_ids"]), out / f"part-{p:05d}.parquet", compression="zstd")
        flat = piece.column("token_ids").combine_chunks()
        flat.values.to_numpy().astype(np.uint16).tofile(out / f"part-{p:05d}.bin")
        np.diff(flat.offsets.to_numpy()).astype(np.int32).tofile(out / f"part-{p:05d}.idx")
    pq.write_table(table.filter(pa.array(val)).drop_columns(["token_ids"]), out / "validation.parquet")
    return {"seconds": time.perf_counter() - t0, "docs_out": int((copies > 0).sum() + val.sum())}


def child(args: argparse.Namespace) -> None:
    inputs = sorted(str(p) for p in Path(args.corpus).glob("in-*.parquet"))
    conf = json.loads(args.conf)
    out = Path(args.out)
    t = os.times()
    cpu0 = t.user + t.system  # the imports and start-up so far are not the stage's
    if args.child == "peer":
        r = peer(inputs, out, conf, len(inputs))
    else:
        r = run_mix(inputs, out, conf, int(args.child))
    r["cpu0"] = cpu0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    r["maxrss"] = me.ru_maxrss * 1024
    # CPU seconds of the driver and its (ended) workers, every thread: the work, whatever
    # else the machine runs; the corpus generation is not in it (another process)
    r["cpu"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime - r.pop("cpu0")
    print(json.dumps(r))


def _fresh(tmp: Path, corpus: Path, conf: dict, who: str) -> dict:
    out = tmp / f"out-{corpus.name}-{who}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "--child", who, "--corpus", str(corpus), "--out", str(out),
           "--conf", json.dumps(conf)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(f"{who} failed:\n{res.stderr[-3000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=200_000, help="documents of the first size (N)")
    ap.add_argument("--shard-docs", type=int, default=20_000)
    ap.add_argument("--sizes", type=int, default=2, help="1: N only; 2: N and 2N")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--outputs", default="parquet,megatron")
    ap.add_argument("--peer", action="store_true")
    ap.add_argument("--child")
    ap.add_argument("--corpus")
    ap.add_argument("--out")
    ap.add_argument("--conf")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="cf-mix-bench-"))
    mb = 2**20
    try:
        for k in range(1, args.sizes + 1):
            n = k * args.docs
            corpus = tmp / f"corpus-{n}"
            size = make_corpus(corpus, n, args.shard_docs)
            conf = mix_conf(size["tokens"], args.outputs.split(","))
            shard_mb = max(pq.read_table(f).nbytes for f in corpus.glob("in-*.parquet")) / mb
            print(f"\n{n:,} documents, {size['bytes'] / 1e6:,.0f} MB of text, {size['tokens'] / 1e6:,.1f}M tokens, "
                  f"{len(list(corpus.glob('in-*')))} shards of {args.shard_docs:,} ({shard_mb:.0f} MB in memory); "
                  f"outputs {args.outputs}")
            rates, cpus = {}, {}
            for w in [int(x) for x in args.workers.split(",")]:
                r = _fresh(tmp, corpus, conf, str(w))
                rates[w], cpus[w] = r["seconds"], r["cpu"]
                mem = "  ".join(f"{g} {m['growth'] / mb:,.0f}/{m['peak'] / mb:,.0f}" for g, m in r["memory"].items())
                driver = f", driver +{r['driver'] / mb:,.0f} MB" if r["driver"] is not None else ""
                print(f"  corpusforge, {w} worker(s): {r['seconds']:.1f} s = {n / r['seconds']:,.0f} docs/s, "
                      f"{size['tokens'] / r['seconds'] / 1e6:.2f}M tokens/s, {size['bytes'] / 1e6 / r['seconds']:.1f} MB/s"
                      f"; CPU {r['cpu']:.1f} s = {n / r['cpu']:,.0f} docs/s, {size['tokens'] / r['cpu'] / 1e6:.2f}M tokens/s, "
                      f"{size['bytes'] / 1e6 / r['cpu']:.1f} MB/s per CPU second{'' if r['met'] else ' (a target NOT met)'}")
                print(f"    per task, growth/peak MB: {mem}{driver}")
            if len(rates) > 1:
                print(f"  2 workers vs 1: {rates[1] / rates[2]:.2f}x the wall-time rate, {cpus[2] / cpus[1]:.2f}x the CPU")
            if args.peer:
                p = _fresh(tmp, corpus, conf, "peer")
                print(f"  peer (pyarrow + NumPy, one process): {p['seconds']:.1f} s = {n / p['seconds']:,.0f} docs/s, "
                      f"{size['bytes'] / 1e6 / p['seconds']:.1f} MB/s; CPU {p['cpu']:.1f} s = "
                      f"{size['bytes'] / 1e6 / p['cpu']:.1f} MB/s per CPU second; peak RSS {p['maxrss'] / mb:,.0f} MB")
                if 1 in rates:
                    print(f"  corpusforge 1 worker / peer: {p['seconds'] / rates[1]:.2f}x the wall-time rate, "
                          f"{p['cpu'] / cpus[1]:.2f}x the rate per CPU second")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
