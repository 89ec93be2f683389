"""Dedup normalisation options (``exact.normalize``, ``minhash.normalize``): each option on
Japanese and English, the kernel against a per-character reference for every option set,
documents that differ only in their numbers through a real pipeline run, the config
checks, the fingerprint, the persistent index and the on-disk table cache."""

from __future__ import annotations

import gzip
import itertools
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.dedup import normalize
from corpusforge.dedup.config import DedupConfig
from corpusforge.dedup.index import IndexMismatchError
from corpusforge.dedup.layout import Layout
from corpusforge.dedup.minhash import text_hashes
from corpusforge.dedup.normalize import Normalization, normalize_for_hash
from corpusforge.engine import run_pipeline
from corpusforge.engine.output import fingerprint

from conftest import conserved, read_output, shared_data

OPTIONS = {"nfkc": (True, False), "case": ("fold", "keep"), "digits": ("keep", "zero"),
           "punctuation": ("strip", "keep"), "whitespace": ("collapse", "keep")}

# (option, value under which the two texts hash alike, the other value, mode, a, b)
CASES = [
    ("nfkc", True, False, "char", "「２０２６年」の予定", "「2026年」の予定"),
    ("nfkc", True, False, "char", "ｻｰﾋﾞｽﾃﾞｰはＬＩＦＥ", "サービスデーはLIFE"),
    ("nfkc", True, False, "word", "the ﬁrst ﬂoor, № ２", "the first floor, No 2"),
    ("whitespace", "collapse", "keep", "char", "吾輩は　猫である。\n名前はまだ無い。", "吾輩は猫である。名前はまだ無い。"),
    ("whitespace", "collapse", "keep", "word", "Hello   world,\n\tmy  friend", "Hello world, my friend"),
    ("case", "fold", "keep", "char", "東京タワーとTOKYO SKYTREE", "東京タワーとtokyo skytree"),
    ("case", "fold", "keep", "word", "Tokyo Tower opened in 1958", "TOKYO TOWER opened in 1958"),
    ("punctuation", "strip", "keep", "char", "吾輩は猫である、名前はまだ無い。", "吾輩は猫である,名前はまだ無い."),
    ("punctuation", "strip", "keep", "word", "Well, it's done — finally!", "Well it’s done finally"),
    ("digits", "zero", "keep", "char", "２０２６年３月の気温は１２度", "2027年4月の気温は15度"),
    ("digits", "zero", "keep", "word", "Price: 120 dollars on 3 May", "Price: 450 dollars on 9 May"),
]


def _hash(texts: list[str], mode: str, opts: Normalization) -> list[int]:
    return text_hashes(normalize_for_hash(pa.array(texts), mode, opts)).tolist()  # type: ignore[arg-type]


@pytest.mark.parametrize(("option", "same", "other", "mode", "a", "b"), CASES)
def test_each_option_japanese_and_english(option, same, other, mode, a, b) -> None:
    """With every other option at its default, one option decides whether a and b hash alike."""
    alike = Normalization(**{option: same})
    apart = Normalization(**{option: other})
    ha, hb = _hash([a, b], mode, alike)
    assert ha == hb, normalize_for_hash(pa.array([a, b]), mode, alike).to_pylist()  # type: ignore[arg-type]
    ha, hb = _hash([a, b], mode, apart)
    assert ha != hb


def test_defaults_and_separators() -> None:
    texts = pa.array(["「２０２６年」　ＡＢＣ、いい。", "Hello,   WORLD! It's 2026…\n", None])
    assert normalize_for_hash(texts, "char").to_pylist() == ["2026年abcいい", "helloworldits2026", ""]
    assert normalize_for_hash(texts, "word").to_pylist() == ["2026年 abc いい", "hello world it s 2026", ""]
    # a stripped mark next to kept whitespace adds no space: only the whitespace stays
    # (NFKC makes the ideographic space an ASCII one; without NFKC it stays itself)
    assert normalize_for_hash(texts, "word", Normalization(whitespace="keep")).to_pylist() == [
        "2026年 abc いい", "hello   world it s 2026\n", ""]
    assert normalize_for_hash(texts, "word", Normalization(whitespace="keep", nfkc=False)).to_pylist()[0] == \
        "２０２６年\u3000ａｂｃ いい"
    nothing = Normalization(nfkc=False, case="keep", punctuation="keep", whitespace="keep")
    assert normalize_for_hash(texts, "char", nothing).to_pylist() == [texts[0].as_py(), texts[1].as_py(), ""]


def _is_space(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] == "Z"


def _reference(text: str | None, mode: str, o: Normalization) -> str:
    """The rules one character at a time in Python (slow, obviously right)."""
    t = text or ""
    t = unicodedata.normalize("NFKC", t) if o.nfkc else t
    t = t.lower() if o.case == "fold" else t
    out: list[str] = []
    pending = False
    for ch in t:
        cat = unicodedata.category(ch)
        space = _is_space(ch)
        if (cat[0] in "PS" and o.punctuation == "strip") or (space and o.whitespace == "collapse"):
            pending = pending or (mode == "word" and bool(out) and not _is_space(out[-1]))
            continue
        if pending and not space:
            out.append(" ")
        pending = False
        out.append("0" if cat == "Nd" and o.digits == "zero" else ch)
    return "".join(out)


