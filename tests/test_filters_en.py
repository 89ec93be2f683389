"""Gopher, C4 and FineWeb: signals checked against values computed by hand (English and Japanese)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from corpusforge.filters import C4Quality, FineWebQuality, GopherQuality, GopherRepetition
from corpusforge.schema import REMOVED_REASON


def one(step, text: str) -> dict:
    return step.score(pa.table({"text": [text]})).to_pylist()[0]


def test_gopher_quality_signals_english():
    text = "The cat sat on the mat.\n- with a hat ...\n# tag"
    r = one(GopherQuality(), text)
    # 13 whitespace tokens; '-', '...' and '#' are symbols, the other 10 are words
    assert r["n_words"] == 10
    assert r["avg_word_length"] == pytest.approx(28 / 10)
    assert r["hash_word_ratio"] == pytest.approx(1 / 13)
    assert r["ellipsis_word_ratio"] == pytest.approx(1 / 13)
    assert r["bullet_lines_ratio"] == pytest.approx(1 / 3)
    assert r["ellipsis_lines_ratio"] == pytest.approx(1 / 3)
    assert r["alpha_words_ratio"] == pytest.approx(10 / 13)
    assert r["n_stop_words"] == 2  # the (twice, any case) and with
    assert not r["keep"] and r["reason"] == "too_few_words"


def test_gopher_quality_keeps_real_prose_and_thresholds_are_parameters():
    sentence = "The history of the town is closely tied to the river and the trade that came with it. "
    r = one(GopherQuality(), sentence * 6)
    assert r["keep"], r
    assert not one(GopherQuality(min_stop_words=20), sentence * 6)["keep"]


def test_gopher_quality_on_japanese_counts_whitespace_words():
    # unsegmented Japanese is one whitespace token: Gopher's word rules are for spaced languages
    r = one(GopherQuality(), "吾輩は猫である。名前はまだ無い。")
    assert r["n_words"] == 1
    assert r["avg_word_length"] == 15  # the final 。 is punctuation, not part of the word
    assert r["reason"] == "too_few_words"


def test_gopher_repetition_signals_english():
    text = "a b c\na b c\nx y z\n\nfoo bar"  # 26 characters
    r = one(GopherRepetition(), text)
    assert r["dup_para_frac"] == 0
    assert r["dup_line_frac"] == pytest.approx(1 / 4)
    assert r["dup_line_char_frac"] == pytest.approx(5 / 26)
    # most frequent 2-gram: 'a b' (or 'b c') twice, 3 characters joined -> 6
    assert r["top_2_gram_frac"] == pytest.approx(6 / 26)
    assert r["top_3_gram_frac"] == pytest.approx(10 / 26)
    assert r["top_4_gram_frac"] == 0  # no 4-gram repeats
    assert r["dup_5_gram_frac"] == 0
    assert r["reason"] == "top_2_gram_frac"


def test_gopher_repetition_duplicate_ngrams_count_overlaps_once():
    # the 5-gram 'a b c d e' occurs twice; its second occurrence covers 5 one-letter words
    text = "a b c d e a b c d e"  # 19 characters
    r = one(GopherRepetition(top_n_grams=[], dup_line_frac=None), text)
    assert r["dup_5_gram_frac"] == pytest.approx(5 / 19)
    assert r["dup_6_gram_frac"] == 0
    assert r["reason"] == "dup_5_gram_frac"


def test_gopher_repetition_japanese_lines():
    text = "今日は晴れ。\n今日は晴れ。\n明日は雨。"  # 6 + 1 + 6 + 1 + 5 = 19 characters
    r = one(GopherRepetition(), text)
    assert r["dup_line_frac"] == pytest.approx(1 / 3)
    assert r["dup_line_char_frac"] == pytest.approx(6 / 19)
    assert r["reason"] == "dup_line_frac"


def test_c4_cleans_lines_and_counts_sentences_english():
    text = "\n".join([
        "Click here to subscribe",                          # no terminal punctuation
        "The quick brown fox jumps. It runs far away.",     # kept, 2 sentences
        "Enable javascript to see this page.",              # javascript
        "We use cookies to improve things.",                # policy
        "Short one.",                                       # 2 words
        "This line has [1] a citation.",                    # kept, citation removed, 1 sentence
        "A third fine sentence here! And another one?",     # kept, 2 sentences
    ])
    r = one(C4Quality(), text)
    assert r["c4_lines"] == 7 and r["c4_kept_lines"] == 3 and r["c4_sentences"] == 5
    assert r["keep"]
    assert r["text"] == ("The quick brown fox jumps. It runs far away.\n"
                         "This line has  a citation.\n"
                         "A third fine sentence here! And another one?")
    assert one(C4Quality(min_sentences=6), text)["reason"] == "too_few_sentences"


def test_c4_document_rules():
    assert one(C4Quality(), "Lorem ipsum dolor sit amet, it says.")["reason"] == "lorem_ipsum"
    assert one(C4Quality(), "Use the {braces} in code like this.")["reason"] == "curly_bracket"


def test_c4_japanese_with_japanese_punctuation():
    text = "今日は晴れです。明日は雨でしょう。\nメニュー\n猫が好きです！"
    step = C4Quality(terminal_punct=["。", "！", "？"], min_words_per_line=1, min_sentences=3)
    r = one(step, text)
    assert r["c4_sentences"] == 3 and r["c4_kept_lines"] == 2
    assert r["keep"] and r["text"] == "今日は晴れです。明日は雨でしょう。\n猫が好きです！"
    assert one(C4Quality(), text)["reason"] == "too_few_sentences"  # English defaults keep nothing


def test_c4_filter_mode_emits_cleaned_text_and_accounts_for_rows():
    docs = ["Good line one here. Second sentence here. Third one here.\nFourth sentence here. Fifth here.\nmenu",
            "nothing useful"]
    res = C4Quality().apply(pa.table({"text": docs}))
    assert res.out.num_rows == 1 and res.removed.num_rows == 1
    assert res.out.column("text")[0].as_py().endswith("Fifth here.")
    assert res.removed.column(REMOVED_REASON).to_pylist() == ["too_few_sentences"]


def test_fineweb_signals_english():
    text = "Hello world.\nThis is a line without punct\nThis is a line without punct\n\nEnd."
    r = one(FineWebQuality(), text)
    assert r["n_lines"] == 4
    assert r["line_punct_ratio"] == pytest.approx(2 / 4)
    assert r["short_line_ratio"] == 1.0
    assert r["char_dup_ratio"] == pytest.approx(28 / 72)  # 76 characters, 4 newlines
    assert r["newline_word_ratio"] == pytest.approx(4 / 17)
    assert r["reason"] == "short_line_ratio"


def test_fineweb_japanese():
    text = "今日は晴れです。\n明日は雨です。"
    r = one(FineWebQuality(), text)
    assert r["line_punct_ratio"] == 1.0  # 。 is terminal punctuation
    assert r["short_line_ratio"] == 1.0
    # tokens: 今日は晴れです / 。 / 明日は雨です / 。
    assert r["newline_word_ratio"] == pytest.approx(1 / 4)
    long_line = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で泣いていた事だけは記憶している。"
    assert one(FineWebQuality(), "\n".join([long_line, long_line + "吾輩はここで始めて人間というものを見た。"]))["keep"]


def test_empty_documents_are_decided_not_crashed():
    t = pa.table({"text": ["", "   ", "\n\n"]})
    for step in (GopherQuality(), GopherRepetition(), C4Quality(), FineWebQuality()):
        scored = step.score(t)
        assert scored.num_rows == 3 and "keep" in scored.column_names
    assert FineWebQuality().score(t).column("reason").to_pylist() == ["empty"] * 3


def test_gopher_repetition_japanese_script_tokens():
    # 猫が好き。 = tokens 猫 / が / 好 / き / 。 (kanji, hiragana runs); the sentence repeats 4 times
    text = "猫が好き。" * 4  # 20 characters
    whitespace = one(GopherRepetition(), text)
    assert whitespace["top_2_gram_frac"] == 0  # one whitespace "word": no 2-grams at all
    r = one(GopherRepetition(tokens="script"), text)
    # most frequent token 2-gram: 4 times, e.g. 猫+が joined with a space = 3 characters
    assert r["top_2_gram_frac"] == pytest.approx(4 * 3 / 20)
    # repeated 5-grams cover the tokens of the last 3 sentences: 3 x 5 characters
    assert r["dup_5_gram_frac"] == pytest.approx(15 / 20)
    assert not r["keep"]
