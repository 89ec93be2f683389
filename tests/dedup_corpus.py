"""A planted-duplicate corpus for the dedup tests, made from public-domain novels in
../shared/data (吾輩は猫である, Botchan): originals, exact duplicates (with width,
punctuation and spacing variants), near duplicates with a few edits, and documents
that share only part of their text (below the threshold)."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from corpusforge.dedup.minhash import ShingleSpec

from conftest import shared_data


def sentences(lang: str) -> list[str]:
    if lang == "ja":
        with gzip.open(shared_data("ja", "aozora_neko", "wagahaiwa_nekodearu.txt.gz"), "rt",
                       encoding="utf-8") as f:
            text = f.read()
        return [s + "。" for s in text.replace("\n", "").replace("\u3000", "").split("。") if len(s) > 15]
    with gzip.open(shared_data("en", "botchan.txt.gz"), "rt", encoding="utf-8") as f:
        text = f.read()
    return [s.strip() + "." for s in text.replace("\n", " ").split(".") if len(s.split()) > 6]


def _join(parts: list[str], lang: str) -> str:
    return ("" if lang == "ja" else " ").join(parts)


def _edit(text: str, lang: str, edits: int, rng: random.Random) -> str:
    if lang == "ja":
        chars = list(text)
        for _ in range(edits):
            chars[rng.randrange(len(chars))] = rng.choice("あいうえおかきくけこ")
        return "".join(chars)
    words = text.split(" ")
    for _ in range(edits):
        words[rng.randrange(len(words))] = rng.choice(["cat", "river", "lamp", "stone", "bread"])
    return " ".join(words)


def _variant(text: str, lang: str) -> str:
    """Same text after normalisation: width, punctuation and spacing differ."""
    if lang == "ja":
        return "　" + text.replace("。", "。 ").replace("、", "，") + "！"
    return text.upper().replace(", ", " ,  ") + " !!"


@dataclass
class Corpus:
    #: file name -> records
    files: dict[str, list[dict]] = field(default_factory=dict)
    #: id -> id of the original it duplicates, and the kind
    exact: dict[str, str] = field(default_factory=dict)
    near: dict[str, str] = field(default_factory=dict)
    #: ids of documents that share text with an original but stay below the threshold
    distinct: set[str] = field(default_factory=set)
    text: dict[str, str] = field(default_factory=dict)

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, records in self.files.items():
            p = folder / name
            p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
            paths.append(p)
        return paths


def planted(originals: int = 24, seed: int = 0, files: int = 2, prefix: str = "", shift: int = 0) -> Corpus:
    """``originals`` documents per language in the first file; duplicates and
    below-threshold documents spread over all files (so most cross files). ``shift``
    moves every document ``shift`` sentences on (another, distinct corpus)."""
    rng = random.Random(seed)
    corpus = Corpus({f"{prefix}part{i}.jsonl": [] for i in range(files)})
    names = list(corpus.files)
    for lang in ("ja", "en"):
        sents = sentences(lang)
        stride = len(sents) // (originals + 1)
        for k in range(originals):
            base = sents[k * stride + shift: k * stride + shift + 12]
            oid = f"{prefix}{lang}-orig-{k:03d}"
            text = _join(base, lang)
            corpus.files[names[0]].append({"id": oid, "text": text, "lang": lang, "url": f"https://x.example/{oid}"})
            corpus.text[oid] = text
            target = names[k % files]
            if k % 3 == 0:
                did = f"{prefix}{lang}-exact-{k:03d}"
                corpus.files[target].append({"id": did, "text": _variant(text, lang), "lang": lang,
                                             "url": f"https://y.example/{did}"})
                corpus.exact[did] = oid
            if k % 3 == 1:
                did = f"{prefix}{lang}-near-{k:03d}"
                edits = 2 if lang == "ja" else 1
                corpus.files[target].append({"id": did, "text": _edit(text, lang, edits, rng), "lang": lang,
                                             "url": f"https://y.example/{did}"})
                corpus.near[did] = oid
            if k % 3 == 2:
                did = f"{prefix}{lang}-half-{k:03d}"
                mid = k * stride + shift + stride // 2
                other = sents[mid: mid + 6]
                corpus.files[target].append({"id": did, "text": _join(base[:6] + other, lang), "lang": lang,
                                             "url": f"https://y.example/{did}"})
                corpus.distinct.add(did)
    return corpus


def shingle_set(text: str, spec: ShingleSpec) -> set[str]:
    """The reference shingles of a normalised text (what the kernel hashes)."""
    units = list(text) if spec.mode == "char" else text.split()
    if not units:
        return set()
    sep = "" if spec.mode == "char" else " "
    if len(units) < spec.n:
        return {sep.join(units)}
    return {sep.join(units[i:i + spec.n]) for i in range(len(units) - spec.n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0
