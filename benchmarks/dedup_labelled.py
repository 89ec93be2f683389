"""A labelled dedup corpus from real documents, for comparing normalisation settings.

Originals are real documents read in place from ``../shared/data``: Japanese — the
livedoor news articles (title and body) and the ABEJA Common Crawl pages; English — the
dolma Common Crawl documents, the pages of dolma's two sample WARC files (text by
trafilatura) and 100-word pieces of Botchan. Originals whose text repeats an earlier
one are dropped, so every original is a distinct document.

Each original gets variants of known kinds (a variant that would equal its original,
such as a case change of a text without Latin letters, is not made):

========== ====================================================== ======== =======
kind       change                                                  exact    near
========== ====================================================== ======== =======
width      ASCII letters/digits <-> full-width, katakana -> half   same     same
           width (Japanese only)
case       headings (short lines) upper case; Japanese: Latin      same     same
           letters upper case
punct      、。「」 -> ，．『』 (Japanese); straight quotes ->      same     same
           curly, dashes, ellipses (English)
space      lines re-wrapped, ideographic-space indents toggled     same     same
           (Japanese); re-wrapped, double spaces (English)
edit       1% of the characters (ja) / words (en) replaced         other    same
one-number one number changed (a date, a count)                    other    same
numbers    every number changed (other prices, scores, dates)     other    other
half       first half of this original + second half of the next  other    other
========== ====================================================== ======== =======

"same" means the variant and its original (and every other "same" variant of it) are
duplicates of each other for that kind of dedup; everything else is a distinct document.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import tarfile
import textwrap
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

EXACT_SAME = ("orig", "width", "case", "punct", "space")
NEAR_SAME = EXACT_SAME + ("edit", "one-number")
KINDS = ("width", "case", "punct", "space", "edit", "one-number", "numbers", "half")


@dataclass
class Labelled:
    texts: list[str] = field(default_factory=list)
    lang: list[str] = field(default_factory=list)
    #: the original a document derives from (its own index for an original)
    orig: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)

    def add(self, text: str, lang: str, orig: int, kind: str) -> None:
        self.texts.append(text)
        self.lang.append(lang)
        self.orig.append(orig)
        self.kind.append(kind)


# ---------------------------------------------------------------- originals

def livedoor() -> list[str]:
    """Title and body of each article (line 1 is the URL, line 2 the date)."""
    out = []
    with tarfile.open(DATA / "ja" / "livedoor_news" / "ldcc_subset_100_per_category.tar.gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.count("/") == 2 and not m.name.endswith("LICENSE.txt"):
                lines = tar.extractfile(m).read().decode("utf-8").split("\n")  # type: ignore[union-attr]
                out.append("\n".join(lines[2:]).strip())
    return out


def abeja() -> list[str]:
    with gzip.open(DATA / "ja" / "abeja_cc_ja_keyphrase" / "dataset.json.gz", "rt", encoding="utf-8") as f:
        return [d["text"] for group in json.load(f).values() for d in group]


def dolma() -> list[str]:
    out = []
    for p in sorted((DATA / "en" / "dolma_cc_samples").glob("data__*documents*.json.gz")) + sorted(
            (DATA / "en" / "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            out += [json.loads(line)["text"] for line in f if line.strip()]
    return out


def dolma_warc() -> list[str]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from trafilatura import extract

    out = []
    for p in sorted((DATA / "warc").glob("dolma__sample-*.warc.gz")):
        with open(p, "rb") as f:
            for rec in ArchiveIterator(f, parse_http=True, record_types=WarcRecordType.response):
                text = extract(rec.reader.read().decode("utf-8", errors="replace")) or ""
                if text:
                    out.append(text)
    return out


def botchan(n: int) -> list[str]:
    with gzip.open(DATA / "en" / "botchan.txt.gz", "rt", encoding="utf-8") as f:
        words = f.read().split()
    return [" ".join(words[i:i + 100]) for i in range(0, len(words) - 100, 100)][:n]


def originals(lang: str, per_lang: int) -> list[str]:
    """Up to ``per_lang`` distinct real documents, the web documents first."""
    docs = livedoor() + abeja() if lang == "ja" else dolma() + dolma_warc() + botchan(per_lang)
    seen: set[str] = set()
    out = []
    for d in docs:
        if d.strip() and d not in seen:
            seen.add(d)
            out.append(d)
    if lang == "ja":  # interleave the two sources, so a small sample has both
        random.Random(0).shuffle(out)
    return out[:per_lang]


# ---------------------------------------------------------------- variants

def _fullwidth_map() -> tuple[dict[str, str], dict[str, str]]:
    """ASCII <-> full-width (U+FF01-FF5E) and full-width katakana -> half width."""
    swap = {}
    for c in range(0x21, 0x7F):
        if chr(c).isalnum():
            swap[chr(c)] = chr(c + 0xFEE0)
            swap[chr(c + 0xFEE0)] = chr(c)
    half = {}
    for c in range(0xFF61, 0xFFA0):
        full = unicodedata.normalize("NFKC", chr(c))
        if len(full) == 1 and unicodedata.name(full, "").startswith("KATAKANA"):
            half.setdefault(full, chr(c))
    for k in range(0x30A1, 0x30FB):  # voiced katakana: base + half-width (semi-)voiced mark
        d = unicodedata.normalize("NFD", chr(k))
        if len(d) == 2 and d[0] in half and d[1] in "\u3099\u309a":
            half[chr(k)] = half[d[0]] + ("\uff9e" if d[1] == "\u3099" else "\uff9f")
    return swap, half


_SWAP, _HALF = _fullwidth_map()
_NUMBER = re.compile(r"[0-9]+|[０-９]+")


def width(text: str) -> str:
    return "".join(_HALF.get(c) or _SWAP.get(c, c) for c in text)


def case(text: str, lang: str) -> str:
    if lang == "ja":
        return text.upper()
    lines = text.split("\n")
    if len(lines) > 1:
        return "\n".join(ln.upper() if len(ln.split()) <= 8 else ln for ln in lines)
    words = text.split(" ")
    return " ".join(words[:8]).upper() + " " + " ".join(words[8:])


def punct(text: str, lang: str) -> str:
    if lang == "ja":
        return text.translate(str.maketrans("、。「」", "，．『』"))
    out, quote = [], 0
    for c in text:
        if c == '"':
            out.append("“" if quote % 2 == 0 else "”")
            quote += 1
        else:
            out.append({"'": "’", "’": "'"}.get(c, c))
    t = "".join(out).replace(" - ", " — ").replace("...", "…")
    return t if t != text else "\n".join(ln + "." if ln and ln[-1].isalnum() else ln for ln in text.split("\n"))


def space(text: str, lang: str) -> str:
    if lang == "ja":
        paras = [p.strip("\u3000 ") for p in text.split("\n") if p.strip()]
        indent = "" if text.lstrip("\n").startswith("\u3000") else "\u3000"
        # re-wrapped at 38 characters, as a fixed-width page would print it
        return "\n\n".join("\n".join(textwrap.wrap(indent + p, 38)) for p in paras)
    paras = [p for p in text.split("\n") if p.strip()]
    wrap = textwrap.TextWrapper(70, break_long_words=False, break_on_hyphens=False)
    return "\n\n".join(wrap.fill(p).replace(". ", ".  ") for p in paras)


def edit(text: str, lang: str, rate: float, rng: random.Random) -> str:
    """``rate`` of the characters (ja) or words (en) replaced, at least one."""
    units = list(text) if lang == "ja" else text.split(" ")
    pool = "あいうえおかきくけこさしすせそ" if lang == "ja" else ["cat", "river", "lamp", "stone", "bread", "moon"]
    where = [i for i in range(len(units)) if units[i].strip() and rng.random() < rate]
    for i in where or [rng.choice([i for i in range(len(units)) if units[i].strip()])]:
        units[i] = rng.choice([p for p in pool if p != units[i]])
    return ("" if lang == "ja" else " ").join(units)


def _other_number(m: re.Match, rng: random.Random) -> str:
    s = m.group()
    full = s[0] >= "０"
    digits = [rng.choice("0123456789") for _ in s]
    while "".join(digits) == (width(s) if full else s):
        digits = [rng.choice("0123456789") for _ in s]
    new = "".join(digits)
    return width(new) if full else new


def numbers(text: str, rng: random.Random, only_one: bool) -> str:
    """One number changed, or every number (only for texts with two or more: with one,
    both variants would be the same text)."""
    found = list(_NUMBER.finditer(text))
    if not found or (not only_one and len(found) < 2):
        return text
    if only_one:
        m = rng.choice(found)
        return text[:m.start()] + _other_number(m, rng) + text[m.end():]
    return _NUMBER.sub(lambda m: _other_number(m, rng), text)


def half(text: str, other: str) -> str:
    return text[: len(text) // 2] + other[len(other) // 2:]


def labelled(per_lang: int, seed: int = 0) -> Labelled:
    """The originals of both languages and their variants (see the module docstring)."""
    rng = random.Random(seed)
    out = Labelled()
    for lang in ("ja", "en"):
        docs = originals(lang, per_lang)
        for i, text in enumerate(docs):
            o = len(out.texts)
            out.add(text, lang, o, "orig")
            variants = {
                "width": width(text) if lang == "ja" else text,
                "case": case(text, lang),
                "punct": punct(text, lang),
                "space": space(text, lang),
                "edit": edit(text, lang, 0.01, rng),
                "one-number": numbers(text, rng, only_one=True),
                "numbers": numbers(text, rng, only_one=False),
                "half": half(text, docs[(i + 1) % len(docs)]),
            }
            for kind, v in variants.items():
                if v != text:
                    out.add(v, lang, o, kind)
    return out
