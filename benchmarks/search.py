"""Search indexes side by side on the same text: build speed and size per kind, query
latency per operation, against brute force.

The text is shared-data Japanese, English and code (吾輩は猫である, 古事記, livedoor news,
Japanese Common Crawl, Botchan, English Common Crawl, source files) cut into documents and
repeated, each copy marked so that documents differ, up to ``--mb`` of UTF-8 text, written as a
run's Parquet output in ``--shards`` shards. Then ``index`` for each kind on a local pool of
``--workers`` processes, and queries: exact count and locate (strings of 4 to 40 characters
taken from the text, half Japanese), BM25 and dense (a paragraph of a document).
Brute force: a Python scan (``bytes.count`` over every shard's text) and ripgrep when installed.

    python benchmarks/search.py [--mb 150] [--shards 4] [--workers 2] [--queries 200]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def base_documents() -> list[tuple[str, str]]:
    """``(lang, text)`` of every shared-data text used, cut into documents of ~2,000 characters."""
    out: list[tuple[str, str]] = []

    def cut(lang: str, text: str, size: int = 2000) -> None:
        for i in range(0, len(text), size):
            out.append((lang, text[i:i + size]))

    cut("ja", gzip.decompress((DATA / "ja/aozora_neko/wagahaiwa_nekodearu.txt.gz").read_bytes()).decode())
    cut("ja", gzip.decompress((DATA / "ja/aozora_kojiki/03gendaigoyaku_kojiki.txt.utf8.gz").read_bytes()).decode())
    for record in json.loads(gzip.decompress((DATA / "ja/abeja_cc_ja_keyphrase/dataset.json.gz").read_bytes())):
        if isinstance(record, dict) and isinstance(record.get("text"), str):
            out.append(("ja", record["text"]))
    with tarfile.open(DATA / "ja/livedoor_news/ldcc_subset_100_per_category.tar.gz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".txt") and "LICENSE" not in member.name:
                out.append(("ja", tar.extractfile(member).read().decode("utf-8", "replace")))
    cut("en", gzip.decompress((DATA / "en/botchan.txt.gz").read_bytes()).decode())
    for name in ("data__multiple_files__cc_en_head-0091.jsonl.gz", "data__multiple_files__cc_en_head-0174.jsonl.gz"):
        for line in gzip.decompress((DATA / "en/dolma_cc_samples" / name).read_bytes()).splitlines():
            out.append(("en", json.loads(line)["text"]))
    for line in gzip.decompress((DATA / "code/code_samples.jsonl.gz").read_bytes()).splitlines():
        out.append(("code", json.loads(line)["text"]))
    return [(lang, t) for lang, t in out if t.strip()]


def write_corpus(out: Path, mb: float, shards: int) -> tuple[int, list[tuple[str, str]]]:
    base = base_documents()
    docs, size, copy = [], 0, 0
    while size < mb * 1e6:
        for lang, text in base:
            doc = f"[{copy}] {text}"  # copies differ: no document occurs twice
            docs.append((lang, doc))
            size += len(doc.encode())
        copy += 1
    folder = out
    for s in range(shards):
        part = docs[s::shards]
        pq.write_table(pa.table({
            "id": [f"d{s}-{i}" for i in range(len(part))],
            "text": [t for _, t in part],
            "lang": [lang for lang, _ in part],
            "source": ["shared-data"] * len(part),
            "url": [None] * len(part),
        }), folder / f"part-{s:05d}.parquet")
    return size, base


def dir_bytes(out: Path, names: tuple[str, ...]) -> int:
    total = 0
    for shard in (out / "_search" / "shards").iterdir():
        for name in names:
            p = shard / name
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (
                p.stat().st_size if p.exists() else 0)
    return total


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1e3, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t)
    return out


def infini_gram_index(out: Path, tmp: Path, size: int, workers: int):
    """The same documents indexed by infini-gram over their UTF-8 bytes (no tokenizer, so
    nothing is downloaded); returns its engine, after printing build speed and size."""
    import resource

    from infini_gram.engine import InfiniGramEngine

    data, index = tmp / "ig-data", tmp / "ig-index"
    data.mkdir()
    with (data / "docs.jsonl").open("w", encoding="utf-8") as f:
        for shard in sorted(out.glob("*.parquet")):
            for text in pq.read_table(shard, columns=["text"])["text"].to_pylist():
                f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "infini_gram.indexing", "--data_dir", str(data), "--save_dir", str(index),
                    "--temp_dir", str(tmp / "ig-tmp"), "--token_dtype", "u8", "--cpus", str(workers), "--mem", "8",
                    "--ulimit", str(resource.getrlimit(resource.RLIMIT_NOFILE)[1])],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - t
    index_bytes = sum(f.stat().st_size for f in index.rglob("*") if f.is_file())
    print(f"build infini-gram: {seconds:.1f} s, {size / 1e6 / seconds / workers:.2f} MB/s per core, "
          f"{index_bytes / size:.2f} index bytes per text byte", flush=True)
    # byte tokens: 0..254 are the vocabulary, 255 (never in UTF-8) the document separator
    return InfiniGramEngine(index_dir=str(index), eos_token_id=254, vocab_size=255, token_dtype="u8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=150)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default="exact,bm25,dense")
    parser.add_argument("--infini-gram", action="store_true",
                        help="also index with infini-gram (byte tokens: offline) and time its count")
    args = parser.parse_args()

    from corpusforge import search
    from corpusforge.executors import LocalExecutor

    kinds = args.kinds.split(",")
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        out.mkdir()
        size, base = write_corpus(out, args.mb, args.shards)
        print(f"text: {size / 1e6:.1f} MB in {args.shards} shards, {args.workers} workers")
        rows = []
        with LocalExecutor(args.workers) as ex:
            for kind in ["exact", "bm25", "dense"]:
                if kind not in kinds:
                    continue
                t = time.perf_counter()
                search.index(str(out), ("exact",) if kind == "exact" else (kind,), ex)
                seconds = time.perf_counter() - t
                files = {"exact": ("text.bin", "starts.npy", "meta.parquet", "sa.npy"),
                         "bm25": ("bm25",), "dense": ("dense.npy", "dense.faiss")}[kind]
                index_bytes = dir_bytes(out, files)
                rows.append((kind, seconds, size / 1e6 / seconds / args.workers, index_bytes / size))
                print(f"build {kind}: {seconds:.1f} s, {size / 1e6 / seconds / args.workers:.2f} MB/s per core, "
                      f"{index_bytes / size:.2f} index bytes per text byte", flush=True)
        infini = infini_gram_index(out, Path(tmp), size, args.workers) if args.infini_gram else None
        corpus = search.corpus(str(out))
        # queries: strings of the text (half Japanese), and paragraphs for ranked search
        ja = [t for lang, t in base if lang == "ja"]
        en = [t for lang, t in base if lang != "ja"]
        strings = []
        for i in range(args.queries):
            text = rng.choice(ja if i % 2 else en)
            n = rng.randint(4, 40)
            start = rng.randrange(max(1, len(text) - n))
            strings.append(text[start:start + n])
        paragraphs = [rng.choice(ja if i % 2 else en)[:300] for i in range(max(20, args.queries // 4))]
        corpus.count(strings[0])  # first touch: maps the files
        results = {"exact count": timed(corpus.count, strings),
                   "exact locate (10 hits)": timed(lambda q: corpus.search(q, "exact", 10), strings[: args.queries // 2])}
        if "bm25" in kinds:
            corpus.search(paragraphs[0], "bm25")
            results["bm25 (k=10)"] = timed(lambda q: corpus.search(q, "bm25", 10), paragraphs)
        if "dense" in kinds:
            corpus.search(paragraphs[0], "dense")
            results["dense (k=10)"] = timed(lambda q: corpus.search(q, "dense", 10), paragraphs)
        if infini is not None:
            results["infini-gram count (u8 tokens)"] = timed(lambda q: infini.count(input_ids=list(q.encode())), strings)
            differ = sum(infini.count(input_ids=list(q.encode()))["count"] != corpus.count(q) for q in strings)
            print(f"infini-gram and corpusforge counts differ on {differ} of {len(strings)} strings")
        texts = [Path(s.folder, "text.bin").read_bytes() for s in (corpus.store(k) for k in corpus.keys("store"))]
        results["brute force count (Python bytes.count)"] = timed(
            lambda q: sum(t.count(q.encode()) for t in texts), strings[:20])
        rg = shutil.which("rg")
        if rg:
            files = [str(Path(corpus.store(k).folder, "text.bin")) for k in corpus.keys("store")]
            results["brute force count (ripgrep)"] = timed(
                lambda q: subprocess.run([rg, "-c", "-F", "-a", "-o", q, *files], capture_output=True), strings[:20])
        for name, times in results.items():
            p50, p99 = percentiles(times)
            print(f"{name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(times)} queries)")
        # a check that the figures are of correct answers
        for q in strings[:20]:
            assert corpus.count(q) == sum(t.count(q.encode()) for t in texts) or len(set(q)) < len(q)


if __name__ == "__main__":
    main()
