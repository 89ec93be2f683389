"""A small real corpus for the search tests, written as a run's output: Japanese (吾輩は猫である),
English (Botchan) and code, in Parquet shards under ``lang=`` partition folders, plus one
hostile document; and the editing of a paragraph into a known-item query."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import shared_data

HOSTILE = "Notes <script>window.__pwned=1</script> and <img src=x onerror=\"window.__pwned=2\"> end."
HOSTILE_ID = "../../etc/passwd"


def _chunks(paragraphs: list[str], size: int) -> list[str]:
    docs, current = [], ""
    for p in paragraphs:
        current = f"{current}\n{p}" if current else p
        if len(current) >= size:
            docs.append(current)
            current = ""
    return docs


def documents() -> list[dict]:
    """About 200 documents, each with a unique id; ``lang`` is ja, en or code."""
    neko = gzip.decompress(shared_data("ja", "aozora_neko", "wagahaiwa_nekodearu.txt.gz").read_bytes()).decode()
    botchan = gzip.decompress(shared_data("en", "botchan.txt.gz").read_bytes()).decode()
    code_file = shared_data("code", "code_samples.jsonl.gz")
    ja = _chunks([p.strip() for p in neko.split("\n")[40:] if p.strip()], 500)[:80]
    en = _chunks([line.strip() for line in botchan.split("\n")[100:] if line.strip()], 700)[:80]
    with gzip.open(code_file, "rt", encoding="utf-8") as f:
        code = [json.loads(line)["text"][:3000] for line, _ in zip(f, range(25))]
    docs = [{"id": f"ja-{i}", "text": t, "lang": "ja"} for i, t in enumerate(ja)]
    docs += [{"id": f"en-{i}", "text": t, "lang": "en"} for i, t in enumerate(en)]
    docs += [{"id": f"code-{i}", "text": t, "lang": "code"} for i, t in enumerate(code)]
    docs.append({"id": "ja-unagi", "text": "昼の店で部長はうなぎです、と言った。部長はうなぎですか。", "lang": "ja"})
    docs.append({"id": HOSTILE_ID, "text": HOSTILE, "lang": "en"})
    for d in docs:
        d["source"] = {"ja": "aozora", "en": "gutenberg", "code": "code"}[d["lang"]]
        d["url"] = f"https://example.org/{d['id']}"
    return docs


def write_run(out: Path, docs: list[dict], shards_per_lang: int = 2) -> Path:
    """``docs`` as a run's Parquet output partitioned by language (no lang column in files)."""
    for lang in sorted({d["lang"] for d in docs}):
        mine = [d for d in docs if d["lang"] == lang]
        for s in range(shards_per_lang):
            part = mine[s::shards_per_lang]
            if not part:
                continue
            folder = out / f"lang={lang}"
            folder.mkdir(parents=True, exist_ok=True)
            table = pa.table({k: [d[k] for d in part] for k in ("id", "text", "source", "url")})
            pq.write_table(table, folder / f"part-{s:05d}.parquet")
    return out


def edited(text: str, lang: str, rng: random.Random, chars: int = 240) -> str:
    """A paragraph of ``text`` changed as someone quoting from memory would: for English a
    few words dropped and a few replaced, for Japanese a few characters dropped and replaced."""
    start = rng.randrange(max(1, len(text) - chars))
    piece = text[start:start + chars]
    if lang == "ja":
        out = []
        for ch in piece:
            r = rng.random()
            if r < 0.08:
                continue
            out.append("の" if r < 0.14 else ch)
        return "".join(out)
    words = piece.split()[1:-1]
    out = []
    for w in words:
        r = rng.random()
        if r < 0.12:
            continue
        out.append("thing" if r < 0.2 else w)
    return " ".join(out)
