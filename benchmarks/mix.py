"""The mix stage's rate per core and its memory per task, on a synthetic tokenized corpus.

The corpus: documents made of 1 to 8 lines of real Japanese (吾輩は猫である, livedoor news)
and English (Botchan) text, each line tokenized once with the LLM-jp v2.2 SentencePiece model,
so every document carries ``n_tokens`` and ``token_ids``; four subsets: ``ja-web`` and
``ja-wiki`` (ja), ``en-web`` (en) and ``xx-web`` (a language without a target, removed), in
Parquet shards of ``--shard-docs`` documents, as a map phase leaves them.

The mix stage runs as the driver runs it (its ``run`` on a stage context over those shards,
local executor): targets that downsample ja and upsample en (about 1.6 epochs), a validation
split per subset, ``--outputs`` (Parquet and Megatron by default). Per run: the stage's wall
time and docs/s, tokens/s, MB/s of input text; per task group the largest peak RSS increase
of a task (``/proc/self/status`` VmHWM, reset before each task by writing 5 to
``/proc/self/clear_refs``) and the driver's own peak. Each configuration runs in a fresh
process.

The peer (``--peer``): the same selection done by brute force with pyarrow and NumPy in one
process — read every shard, keep the subsets with a target, draw a Bernoulli sample per
subset at the rate the target needs (repeats for the whole epochs), one global shuffle by a
random permutation, write Parquet shards. It is what a script without a mix stage does; it
holds the whole corpus in memory and meets a target only in expectation.

    python benchmarks/mix.py --docs 200000 --peer
    python benchmarks/mix.py --docs 100000 --sizes 2 --workers 1   # memory at N and 2N
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
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


class Measured:
    """A task function that also returns its peak RSS increase (VmHWM after a reset)."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def __call__(self, item):
        base = _reset_peak()
        value = self.fn(item)
        return value, _peak() - base


def _reset_peak() -> int:
    """Reset the process's peak RSS to its current RSS; returns that (bytes)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def _peak() -> int:
    return _status("VmHWM")


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


class MeasuringExecutor:
    """The local executor, each task's peak RSS increase recorded per task group."""

    def __init__(self, inner) -> None:
        self.inner, self.kind, self.workers = inner, inner.kind, inner.workers
        self.peaks: list[int] = []

    def map(self, fn, items, on_result=None):
        def done(i, value, node):
            result, peak = value
            self.peaks.append(peak)
            if on_result is not None:
                on_result(i, result, node)

        return [v for v, _ in self.inner.map(Measured(fn), items, on_result=done)]

    def start(self) -> None:
        self.inner.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.inner.__exit__(*exc)


def run_mix(inputs: list[str], out: Path, conf: dict, workers: int) -> dict:
    """The mix stage over ``inputs`` as the driver runs it; times and peaks per task group."""
    from corpusforge.executors.local import LocalExecutor
    from corpusforge.io.layout import OutputLayout
    from corpusforge.io.sinks import Sinks
    from corpusforge.mix import Mix, MixConfig
    from corpusforge.stages.context import StageContext

    layout = OutputLayout(str(out))
    sinks = Sinks(path=str(out), rejects=layout.rejects, errors=layout.errors,
                  errors_prefix="00-mix-part", step="mix")
    peaks: dict[str, int] = {}
    with MeasuringExecutor(LocalExecutor(workers)) as ex:
        ctx = StageContext(name="mix", key="00-mix", input_files=inputs, sinks=sinks, layout=layout, executor=ex)
        orig = ctx.map_tasks

        def map_tasks(phase, fn, items, **kw):
            ex.peaks = []
            result = orig(phase, fn, items, **kw)
            peaks[phase] = max(ex.peaks, default=0)
            return result

        ctx.map_tasks = map_tasks
        base = _reset_peak()
        t = time.perf_counter()
        stats = Mix(MixConfig(**conf)).run(ctx)
        seconds = time.perf_counter() - t
        driver = _peak() - base
    return {"seconds": seconds, "peaks": peaks, "driver": driver if workers > 1 else None,
            "docs_in": stats.docs_in, "docs_out": stats.docs_out, "targets": stats.targets}
