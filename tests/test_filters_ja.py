"""Japanese filters: LLM-jp v1 rules, line extraction, normalisation, Swallow, repetition."""

from __future__ import annotations

import zlib

import pyarrow as pa
import pytest

from corpusforge.filters import (
    CharRepetition,
    JapaneseLines,
    JapaneseNormalize,
    JapaneseQuality,
    SwallowQuality,
    WordRepetition,
)

NEKO = ("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で"
        "ニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。")


def score(step, texts: list[str], urls: list[str | None] | None = None) -> list[dict]:
    cols = {"text": texts}
    if urls is not None:
        cols["url"] = urls
    return step.score(pa.table(cols)).to_pylist()


def test_llmjp_signals_by_hand():
    text = "送料無料" * 3 + "アダルト" * 3 + NEKO
    r = score(JapaneseQuality(), [text])[0]
    raw = text.encode("utf-8")
    assert r["ads_hits"] == 3 and r["ng_hits"] == 3
    assert r["kuten"] == NEKO.count("。") == 5
    assert r["n_chars"] == len(text)
    assert r["kana_in_head"]
    assert r["zlib_ratio"] == pytest.approx(len(zlib.compress(raw, 9)) / len(raw))


def test_llmjp_default_and_strict_thresholds():
    text = "アダルト" * 3 + NEKO  # 3 NG hits: > 2 (strict) but not > 3 (default)
    default, strict = JapaneseQuality(), JapaneseQuality(variant="strict")
    assert score(default, [text])[0]["reason"] != "ng_keywords"
    assert score(strict, [text])[0]["reason"] == "ng_keywords"
    # rare kuten: 500 characters with two 。 passes 1/250 but fails 1/80
    kuten = "あいうえおかきくけこ" * 50
    kuten = kuten[:200] + "。" + kuten[201:400] + "。" + kuten[401:]
    assert len(kuten) == 500
    assert score(default, [kuten])[0]["reason"] != "rare_kuten"
    assert score(strict, [kuten])[0]["reason"] == "rare_kuten"
    one_kuten = kuten.replace("。", "い", 1)
    assert score(default, [one_kuten])[0]["reason"] == "rare_kuten"
    # explicit parameters win over the variant
    assert score(JapaneseQuality(variant="strict", max_ng_hits=5), [text])[0]["reason"] != "ng_keywords"


def test_llmjp_rules_in_order():
    rows = score(JapaneseQuality(), [
        "ABC" * 20 + NEKO,                 # no kana in the first 50 characters
        "送料無料" * 11 + NEKO,             # 11 ads hits > 10
        NEKO * 30,                          # repeated: compresses far below 0.30
        "",
        NEKO,
        NEKO,
        NEKO,
    ], urls=[None, None, None, None, "https://example.de/x", "https://ja.wikipedia.org/wiki/猫",
             "https://www.example.co.jp/a"])
    reasons = [r["reason"] for r in rows]
    assert reasons[:6] == ["no_kana_in_head", "ads_keywords", "zlib_ratio_low", "empty",
                           "tld_not_allowed", "blocked_domain"]
    assert rows[6]["keep"], rows[6]


def test_llmjp_rejects_english():
    r = score(JapaneseQuality(), ["This is an English page about cats and dogs. " * 10])[0]
    assert r["reason"] == "no_kana_in_head"


def test_llmjp_filter_mode_compresses_only_survivors():
    t = pa.table({"text": ["English only text here.", NEKO]})
    sig = JapaneseQuality().signals(t)
    assert sig["zlib_ratio"][0] != sig["zlib_ratio"][0]  # NaN: decided before compression
    assert 0 < sig["zlib_ratio"][1] < 1
    annotated = JapaneseQuality(mode="annotate").signals(t)
    assert annotated["zlib_ratio"][0] > 0.5


def test_japanese_lines_extraction():
    text = ("ナビ\nhttps://example.com/page 記事です\nEnglish only line\n" + "x" * 120 + "ね\n本文は、ここから。")
    r = score(JapaneseLines(), [text, "English only\nno kana here"])
    assert r[0]["text"] == "ナビ 記事ですね本文は、ここから。"
    assert r[0]["ja_lines_total"] == 5 and r[0]["ja_lines_kept"] == 4
    assert r[0]["keep"]
    assert r[1]["ja_lines_kept"] == 0 and r[1]["reason"] == "no_japanese_lines"
    res = JapaneseLines().apply(pa.table({"text": [text, "English only"]}))
    assert res.out.num_rows == 1 and res.removed.num_rows == 1


