"""Text fidelity and pages/s of ``extract_html``'s extractors on pages with a reference text.

    taskset -c 0 python benchmarks/extract_fidelity.py [--repeat 3]

Input: the shared ``html/mozilla_readability_testpages`` (each page: its source HTML and the
readable HTML a careful extractor should keep). The reference text is the readable HTML with a
line break at every block element, tags dropped, whitespace collapsed; the same is done to each
extractor's output before comparing, so formatting differences (blank lines, bullets) do not
count. Per page:

* token F1 (and its precision and recall): bags of tokens, a token being a run of letters or
  digits, or one CJK character (Japanese has no spaces), so the score means the same in both
  languages; precision falls with kept boilerplate, recall with lost article text;
* sentences found: the share of the reference's sentences (split after . ! ? 。 ！ ？, at least
  20 characters) that occur verbatim in the output, white space ignored on both sides (the
  reference's own line breaks do not always fall where an extractor's do).

Scores are means over the pages (a page with no output scores 0). Speed: the ``extract_html``
step as a pipeline runs it (subprocess worker, one batch of all pages), best of ``--repeat``
rounds alternating between extractors; pages/s per core when pinned with taskset, and pages
per CPU-second (this process and the worker), the steadier figure on a machine other jobs load.

Japanese pages without a reference: the 29 ClueWeb09 EUC-JP shop pages of the shared WARC
file, extracted by each contender with ``include_tables`` on (the step's default) and off (the
Common Crawl recipes' setting): characters, distinct texts (the pages share a ranking sidebar,
which a text made of it repeats) and the share of the letters that are kana or kanji.
"""

from __future__ import annotations

import argparse
import gzip
import html as htmllib
import os
import re
import time
from collections import Counter
from pathlib import Path

import lxml.html
import pyarrow as pa

from corpusforge.errors import ErrorRecord
from corpusforge.extract import ExtractHtml
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.warc import WarcInput
from corpusforge.schema import make_batch

PAGES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "html" / "mozilla_readability_testpages" / "pages"
JA_PAGES = ("hukumusume", "yahoo-4")
JA_WARC = PAGES.parents[2] / "warc" / "resiliparse__clueweb-quirk.warc.gz"
#: (label, extract_html parameters)
CONTENDERS = [
    ("trafilatura (default: recall)", {}),
    ("trafilatura focus: balanced", {"focus": "balanced"}),
    ("trafilatura focus: precision", {"focus": "precision"}),
    ("trafilatura fast: true", {"fast": True}),
    ("trafilatura precision, fast", {"focus": "precision", "fast": True}),
    ("resiliparse", {"extractor": "resiliparse"}),
]
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_BLOCK = re.compile(r"<(?:/?(?:p|div|h[1-6]|li|ul|ol|br|tr|td|th|table|blockquote|pre|section|article|"
                    r"header|footer|figure|figcaption|dd|dt|dl)\b)[^>]*>", re.I)
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]|[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def reference_text(readable_html: str) -> str:
    """The readable HTML as text, one line per block element."""
    marked = _BLOCK.sub("\n", readable_html)
    if not marked.strip():
        return ""
    return lxml.html.fromstring(f"<div>{marked}</div>").text_content()


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(text)).strip()


def _nospace(text: str) -> str:
    return re.sub(r"\s+", "", htmllib.unescape(text))


def tokens(text: str) -> Counter:
    return Counter(t.lower() for t in _TOKEN.findall(text))


def f1(reference: Counter, got: Counter) -> tuple[float, float, float]:
    """(precision, recall, F1) of the bag ``got`` against the bag ``reference``."""
    common = sum((reference & got).values())
    if not common:
        return 0.0, 0.0, 0.0
    p, r = common / sum(got.values()), common / sum(reference.values())
    return p, r, 2 * p * r / (p + r)


def sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        out += [s for s in (normalise(x) for x in _SENTENCE_END.split(line)) if len(s) >= 20]
    return out


def load() -> list[tuple[str, bytes, str]]:
    """(name, source HTML bytes, reference text) of every page with a non-empty reference."""
    pages = []
    for folder in sorted(PAGES.iterdir()):
        source = gzip.decompress((folder / "source.html.gz").read_bytes())
        ref = reference_text(gzip.decompress((folder / "expected.html.gz").read_bytes()).decode("utf-8"))
        if normalise(ref):
            pages.append((folder.name, source, ref))
    return pages


