"""Filter throughput and agreement vs datatrove and HojiChar, same documents, one process.

    taskset -c 0 python benchmarks/filters.py [--repeat 3] [--scale 4]

English: Gopher quality, Gopher repetition, C4 and FineWeb (corpusforge) against datatrove's
``GopherQualityFilter``, ``GopherRepetitionFilter``, ``C4QualityFilter`` and
``FineWebQualityFilter`` (its English word splitting is spaCy's blank ``en`` tokenizer, which
needs no download). Documents: dolma's Common Crawl samples and Botchan in chunks.

Japanese: the LLM-jp v1 chain against HojiChar's equivalent filters (``DocumentNormalizer``,
``AcceptJapanese``, ``DiscardAds``, ``DiscardAdultContentJa``, ``DiscardDiscriminationContentJa``,
``DiscardViolenceContentJa``, ``DiscardRareKuten``), both with HojiChar's own keyword
dictionaries. Documents: the ABEJA Common Crawl set, livedoor news and 吾輩は猫である in chunks.

FineWeb-2 Japanese: the ``ja-fineweb2`` preset (Gopher repetition, FineWeb quality and the
stop-word rule on Sudachi words) against datatrove's ``GopherRepetitionFilter``,
``FineWebQualityFilter`` and ``GopherQualityFilter`` with ``language="jpn_Jpan"`` (spaCy's Japanese
tokenizer, which runs SudachiPy) and the same thresholds, on the Japanese documents above; and
Sudachi's own speed over the same documents, the floor both stand on. ``--only fw2`` runs it
alone (it is the slowest part: the analyser does ~1 MB/s).

Pin to one core with ``taskset -c 0``; Arrow's thread pool is set to one thread here too.
MB/s counts UTF-8 bytes of the input text and is the best of ``--repeat`` rounds; rounds
alternate between the peer and corpusforge, and the ratio printed is the median of the paired
rounds' ratios. Agreement compares keep/drop per document.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import tarfile
import time
import zlib
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow as pa  # noqa: E402

from corpusforge.filters import (  # noqa: E402
    C4Quality,
    FineWebQuality,
    GopherQuality,
    GopherRepetition,
    JapaneseNormalize,
    JapaneseQuality,
)
from corpusforge.steps.presets import build_preset  # noqa: E402

pa.set_cpu_count(1)
pa.set_io_thread_count(1)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def gz(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def english_docs() -> list[str]:
    docs = []
    for f in sorted((DATA / "en/dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        docs += [json.loads(x)["text"] for x in gz(f).split("\n") if x]
    docs += [json.loads(x)["text"] for x in gz(DATA / "en/dolma_cc_samples/data__provided__documents__000.json.gz").split("\n") if x]
    # Botchan is hard-wrapped with no blank lines: 8 wrapped lines make a paragraph,
    # 5 paragraphs a document
    lines = [x.strip() for x in gz(DATA / "en/botchan.txt.gz").splitlines() if x.strip()]
    paras = [" ".join(lines[i : i + 8]) for i in range(0, len(lines), 8)]
    docs += ["\n".join(paras[i : i + 5]) for i in range(0, len(paras), 5)]
    return docs


def japanese_docs() -> list[str]:
    abeja = json.loads(gz(DATA / "ja/abeja_cc_ja_keyphrase/dataset.json.gz"))
    docs = [d["text"] for group in abeja.values() for d in group]
    with tarfile.open(DATA / "ja/livedoor_news/ldcc_subset_100_per_category.tar.gz") as tar:
        for m in tar.getmembers():
            # articles are text/<category>/<category>-<id>.txt (skip README, CHANGES, LICENSE)
            if m.isfile() and m.name.count("/") == 2 and "LICENSE" not in m.name:
                raw = tar.extractfile(m).read().decode("utf-8")
                # livedoor files: url, date, then title and body, which are the document (read only)
                docs.append("\n".join(raw.split("\n")[2:]))
    lines = [x for x in gz(DATA / "ja/aozora_neko/wagahaiwa_nekodearu.txt.gz").split("\n") if x.strip()]
    docs += ["\n".join(lines[i : i + 20]) for i in range(0, len(lines), 20)]
    return docs


def mb(texts: list[str]) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def paired(peer_fn, ours_fn, repeat: int, scale: int) -> tuple[float, float, float]:
    """Alternate peer and corpusforge rounds; best time of each and the median paired ratio.

    The machine is shared: pairing each peer round with the corpusforge round right after it
    keeps a burst of load from landing on one contender only.
    """
    peer_t, ours_t, ratios = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        peer_fn()
        t1 = time.perf_counter()
        ours_fn()
        t2 = time.perf_counter()
        peer_t.append(t1 - t0)
        ours_t.append((t2 - t1) / scale)
        ratios.append(peer_t[-1] / ours_t[-1])
    return min(peer_t), min(ours_t), statistics.median(ratios)


def ours_keep(step, texts: list[str], batch_docs: int = 2048) -> list[bool]:
    keep: list[bool] = []
    for i in range(0, len(texts), batch_docs):
        keep += step.score(pa.table({"text": texts[i : i + batch_docs]})).column("keep").to_pylist()
    return keep


def peer_keep(filt, texts: list[str]) -> tuple[list[bool], Counter]:
    from datatrove.data import Document

    keep, reasons = [], Counter()
    for i, t in enumerate(texts):
        r = filt.filter(Document(text=t, id=str(i)))
        ok = r is True or (isinstance(r, tuple) and r[0])
        keep.append(bool(ok))
        if not ok:
            reasons[r[1] if isinstance(r, tuple) else "dropped"] += 1
    return keep, reasons


def english(repeat: int, scale: int) -> None:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    docs = english_docs()
    big = docs * scale
    print(f"\n== English: {len(docs)} documents, {mb(docs):.2f} MB (corpusforge timed on x{scale}) ==")
    pairs = [
        ("gopher_quality", GopherQuality(), GopherQualityFilter()),
        ("gopher_repetition", GopherRepetition(), GopherRepetitionFilter()),
        ("c4", C4Quality(), C4QualityFilter()),
        ("fineweb", FineWebQuality(), FineWebQualityFilter()),
    ]
    # warm up spaCy's tokenizer (first call builds it) and our regexes
    for _, ours, peer in pairs:
        peer_keep(peer, docs[:2])
        ours_keep(ours, docs[:2])
    tot_ours = tot_peer = 0.0
    print("MB/s: best round; ratio: median of paired rounds")
    print(f"{'filter':<18} {'datatrove MB/s':>14} {'corpusforge MB/s':>17} {'ratio':>7} {'agree':>7}  disagreements")
    for name, ours, peer in pairs:
        t_peer, t_ours, ratio = paired(lambda p=peer: peer_keep(p, docs), lambda o=ours: ours_keep(o, big),
                                       repeat, scale)
        k_peer, peer_reasons = peer_keep(peer, docs)
        sc = ours.score(pa.table({"text": docs}))
        k_ours, our_reasons = sc.column("keep").to_pylist(), sc.column("reason").to_pylist()
        agree = sum(a == b for a, b in zip(k_ours, k_peer)) / len(docs)
        diff = Counter(
            f"{'we drop' if not a else 'we keep'}({r or '-'})"
            for a, b, r in zip(k_ours, k_peer, our_reasons) if a != b
        )
        tot_ours += t_ours
        tot_peer += t_peer
        print(f"{name:<18} {mb(docs) / t_peer:>14.2f} {mb(docs) / t_ours:>17.1f} {ratio:>6.1f}x {agree:>7.1%}  {dict(diff)}")
    print(f"{'all four':<18} {mb(docs) / tot_peer:>14.2f} {mb(docs) / tot_ours:>17.1f} {tot_peer / tot_ours:>6.1f}x")


def japanese(repeat: int, scale: int) -> None:
    from hojichar import Compose, Document
    from hojichar.filters import document_filters as hf

    dicts = Path(hf.__file__).resolve().parents[1] / "dict"
    ads, adult = dicts / "advertisement_keywords_ja.txt", dicts / "adult_keywords_ja.txt"
    disc, viol = dicts / "discrimination_keywords_ja.txt", dicts / "violence_keywords_ja.txt"
    docs = japanese_docs()
    big = docs * scale
    print(f"\n== Japanese: {len(docs)} documents, {mb(docs):.2f} MB (corpusforge timed on x{scale}) ==")
    hoji = Compose([
        hf.DocumentNormalizer(),
        hf.AcceptJapanese(lookup_size=50),
        hf.DiscardAds(dict_path=ads, max_allowed_num=10),
        hf.DiscardAdultContentJa(dict_path=adult),
        hf.DiscardDiscriminationContentJa(dict_path=disc),
        hf.DiscardViolenceContentJa(dict_path=viol),
        hf.DiscardRareKuten(max_average_sentence_length=250),
    ])

    def run_hoji(texts: list[str]) -> list[bool]:
        return [not hoji.apply(Document(t)).is_rejected for t in texts]

    def run_hoji_zlib(texts: list[str]) -> list[bool]:
        # HojiChar has no compression-ratio filter: the LLM-jp scripts computed it per document
        keep = []
        for t in texts:
            d = hoji.apply(Document(t))
            ok = not d.is_rejected
            if ok:
                raw = d.text.encode("utf-8")
                ok = 0.30 <= len(zlib.compress(raw, 9)) / max(len(raw), 1) <= 0.70
            keep.append(ok)
        return keep

    norm = JapaneseNormalize(fix_punctuation=False, footer_headings=[])
    common = dict(ads_lists=[str(ads)], ng_lists=[str(adult), str(disc), str(viol)], allowed_tlds=None,
                  blocked_domains=[])
    # HojiChar's NG filters reject on any hit: max_ng_hits=0 is the same rule
    like = JapaneseQuality(**common, max_ng_hits=0, zlib_check=False)
    full = JapaneseQuality(**common, max_ng_hits=0)

    def run_ours(step, texts: list[str]) -> list[bool]:
        keep: list[bool] = []
        for i in range(0, len(texts), 2048):
            t = norm(pa.table({"text": texts[i : i + 2048]}))
            keep += step.score(t).column("keep").to_pylist()
        return keep

    run_hoji(docs[:2])
    run_ours(like, docs[:2])
    run_ours(full, docs[:2])
    t_hoji, t_like, r_like = paired(lambda: run_hoji(docs), lambda: run_ours(like, big), repeat, scale)
    t_hoji_z, t_full, r_full = paired(lambda: run_hoji_zlib(docs), lambda: run_ours(full, big), repeat, scale)
    k_hoji, k_like = run_hoji(docs), run_ours(like, docs)
    agree = sum(a == b for a, b in zip(k_like, k_hoji)) / len(docs)
    print(f"HojiChar chain               {mb(docs) / t_hoji:8.2f} MB/s")
    print(f"corpusforge, same rules      {mb(docs) / t_like:8.1f} MB/s  {r_like:5.1f}x  agreement {agree:.1%}")
    print(f"HojiChar chain + zlib rule   {mb(docs) / t_hoji_z:8.2f} MB/s")
    k_hz, k_full = run_hoji_zlib(docs), run_ours(full, docs)
    agree_z = sum(a == b for a, b in zip(k_full, k_hz)) / len(docs)
    print(f"corpusforge, + zlib rule     {mb(docs) / t_full:8.1f} MB/s  {r_full:5.1f}x  agreement {agree_z:.1%}")
    preset = build_preset("ja-web")

    def run_preset(texts: list[str]) -> None:
        for i in range(0, len(texts), 2048):
            t = pa.table({"text": texts[i : i + 2048]})
            for step in preset:
                t = step(t)

    run_preset(docs[:2])
    t_preset = best_time(lambda: run_preset(big), repeat) / scale
    print(f"ja-web preset as shipped     {mb(docs) / t_preset:8.1f} MB/s  (starter word lists, + line extraction)")
    sc = like.score(norm(pa.table({"text": docs})))
    reasons = sc.column("reason").to_pylist()
    diff = Counter(
        f"{'we drop' if not a else 'we keep'}({r or '-'})" for a, b, r in zip(k_like, k_hoji, reasons) if a != b
    )
    print(f"disagreements: {dict(diff)}")


def char_repetition(repeat: int, scale: int) -> None:
    """``char_repetition`` against HojiChar's ``CharRepetitionRatioFilter`` (the same ratio:
    the share of character 5-gram occurrences held by the sqrt(#distinct) most frequent), on
    the Japanese and the English documents."""
    from hojichar import Document
    from hojichar.filters import document_filters as hf

    from corpusforge.filters import CharRepetition

    peer, ours = hf.CharRepetitionRatioFilter(threshold=0.33, ngram_size=5), CharRepetition()
    for lang, docs in (("Japanese", japanese_docs()), ("English", english_docs())):
        big = docs * scale

        def run_peer(texts: list[str]) -> list[bool]:
            return [not peer.apply(Document(t)).is_rejected for t in texts]

        run_peer(docs[:2])
        ours_keep(ours, docs[:2])
        t_peer, t_ours, ratio = paired(lambda d=docs: run_peer(d), lambda b=big: ours_keep(ours, b), repeat, scale)
        k_peer, k_ours = run_peer(docs), ours_keep(ours, docs)
        agree = sum(a == b for a, b in zip(k_peer, k_ours)) / len(docs)
        print(f"\n== char_repetition, {lang}: {len(docs)} documents, {mb(docs):.2f} MB ==")
        print(f"HojiChar CharRepetitionRatioFilter {mb(docs) / t_peer:8.2f} MB/s, {len(docs) / t_peer:9.0f} docs/s")
        print(f"corpusforge char_repetition        {mb(docs) / t_ours:8.2f} MB/s, {len(docs) / t_ours:9.0f} docs/s"
              f"  {ratio:5.1f}x  agreement {agree:.1%}")


#: FineWeb-2's Japanese stop words (the `ja-fineweb2` preset's list)
JA_STOP_WORDS = ["の", "に", "を", "は", "た", "て", "が", "と", "で", "年", "し", "・", "月", "れ", "さ"]


def fineweb2_japanese(repeat: int) -> None:
    from datatrove.pipeline.filters import (
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    from corpusforge.filters.ja_words import _chunks, sudachi_words

    docs = japanese_docs()
    print(f"\n== FineWeb-2 Japanese: {len(docs)} documents, {mb(docs):.2f} MB ==")
    lang = "jpn_Jpan"
    off = dict(min_doc_words=None, max_doc_words=None, min_avg_word_length=None, max_avg_word_length=None,
               max_symbol_word_ratio=None, max_bullet_lines_ratio=None, max_ellipsis_lines_ratio=None,
               max_non_alpha_words_ratio=None)
    peers = [
        GopherRepetitionFilter(dup_line_frac=0.328, top_n_grams=((2, 0.239), (3, 0.196), (4, 0.172)),
                               dup_n_grams=((5, 0.243), (6, 0.225), (7, 0.207), (8, 0.19), (9, 0.175),
                                            (10, 0.159)), language=lang),
        FineWebQualityFilter(line_punct_thr=0.096, new_line_ratio=0.13, char_duplicates_ratio=0.1, language=lang),
        GopherQualityFilter(**off, min_stop_words=2, stop_words=JA_STOP_WORDS, language=lang),
    ]
    ours = build_preset("ja-fineweb2")

    def run_peer(texts: list[str]) -> list[bool]:
        from datatrove.data import Document

        keep = []
        for i, t in enumerate(texts):
            doc = Document(text=t, id=str(i))
            keep.append(all(p.filter(doc) is True for p in peers))
        return keep

    def run_ours(texts: list[str], batch_docs: int = 256) -> list[bool]:
        # batches as a pipeline sends them: the analyser remembers only the last call's documents
        keep: list[bool] = []
        for i in range(0, len(texts), batch_docs):
            t = pa.table({"text": texts[i : i + batch_docs], "__i": list(range(len(texts[i : i + batch_docs])))})
            for step in ours:
                t = step(t)
            kept = set(t.column("__i").to_pylist())
            keep += [j in kept for j in range(min(batch_docs, len(texts) - i))]
        return keep

    def run_sudachi(texts: list[str]) -> None:
        tok = sudachi_words()._tokenizer
        for t in texts:
            for _, chunk in _chunks(t):
                tok.tokenize(chunk)

    run_peer(docs[:2])
    run_ours(docs[:2])
    t_peer, t_ours, ratio = paired(lambda: run_peer(docs), lambda: run_ours(docs), repeat, 1)
    t_sudachi = best_time(lambda: run_sudachi(docs), repeat)
    k_peer, k_ours = run_peer(docs), run_ours(docs)
    agree = sum(a == b for a, b in zip(k_ours, k_peer)) / len(docs)
    print(f"Sudachi alone (mode A), one call per document    {mb(docs) / t_sudachi:6.2f} MB/s")
    print(f"datatrove, 3 filters (spaCy ja -> SudachiPy)     {mb(docs) / t_peer:6.2f} MB/s")
    print(f"corpusforge ja-fineweb2                          {mb(docs) / t_ours:6.2f} MB/s  {ratio:4.1f}x  "
          f"agreement {agree:.1%} (kept: datatrove {sum(k_peer)}, corpusforge {sum(k_ours)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=int, default=4, help="corpusforge runs over the documents this many times")
    ap.add_argument("--only", choices=["en", "ja", "fw2", "rep"], default=None)
    args = ap.parse_args()
    print(f"affinity: {sorted(os.sched_getaffinity(0))}")
    if args.only in (None, "en"):
        english(args.repeat, args.scale)
    if args.only in (None, "ja"):
        japanese(args.repeat, args.scale)
    if args.only in (None, "fw2"):
        fineweb2_japanese(args.repeat)
    if args.only in (None, "rep"):
        char_repetition(args.repeat, args.scale)


if __name__ == "__main__":
    main()