def test_japanese_normalize():
    t = pa.table({"text": [
        "本研究では，ＡＢＣを用いた．結果は良好である．\n\n== 脚注 ==\n1. 注",
        "今日は、晴れ。ＡＢＣ，です。\n参考文献なし",
        "Text here.\nReferences\n[1] x",
        "ｶﾀｶﾅ",
    ]})
    out = JapaneseNormalize()(t).column("text").to_pylist()
    assert out[0] == "本研究では、ABCを用いた。結果は良好である。"  # ，． dominate -> 、。; footer cut
    assert out[1] == "今日は、晴れ。ABC,です。\n参考文献なし"  # 、。 dominate: only NFKC; not a heading line
    assert out[2] == "Text here."
    assert out[3] == "カタカナ"
    kept = JapaneseNormalize(nfkc=False, fix_punctuation=False, footer_headings=[])(t)
    assert kept.column("text").to_pylist() == t.column("text").to_pylist()


def test_swallow_signals_by_hand():
    text = "今日は晴れ。今日は晴れ。明日は雨だ！！カタカナ"  # 23 characters
    r = score(SwallowQuality(), [text])[0]
    assert r["n_letters"] == 23
    assert r["n_ja_letters"] == 19  # all but 。。！！
    assert r["hiragana_frac"] == pytest.approx(6 / 23)
    assert r["katakana_frac"] == pytest.approx(4 / 23)
    assert r["ja_frac"] == pytest.approx(19 / 23)
    # sentences: 今日は晴れ。 / 今日は晴れ。 / 明日は雨だ！ / カタカナ (the second ！ is not one)
    assert r["avg_sentence_length"] == pytest.approx(22 / 4)
    assert r["max_sentence_length"] == 6
    assert r["dup_sentence_frac"] == pytest.approx(1 / 4)
    assert r["dup_sentence_char_frac"] == pytest.approx(6 / 23)
    assert r["reason"] == "too_few_letters"


def test_swallow_repetition_and_fraction_rules():
    base = NEKO * 1
    rules = dict(min_letters=None, min_ja_letters=None, min_avg_sentence_length=None)
    assert score(SwallowQuality(**rules), [base])[0]["keep"]
    assert score(SwallowQuality(**rules), [base * 3])[0]["reason"] == "dup_sentence_frac"
    kata = "カタカナ語ばかりのテキスト。" + "コンピュータ" * 30 + "。"
    r = score(SwallowQuality(**rules, top_n_grams=[], dup_n_grams=[]), [kata])[0]
    assert r["katakana_frac"] > 0.5 and r["reason"] in ("low_hiragana_frac", "high_katakana_frac")
    ellipsis = "\n".join(["ここで終わる…"] * 3 + ["これは普通の文です。"] * 2)
    r = score(SwallowQuality(), [ellipsis])[0]
    assert r["ellipsis_line_frac"] == pytest.approx(3 / 5)


def test_char_repetition_by_hand():
    r = score(CharRepetition(), ["ああああああ", "abcdefg", ""])
    # one distinct 5-gram occurring twice: all occurrences are in the top sqrt(1) = 1
    assert r[0]["char_rep_ratio"] == 1.0 and r[0]["reason"] == "char_repetition"
    assert r[1]["char_rep_ratio"] == 0 and r[1]["keep"]
    assert r[2]["char_rep_ratio"] == 0


def test_char_repetition_matches_hojichar_definition(shared):
    hojichar = pytest.importorskip("hojichar.filters.document_filters")
    import gzip
    import json

    data = json.loads(gzip.decompress(shared("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    texts = [d["text"] for group in data.values() for d in group]
    ours = CharRepetition().score(pa.table({"text": texts})).column("char_rep_ratio").to_pylist()
    ref = [hojichar.CharRepetitionRatioFilter.compute_character_repetition_ratio(t, 5) for t in texts]
    assert ours == pytest.approx(ref)


def test_word_repetition():
    r = score(WordRepetition(), ["a b c d e f g h " * 3, "a b c d e f g h i j", "短い"])
    assert r[0]["word_rep_ratio"] == 1.0 and r[0]["reason"] == "word_repetition"
    assert r[1]["word_rep_ratio"] == 0 and r[1]["keep"]
    assert r[2]["word_rep_ratio"] == 0