def _cpu_of(pid: int) -> float:
    """CPU seconds a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def extract(params: dict, pages: list[tuple[str, bytes, str]]) -> tuple[float, list[str], float]:
    """Seconds for the step to extract every page (worker already started), the texts
    (empty for a page the step removed) and the CPU seconds of this process and the worker."""
    n = len(pages)
    batch = make_batch([p[0] for p in pages], [""] * n, "bench", "pages", list(range(n)), [None] * n,
                       {"html": pa.array([p[1] for p in pages], "binary"),
                        "charset": pa.array(["utf-8"] * n)})
    step = ExtractHtml(timeout=60, memory_limit=None, **params)
    step.setup()
    step._extract([(b"<html><body><p>warm up</p></body></html>", None, None)])  # start the worker
    pid = step._proc.pid
    c0, w0, t0 = time.process_time(), _cpu_of(pid), time.perf_counter()
    res = step.apply(batch)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0 + _cpu_of(pid) - w0
    step.close()
    by_id = dict(zip(res.out.column("id").to_pylist(), res.out.column("text").to_pylist()))
    return dt, [by_id.get(p[0], "") for p in pages], cpu


def scores(pages: list[tuple[str, bytes, str]], texts: list[str]) -> dict[str, float]:
    rows = []
    for (_, _, ref), text in zip(pages, texts):
        p, r, f = f1(tokens(ref), tokens(text))
        sents = sentences(ref)
        flat = _nospace(text)
        found = sum(_nospace(s) in flat for s in sents) / len(sents) if sents else None
        rows.append((p, r, f, found))
    n = len(rows)
    with_sents = [x[3] for x in rows if x[3] is not None]
    return {"precision": sum(x[0] for x in rows) / n, "recall": sum(x[1] for x in rows) / n,
            "f1": sum(x[2] for x in rows) / n, "sentences": sum(with_sents) / len(with_sents)}


def japanese_warc(params: dict) -> str:
    """Pages with text, distinct texts, characters and kana/kanji share of the letters, on the
    ClueWeb09 shop pages, with tables on and off."""
    cfg = WarcInput(type="warc", path=str(JA_WARC))
    batches = [b for unit in warc.plan(cfg, 0) for b in warc.read(unit, cfg, "cc", BatchConfig())
               if not isinstance(b, ErrorRecord)]
    out = []
    for tables in (True, False):
        step = ExtractHtml(timeout=60, include_tables=tables, **params)
        step.setup()
        texts = [t for b in batches for t in step.apply(b).out.column("text").to_pylist()]
        step.close()
        letters = [c for t in texts for c in t if c.isalpha()]
        share = sum(1 for c in letters if _JAPANESE.match(c)) / max(1, len(letters))
        out.append(f"{len(texts):>3} {len(set(texts)):>3} {sum(map(len, texts)):>6,} {share:6.1%}")
    return "   ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pages = load()
    best: dict[str, tuple[float, list[str], float]] = {}
    for _ in range(args.repeat):
        for label, params in CONTENDERS:
            r = extract(params, pages)
            old = best.get(label, (float("inf"), [], float("inf")))
            best[label] = (min(r[0], old[0]), r[1], min(r[2], old[2]))  # each the least disturbed round
    ja = [i for i, p in enumerate(pages) if p[0] in JA_PAGES]
    print(f"{len(pages)} pages with a reference text ({len(ja)} Japanese: {', '.join(JA_PAGES)})")
    print(f"{'extractor':30} {'pages/s':>8} {'/CPU-s':>7} {'F1':>6} {'prec':>6} {'recall':>6} {'sents':>6}   "
          f"Japanese: {'F1':>6} {'sents':>6}   ClueWeb09 (tables on | off): pages, distinct, chars, ja share")
    for label, params in CONTENDERS:
        dt, texts, cpu = best[label]
        s = scores(pages, texts)
        j = scores([pages[i] for i in ja], [texts[i] for i in ja])
        print(f"{label:30} {len(pages) / dt:8.1f} {len(pages) / cpu:7.1f} {s['f1']:6.1%} {s['precision']:6.1%} {s['recall']:6.1%} "
              f"{s['sentences']:6.1%}             {j['f1']:6.1%} {j['sentences']:6.1%}   "
              f"{japanese_warc(params) if JA_WARC.exists() else ''}")


if __name__ == "__main__":
    main()
