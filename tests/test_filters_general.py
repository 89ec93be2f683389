"""General filters: NG words, URL blocklists, PII masking, language score, code rules, kernels."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

from corpusforge.filters import CodeQuality, LangScore, LengthFilter, NgWords, PiiMask, UrlFilter
from corpusforge.filters import _text_stats as ts
from corpusforge.filters._keywords import KeywordMatcher
from corpusforge.resources import PresetError, available, load_words


def score(step, **cols) -> list[dict]:
    return step.score(pa.table(cols)).to_pylist()


# --- kernels ----------------------------------------------------------------------------


def test_lines_follow_splitlines():
    texts = ["a\nb\n", "", "x\r\ny\rz", "\n\nq", "one"]
    p = ts.lines(pa.array(texts))
    got = [[] for _ in texts]
    for value, parent in zip(p.values.to_pylist(), p.parent):
        got[parent].append(value)
    assert got == [t.splitlines() for t in texts]


def test_words_follow_str_split():
    texts = ["  a  b ", "", "日本語 テキスト\tです\n", "x"]
    p = ts.words(pa.array(texts))
    got = [[] for _ in texts]
    for value, parent in zip(p.values.to_pylist(), p.parent):
        got[parent].append(value)
    assert got == [t.split() for t in texts]


def test_codepoints_decode_a_sliced_batch():
    arr = pa.array(["xx", "猫だ", "", "ab"]).slice(1)
    cps, parent = ts.codepoints(arr)
    assert "".join(map(chr, cps)) == "猫だab"
    assert parent.tolist() == [0, 0, 2, 2]


@pytest.mark.parametrize("whole", [False, True])
def test_keyword_matcher_agrees_with_regex_findall(whole):
    words = ["猫", "吾輩", "吾輩は猫", "人間", "the cat", "cat", "ー"]
    texts = ["吾輩は猫である。吾輩は人間ではない。", "The cat sat; a cat-like concat.", "", "ーーー"]
    km = KeywordMatcher(words, whole_words=whole, ignore_case=True)
    hits, chars = km.scan(pa.array(texts))
    alts = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
    # whole words: not next to an ASCII letter, digit or underscore (Japanese neighbours are fine)
    pat = re.compile(rf"(?<![A-Za-z0-9_])(?:{alts})(?![A-Za-z0-9_])" if whole else f"(?:{alts})", re.IGNORECASE)
    ref = [pat.findall(t.lower()) for t in texts]
    assert hits.tolist() == [len(r) for r in ref]
    assert chars.tolist() == [sum(map(len, r)) for r in ref]


def test_keyword_matcher_counts_like_greedy_findall_with_nested_overlaps():
    # 'cdefg' starts inside the counted 'abc' and is skipped, so 'efgh' (inside 'cdefg' only) counts
    km = KeywordMatcher(["abc", "cdefg", "efgh"])
    hits, chars = km.scan(pa.array(["abcdefgh", "xcdefgh", "あabcいefgh"]))
    assert hits.tolist() == [2, 1, 2] and chars.tolist() == [7, 5, 7]


# --- word lists and NG words -----------------------------------------------------------------


def test_shipped_wordlists():
    names = available(".txt", "wordlists")
    for lang in ("ja", "en"):
        for cat in ("ads", "adult", "discrimination", "violence"):
            assert f"{lang}/{cat}" in names
            words = load_words(f"{lang}/{cat}")
            assert words and not any(w.startswith("#") for w in words)
    with pytest.raises(PresetError, match="no wordlists named"):
        load_words("xx/none")


def test_ng_words_japanese_and_english(tmp_path):
    extra = tmp_path / "mine.txt"
    extra.write_text("# my list\n禁止語\n", encoding="utf-8")
    step = NgWords(lists=["ja/ads", str(extra)], max_hits=2)
    rows = score(step, text=["送料無料、禁止語、セール中", "普通の文章です。", "禁止語"])
    assert [r["ng_hits"] for r in rows] == [3, 0, 1]
    assert [r["reason"] for r in rows] == ["ng_hits", None, None]
    en = NgWords(lists=["en/adult"], whole_words=True, ignore_case=True, max_char_frac=0.1)
    rows = score(en, text=["PORN here", "pornographic is a word", "nothing"])
    assert [r["ng_hits"] for r in rows] == [1, 0, 0]  # whole words only
    assert rows[0]["ng_char_frac"] == pytest.approx(4 / 9)
    assert [r["keep"] for r in rows] == [False, True, True]


# --- URLs ---------------------------------------------------------------------------------


def test_url_filter_subdomains_tlds_and_missing(tmp_path):
    lst = tmp_path / "block.txt"
    lst.write_text("# blocked\nspam.example\n", encoding="utf-8")
    step = UrlFilter(domains=["ja.wikipedia.org"], domain_lists=[str(lst)], allowed_tlds=["jp", "com", "example"])
    urls = ["https://ja.wikipedia.org/wiki/猫", "http://a.b.spam.example:8080/x?q=1", "https://notspam.example/",
            "https://example.de/", "HTTPS://WWW.Example.CO.JP/Path", None, "https://en.wikipedia.org/"]
    rows = score(step, text=["x"] * len(urls), url=urls)
    assert [r["reason"] for r in rows] == ["blocked_domain", "blocked_domain", None, "tld_not_allowed", None, None,
                                           "tld_not_allowed"]
    assert not score(UrlFilter(missing_url="drop"), text=["x"], url=[None])[0]["keep"]
    with pytest.raises(KeyError, match="url"):
        UrlFilter().score(pa.table({"text": ["x"]}))


# --- PII ----------------------------------------------------------------------------------


def test_pii_masking_japanese_and_english():
    t = pa.table({"text": [
        "連絡は075-123-4567まで、メール taro.yamada@example.co.jp へ。携帯 09012345678、+81-80-1234-5678",
        "card 4111 1111 1111 1111, not 4111 1111 1111 1112; ip 192.168.0.1 and 2001:db8::1; call +1 415-555-2671",
        "2024年10月1日に1,234円。std::vector と a::b は残る。",
    ]})
    out = PiiMask()(t).to_pylist()
    assert out[0]["text"] == "連絡は<PHONE>まで、メール <EMAIL> へ。携帯 <PHONE>、<PHONE>"
    assert (out[0]["pii_phone"], out[0]["pii_email"]) == (3, 1)
    assert out[1]["text"] == "card <CARD>, not 4111 1111 1111 1112; ip <IP> and <IP>; call <PHONE>"
    assert (out[1]["pii_card"], out[1]["pii_ip"], out[1]["pii_phone"]) == (1, 2, 1)
    assert out[2]["text"] == t.column("text")[2].as_py()
    custom = PiiMask(email="[メール]", phone=None, count_columns=False)(t)
    assert "[メール]" in custom.column("text")[0].as_py() and "075-123-4567" in custom.column("text")[0].as_py()
    assert "pii_email" not in custom.column_names


# --- language score --------------------------------------------------------------------------


def test_lang_score_threshold_and_missing_column():
    rows = score(LangScore(min_score=0.886, languages=["ja"]), text=["a", "b", "c"],
                 lang=["ja", "ja", "en"], lang_score=[0.95, 0.5, 0.99])
    assert [r["reason"] for r in rows] == [None, "low_lang_score", "language_not_allowed"]
    with pytest.raises(KeyError, match="language-ID step"):
        LangScore().score(pa.table({"text": ["x"]}))


# --- code -----------------------------------------------------------------------------------


def test_code_quality_rules():
    good = "def f(x):\n    return x + 1\n"
    rows = score(CodeQuality(), text=[good, good, "x = 1\n" + "y" * 1200 + "\n", "# ===\n" * 20 + "a = 1\n",
                                      "# Code generated by protoc. DO NOT EDIT.\nx = 1\n",
                                      "\n".join(["1, 2, 3, 4, 5, 6, 7"] * 20), good],
                 path=["src/a.py", "data/a.parquet", "b.py", "c.py", "d.go", "e.py", "Makefile"])
    assert [r["reason"] for r in rows] == [None, "extension_not_allowed", "long_line", "low_alnum_frac",
                                           "autogenerated", "numeric_data", None]
    r = rows[0]
    assert r["max_line_length"] == len("    return x + 1")
    assert r["avg_line_length"] == pytest.approx((len("def f(x):") + len("    return x + 1")) / 2)
    assert r["alnum_frac"] == pytest.approx(sum(c.isalnum() for c in good) / len(good))
    # without a path column the extension rule is skipped
    assert score(CodeQuality(), text=[good])[0]["keep"]
    # Japanese comments count as alphanumeric (letters)
    assert score(CodeQuality(), text=["# 日本語のコメントです\nx = 1\n"], path=["a.py"])[0]["keep"]


def test_length_filter_counts_characters_not_bytes_for_japanese():
    rows = score(LengthFilter(min_chars=5), text=["猫です。", "吾輩は猫である"])
    assert [r["n_chars"] for r in rows] == [4, 7]
    assert [r["n_bytes"] for r in rows] == [12, 21]
    assert [r["keep"] for r in rows] == [False, True]


def test_annotate_mode_keeps_rows_and_prefixes_decision():
    res = NgWords(lists=["ja/ads"], max_hits=0, mode="annotate").apply(pa.table({"text": ["送料無料", "ok"]}))
    assert res.out.num_rows == 2 and res.removed is None
    assert res.out.column("ng_words_keep").to_pylist() == [False, True]
    assert np.array_equal(res.out.column("ng_hits").to_numpy(), [1, 0])


def test_every_filter_handles_odd_batches():
    """Empty batches, large_string / chunked text, null texts and all-null URL or path columns."""
    from corpusforge.steps.presets import build_preset
    from corpusforge.steps.registry import registered_steps

    steps = [s for name in ("ja-web", "ja-web-strict", "ja-swallow", "en-web", "code") for s in build_preset(name)]
    steps += [cls() for name, cls in registered_steps().items()
              if cls.__module__.startswith("corpusforge.filters") and name not in ("lang_score",)]
    batches = [
        pa.table({"text": pa.array([], pa.string()), "url": pa.array([], pa.string())}),
        pa.table({"text": pa.array(["吾輩は猫である。名前はまだ無い。", None], pa.large_string()),
                  "url": pa.array(["https://a.jp/", None], pa.large_string())}),
        pa.table({"text": pa.chunked_array([["吾輩は猫である。", "a b"], ["The end. Really."]]),
                  "url": pa.array([None, None, None]), "path": pa.array([None, None, None])}),
    ]
    for batch in batches:
        for step in steps:
            res = step.apply(batch)
            removed = res.removed.num_rows if res.removed is not None else 0
            assert res.out.num_rows + removed == batch.num_rows, step
    # documents without a path are not judged by their extension
    assert CodeQuality().score(batches[2]).column("ext_allowed").to_pylist() == [True] * 3
