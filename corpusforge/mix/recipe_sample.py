"""Local sample inputs for ``pipelines/llm-jp-v1.yaml``, in the layouts of the real sources.

    python -m corpusforge.mix.recipe_sample [--data ../shared/data] [--out out/llm-jp-v1-inputs]

The real corpora (mC4-ja, Wikipedia dumps, the Pile, The Stack) are terabytes; this writes a
few megabytes of real text from ``../shared/data`` in each source's own file layout, so the
recipe runs end to end on a workstation with no network:

=============  ==========================================  ====================================
source         layout                                      text taken from
=============  ==========================================  ====================================
``mc4-ja``     ``c4-ja.tfrecord-*.json.gz``: text, url,    ABEJA Common Crawl documents and
               timestamp                                   livedoor news articles
``wiki-ja``    JSONL: id, title, text (with a 脚注 section)  Aozora Bunko (stand-in for articles)
``wiki-en``    JSONL: id, title, text (with References)    Botchan (stand-in for articles)
``pile``       ``*.jsonl.zst``: text, meta.pile_set_name   dolma Common Crawl samples as
                                                           Pile-CC, Botchan as Books3 (dropped)
``stack``      Parquet: content, hexsha, lang,             real source files
               max_stars_repo_path
=============  ==========================================  ====================================
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from corpusforge.io.atomic import atomic_write, write_bytes


def _gz(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


def _chunks(lines: list[str], size: int) -> list[str]:
    return ["\n".join(lines[i : i + size]).strip() for i in range(0, len(lines), size)]


def build(data: Path, out: Path) -> dict[str, int]:
    """Write the five inputs under ``out``; returns documents per source."""
    counts: dict[str, int] = {}
    # mC4-ja: real Japanese web pages with their URLs
    mc4 = []
    abeja = json.loads(_gz(data / "ja/abeja_cc_ja_keyphrase/dataset.json.gz"))
    for group in abeja.values():
        for d in group:
            mc4.append({"text": d["text"], "url": d["url"], "timestamp": "2020-01-01T00:00:00Z"})
    with tarfile.open(data / "ja/livedoor_news/ldcc_subset_100_per_category.tar.gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.count("/") == 2 and "LICENSE" not in m.name:
                url, date, body = tar.extractfile(m).read().decode("utf-8").split("\n", 2)
                mc4.append({"text": body, "url": url.strip(), "timestamp": date.strip()})
    (out / "mc4-ja").mkdir(parents=True, exist_ok=True)
    write_bytes(str(out / "mc4-ja" / "c4-ja.tfrecord-00000-of-01024.json.gz"), gzip.compress(_jsonl(mc4), mtime=0))
    counts["mc4-ja"] = len(mc4)

    # Wikipedia stand-ins: long prose with a footnote section to be cut
    neko = [x for x in _gz(data / "ja/aozora_neko/wagahaiwa_nekodearu.txt.gz").split("\n") if x.strip()]
    kojiki = [x for x in _gz(data / "ja/aozora_kojiki/03gendaigoyaku_kojiki.txt.utf8.gz").split("\n") if x.strip()]
    wiki_ja = [{"id": f"ja-{i}", "title": t[:20], "text": f"{t}\n脚注\n^ 青空文庫の底本による。"}
               for i, t in enumerate(_chunks(neko, 8) + _chunks(kojiki, 8))]
    botchan = [x for x in _gz(data / "en/botchan.txt.gz").replace("\r\n", "\n").split("\n") if x.strip()]
    en_chunks = _chunks(botchan, 8)
    wiki_en = [{"id": f"en-{i}", "title": t[:20], "text": f"{t}\nReferences\n^ Project Gutenberg edition."}
               for i, t in enumerate(en_chunks[: len(en_chunks) // 2])]
    for name, rows in (("wiki-ja", wiki_ja), ("wiki-en", wiki_en)):
        (out / name).mkdir(parents=True, exist_ok=True)
        write_bytes(str(out / name / f"{name}.jsonl"), _jsonl(rows))
        counts[name] = len(rows)

    # the Pile: Common Crawl text as Pile-CC, a book as Books3 (which the recipe drops)
    pile = []
    for f in sorted((data / "en/dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        pile += [{"text": json.loads(x)["text"], "meta": {"pile_set_name": "Pile-CC"}}
                 for x in _gz(f).split("\n") if x]
    pile += [{"text": t, "meta": {"pile_set_name": "Books3"}} for t in en_chunks[len(en_chunks) // 2 :]]
    (out / "pile").mkdir(parents=True, exist_ok=True)
    write_bytes(str(out / "pile" / "00.jsonl.zst"), zstandard.ZstdCompressor(level=3).compress(_jsonl(pile)))
    counts["pile"] = len(pile)

    # The Stack: real source files in its Parquet layout
    code = [json.loads(x) for x in _gz(data / "code/code_samples.jsonl.gz").split("\n") if x]
    stack = pa.table({
        "content": [c["text"] for c in code],
        "hexsha": [hashlib.sha1(c["text"].encode()).hexdigest() for c in code],
        "max_stars_repo_path": [c["path"] for c in code],
        "lang": [c.get("language") or "" for c in code],
    })
    (out / "stack").mkdir(parents=True, exist_ok=True)
    with atomic_write(str(out / "stack" / "train-00000-of-00001.parquet")) as f:
        pq.write_table(stack, f)
    counts["stack"] = stack.num_rows
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data", help="the shared real-data folder")
    ap.add_argument("--out", default="out/llm-jp-v1-inputs")
    args = ap.parse_args()
    for source, n in build(Path(args.data), Path(args.out)).items():
        print(f"{args.out}/{source}: {n} documents")


if __name__ == "__main__":
    main()
