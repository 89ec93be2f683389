"""Tokenize + count throughput vs raw SentencePiece batch encoding, same texts, same process.

    python benchmarks/tokenization.py [--threads 2] [--repeat 5] [--scale 3]

Texts: Japanese (Aozora 吾輩は猫である in paragraphs of 20 lines, ABEJA Common Crawl documents,
livedoor news articles),
English (Botchan, dolma Common Crawl samples) and code (The Stack-like source files), all from
``../shared/data``. Tokenizer: the real LLM-jp ``code10K_en20K_ja30K.ver2.2.model``.

* ``raw``: ``sp.encode(texts, num_threads=T)`` on a Python list already in memory (the peer).
* ``raw numpy``: the same with ``out_type="numpy"`` (one id buffer per document instead of a
  Python int per token), the call corpusforge makes: the gap to it is corpusforge's overhead.
* ``corpusforge``: the ``tokenize`` step on an Arrow table (text column -> ``n_tokens``), then
  token totals per source and language (Arrow group-by) — i.e. tokenize *and* count, starting
  from Arrow, including the conversion of the text column to Python strings.
* ``corpusforge+ids``: the same with a ``list<uint32>`` token-id column and a token-id histogram.

Rounds alternate between the contenders; the ratio of the medians is printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tarfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sentencepiece as spm

from corpusforge.tokenize.count import TokenHistogram, token_totals
from corpusforge.tokenize.step import Tokenize

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MODEL = DATA / "tokenizers" / "llm-jp-tokenizer" / "code10K_en20K_ja30K.ver2.2.model"
HF_JSON = DATA / "tokenizers" / "llm-jp-tokenizer" / "hf_code10K_en20K_ja30K.ver2.2"


def gz(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def load_texts() -> pa.Table:
    rows: list[tuple[str, str, str]] = []
    neko = gz(DATA / "ja/aozora_neko/wagahaiwa_nekodearu.txt.gz")
    lines = [x for x in neko.split("\n") if x.strip()]
    rows += [("aozora", "ja", "\n".join(lines[i : i + 20])) for i in range(0, len(lines), 20)]
    abeja = json.loads(gz(DATA / "ja/abeja_cc_ja_keyphrase/dataset.json.gz"))
    rows += [("abeja-cc", "ja", d["text"]) for group in abeja.values() for d in group]
    with tarfile.open(DATA / "ja/livedoor_news/ldcc_subset_100_per_category.tar.gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.count("/") == 2 and "LICENSE" not in m.name:
                # line 1 URL, line 2 date, then title and body
                body = tar.extractfile(m).read().decode("utf-8").split("\n", 2)[-1]
                rows.append(("livedoor", "ja", body))
    botchan = gz(DATA / "en/botchan.txt.gz").replace("\r\n", "\n").split("\n")  # no blank lines
    rows += [("botchan", "en", "\n".join(botchan[i : i + 20])) for i in range(0, len(botchan), 20)]
    for f in sorted((DATA / "en/dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        rows += [("dolma-cc", "en", json.loads(x)["text"]) for x in gz(f).split("\n") if x]
    rows += [("stack", "code", json.loads(x)["text"]) for x in gz(DATA / "code/code_samples.jsonl.gz").split("\n") if x]
    source, lang, text = zip(*rows)
    return pa.table({"id": [str(i) for i in range(len(rows))], "text": list(text),
                     "source": list(source), "lang": list(lang)})


def write_corpus(root: Path) -> None:
    """``root/all``: every text; ``root/train`` and ``root/eval``: split by *source*, so that an
    evaluation on ``eval`` is out of domain for a tokenizer trained on ``train`` (ABEJA Common
    Crawl, dolma Common Crawl and every other code file are held out)."""
    table = load_texts()
    source = table.column("source")
    held = pa.compute.is_in(source, pa.array(["abeja-cc", "dolma-cc"]))
    odd_code = pa.array([s == "stack" and i % 2 == 1 for i, s in enumerate(source.to_pylist())])
    held = pa.compute.or_(held, odd_code)
    for name, part in (("all", table), ("train", table.filter(pa.compute.invert(held))),
                       ("eval", table.filter(held))):
        for lang in ("ja", "en", "code"):
            sub = part.filter(pa.compute.equal(part.column("lang"), lang)).drop_columns(["lang"])
            (root / name / f"lang={lang}").mkdir(parents=True, exist_ok=True)
            pq.write_table(sub, root / name / f"lang={lang}" / "part-0.parquet")
            print(f"{root}/{name}/lang={lang}: {sub.num_rows} docs")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scale", type=int, default=3, help="repeat the texts this many times")
    ap.add_argument("--hf", action="store_true",
                    help="compare the HF tokenizer.json of the same model instead (raw encode_batch_fast)")
    ap.add_argument("--make-corpus", metavar="DIR",
                    help="only write the texts as a Parquet corpus partitioned by lang (for train-tokenizer)")
    args = ap.parse_args()
    if args.make_corpus:
        write_corpus(Path(args.make_corpus))
        return

    base = load_texts()
    table = pa.concat_tables([base] * args.scale)
    texts = table.column("text").to_pylist()
    mb = sum(len(t.encode()) for t in texts) / 1e6
    sp = spm.SentencePieceProcessor(model_file=str(MODEL))
    plain = Tokenize(tokenizer=str(MODEL), threads=args.threads)
    with_ids = Tokenize(tokenizer=str(MODEL), threads=args.threads, ids=True)
    plain.setup()
    with_ids.setup()

    def raw() -> int:
        return sum(map(len, sp.encode(texts, num_threads=args.threads)))

    def raw_numpy() -> int:
        return sum(map(len, sp.encode(texts, num_threads=args.threads, out_type="numpy")))

    def ours() -> int:
        out = plain(table)
        return int(pa.compute.sum(token_totals(out).column("tokens")).as_py())

    def ours_ids() -> int:
        out = with_ids(table)
        hist = TokenHistogram.of(pa.compute.list_flatten(out.column("token_ids")))
        token_totals(out)
        return hist.total

    contenders = {"raw": raw, "raw numpy": raw_numpy, "corpusforge": ours, "corpusforge+ids": ours_ids}
    if args.hf:
        from tokenizers import Tokenizer

        hf = Tokenizer.from_str(gz(HF_JSON / "tokenizer.json.gz"))
        hf_step = Tokenize(tokenizer={"hf_tokenizer": str(HF_JSON)})
        hf_step.setup()

        def raw_hf() -> int:
            return sum(len(e.ids) for e in hf.encode_batch_fast(texts, add_special_tokens=False))

        def ours_hf() -> int:
            out = hf_step(table)
            return int(pa.compute.sum(token_totals(out).column("tokens")).as_py())

        contenders = {"raw": raw_hf, "corpusforge": ours_hf}
    times: dict[str, list[float]] = {k: [] for k in contenders}
    counts: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            counts[name] = fn()
            times[name].append(time.perf_counter() - t0)
    assert len(set(counts.values())) == 1, f"token counts differ: {counts}"
    print(f"{'HF tokenizer.json' if args.hf else 'SentencePiece'}: "
          f"{table.num_rows} docs, {mb:.1f} MB, {counts['raw']:,} tokens, threads={args.threads}, "
          f"median of {args.repeat} alternating rounds")
    ref = statistics.median(times["raw"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:16s} {med:7.3f} s  {mb / med:6.2f} MB/s  ratio vs raw {ref / med:5.2f}x")


if __name__ == "__main__":
    main()