def test_kernel_matches_reference_for_every_option_set() -> None:
    with gzip.open(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz"), "rt", encoding="utf-8") as f:
        data = json.load(f)
    ja = [d["text"] for d in data["length_200"] + data["length_2000"][:10]]
    with gzip.open(shared_data("en", "botchan.txt.gz"), "rt", encoding="utf-8") as f:
        en = [p for p in f.read().split("\n\n") if p.strip()][100:160]
    edge = [None, "", " !x! ", "ｶﾞｷﾞ ﾊﾟﾝ Cafe\u0301 CAFÉ ㍻ ﬁne ⑴ 🎉", "「２０２６年」　2026年、。,.", "a,\tb \u3000c"]
    texts = pa.array(ja + en + edge)
    py = texts.to_pylist()
    for values in itertools.product(*OPTIONS.values()):
        opts = Normalization(**dict(zip(OPTIONS, values)))
        for mode in ("char", "word"):
            got = normalize_for_hash(texts, mode, opts).to_pylist()  # type: ignore[arg-type]
            assert got == [_reference(t, mode, opts) for t in py], (opts, mode)


def test_table_cache_is_keyed_on_the_options(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CORPUSFORGE_CACHE", str(tmp_path))
    normalize.tables.cache_clear()
    try:
        texts = pa.array(["ＡＢＣ２０２６"])
        assert normalize_for_hash(texts, "char", Normalization(nfkc=False)).to_pylist() == ["ａｂｃ２０２６"]
        assert normalize_for_hash(texts, "char", Normalization(case="keep")).to_pylist() == ["ABC2026"]
        files = sorted(p.name for p in (tmp_path / "corpusforge").glob("normtable-*.npz"))
        assert len(files) == 2 and len({f.split("-u")[0] for f in files}) == 2
        normalize.tables.cache_clear()  # read back from disk: the same tables per option set
        assert normalize_for_hash(texts, "char", Normalization(nfkc=False)).to_pylist() == ["ａｂｃ２０２６"]
    finally:
        normalize.tables.cache_clear()


# ---------------------------------------------------------------- through a pipeline

def _renumber(text: str) -> str:
    """Every digit (ASCII or full-width) one up: other dates, counts, prices."""
    return re.sub(r"[0-9０-９]", lambda m: chr(ord(m.group()) - 9) if m.group() in "9９"
                  else chr(ord(m.group()) + 1), text)


def _width(text: str) -> str:
    """ASCII digits to full-width and full-width to ASCII: the same numbers."""
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else chr(ord(c) - 0xFEE0) if "０" <= c <= "９"
                   else c for c in text)


@pytest.fixture(scope="module")
def number_docs(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Real short, number-dense documents (Japanese Common Crawl pages with full-width and
    ASCII digits, an English booking page and a catalogue page), each with a copy whose
    numbers all differ, and two copies that differ only in width or case."""
    with gzip.open(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz"), "rt", encoding="utf-8") as f:
        short = json.load(f)["length_200"]
    with gzip.open(shared_data("en", "dolma_cc_samples", "data__provided__documents__000.json.gz"), "rt",
                   encoding="utf-8") as f:
        web = [json.loads(line) for line in f]
    base = {"ja-noise": (short[5]["text"], "ja"), "ja-reuters": (short[26]["text"], "ja"),
            "en-booking": (web[8]["text"], "en"), "en-catalogue": (web[2]["text"][:1500], "en")}
    rows = []
    for did, (text, lang) in base.items():
        rows.append({"id": did, "text": text, "lang": lang})
        rows.append({"id": f"{did}-renumbered", "text": _renumber(text), "lang": lang})
    rows.append({"id": "ja-obit", "text": short[7]["text"], "lang": "ja"})
    rows.append({"id": "ja-obit-width", "text": _width(short[7]["text"]), "lang": "ja"})
    rows.append({"id": "en-catalogue-case", "text": web[2]["text"][:1500].upper(), "lang": "en"})
    src = tmp_path_factory.mktemp("numbers") / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return src, {r["id"]: r["text"] for r in rows}


def _run(src: Path, out: Path, exact: str, near: str):
    yaml = f"""
inputs: [{{type: jsonl, path: {src}, metadata: [lang]}}]
stages:
  - dedup:
      exact: {{on: [text], normalize: {{{exact}}}}}
      minhash: {{threshold: 0.8, normalize: {{{near}}}}}
output: {{path: {out}}}
"""
    stats = conserved(run_pipeline(pipeline_from_yaml(yaml), workers=1))
    kept = set(read_output(out).column("id").to_pylist())
    rj = read_output(out / "_rejects").to_pylist() if (out / "_rejects").exists() else []
    reasons = {r["id"]: r["reason"] for r in rj}
    # nothing lost: every document is kept or removed with a reason, once
    d = stats.steps[-1]
    assert d.docs_in == 11 == len(kept) + len(reasons) and not kept & set(reasons)
    assert d.docs_out == len(kept) and d.removed == Counter(reasons.values())
    return kept, reasons


def test_numbers_kept_with_digits_keep_removed_with_digits_zero(number_docs, tmp_path: Path) -> None:
    src, texts = number_docs
    renumbered = {i for i in texts if i.endswith("-renumbered")}
    same = {"ja-obit-width": "duplicate_exact", "en-catalogue-case": "duplicate_exact"}
    # the defaults (digits: keep for both): other numbers are another document; the same
    # numbers in full width, or the same text in upper case, are still the same document
    kept, reasons = _run(src, tmp_path / "keep", "", "")
    assert renumbered <= kept and reasons == same
    # digits: zero for exact dedup: the renumbered copies are exact duplicates
    kept, reasons = _run(src, tmp_path / "zero-exact", "digits: zero", "")
    assert not renumbered & kept
    assert reasons == same | {i: "duplicate_exact" for i in renumbered}
    # digits: zero for near dedup only: found by MinHash instead (Jaccard 1 after mapping)
    kept, reasons = _run(src, tmp_path / "zero-near", "", "digits: zero")
    assert reasons == same | {i: "duplicate_near" for i in renumbered}


# ---------------------------------------------------------------- config, fingerprint, index

YAML = """\
inputs: [{{type: jsonl, path: {src}}}]
stages:
  - dedup:
      exact:
        on: [text]
        normalize: {{digits: keep}}
      minhash:
        threshold: 0.8
        normalize:
          nfkc: true
          whitespace: collapse
output: {{path: {out}}}
"""


@pytest.mark.parametrize(("old", "new", "line", "key"), [
    ("digits: keep", "digits: zeros", 6, "stages[0].dedup.exact.normalize.digits"),
    ("nfkc: true", "nfkc: sometimes", 10, "stages[0].dedup.minhash.normalize.nfkc"),
    ("whitespace: collapse", "whitespace: strip", 11, "stages[0].dedup.minhash.normalize.whitespace"),
    ("digits: keep", "digit: keep", 6, "stages[0].dedup.exact.normalize.digit"),
])
def test_bad_normalize_value_exit_2_with_line(tmp_path: Path, old, new, line, key) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "吾輩は猫である"}\n', encoding="utf-8")
    good = YAML.format(src=src, out=tmp_path / "out")
    p = tmp_path / "p.yaml"
    p.write_text(good, encoding="utf-8")
    assert CliRunner().invoke(app, ["validate", str(p)]).exit_code == 0
    p.write_text(good.replace(old, new), encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", str(p)], env={"COLUMNS": "300"})
    assert r.exit_code == 2, r.output
    assert f"{p}:{line}: {key}" in r.output.replace("\n", ""), r.output


def test_fingerprint_changes_with_the_options(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "x"}\n', encoding="utf-8")
    base = YAML.format(src=src, out=tmp_path / "out")
    prints = {fingerprint(pipeline_from_yaml(base.replace("digits: keep", f"digits: {d}").replace(
        "whitespace: collapse", f"whitespace: {w}")), []) for d in ("keep", "zero") for w in ("collapse", "keep")}
    assert len(prints) == 4
    # the resolved defaults are part of it: what a run did, not only what its YAML said
    body = pipeline_from_yaml(base).build_stages()[0].config.model_dump(mode="json")
    assert body["minhash"]["normalize"] == {"nfkc": True, "case": "fold", "digits": "keep",
                                            "punctuation": "strip", "whitespace": "collapse"}


def _layout(cfg: DedupConfig) -> Layout:
    return Layout(cfg, "", (), (), (), ("band",) * 9 + ("text",), 9, 13)


def test_index_parameters_name_the_normalisation(tmp_path: Path) -> None:
    legacy = Normalization(digits="zero")
    old = DedupConfig.model_validate({"exact": {"normalize": legacy.model_dump()},
                                      "minhash": {"normalize": legacy.model_dump()}})
    # the options an index was built with before they existed: the same parameters as then
    assert "normalize" not in _layout(old).params()
    new = DedupConfig.model_validate({"minhash": {}})
    assert _layout(new).params()["normalize"]["exact"]["digits"] == "keep"
    # a run with other options than the index's is refused (its keys cannot be compared)
    from corpusforge.dedup.index import DedupIndex

    index = DedupIndex(str(tmp_path / "index"))
    index.add_segment("seg-00000-a", [], _layout(new).params(), "a")
    index.check(_layout(new).params())
    with pytest.raises(IndexMismatchError):
        index.check(_layout(old).params())
