"""Japanese words from Sudachi: segmentation of Japanese and English text, long documents, the
analyser loaded in setup(), and the FineWeb-2 Japanese preset on real web text."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

import pyarrow as pa
import pytest

from corpusforge.filters import FineWebQuality, GopherQuality, GopherRepetition
from corpusforge.filters import _text_stats as ts
from corpusforge.filters.ja_words import MAX_CHUNK_BYTES, SudachiWords, sudachi_words
from corpusforge.schema import REMOVED_REASON
from corpusforge.steps.presets import build_preset

from conftest import shared_data

NEKO = "吾輩は猫である。名前はまだ無い。"


def _words(texts: list[str | None], kind: pa.DataType | None = None) -> tuple[list[str], list[int]]:
    p = sudachi_words().words(ts.text_array(pa.array(texts, kind or pa.string())))
    return p.values.to_pylist(), p.parent.tolist()


def test_japanese_is_cut_into_words_and_whitespace_is_left_out():
    words, parent = _words([NEKO, "", None, "牛丼を　食べた。\n\n美味しい"])
    assert words == ["吾輩", "は", "猫", "で", "ある", "。", "名前", "は", "まだ", "無い", "。",
                     "牛", "丼", "を", "食べ", "た", "。", "美味しい"]
    assert parent == [0] * 11 + [3] * 7
    # a 4-byte character, large strings and a sliced column give the same words
    assert _words(["𠮷野家の" + NEKO], pa.large_string())[0][-11:] == _words([NEKO])[0]
    sliced = ts.text_array(pa.array(["x", NEKO, "猫"]).slice(1))
    assert sudachi_words().words(sliced).values.to_pylist() == _words([NEKO, "猫"])[0]


def test_english_words_cover_the_text():
    text = gzip.decompress(shared_data("en", "botchan.txt.gz").read_bytes()).decode("utf-8")[20_000:26_000]
    words, _ = _words([text])
    assert re.sub(r"\s+", "", "".join(words)) == re.sub(r"\s+", "", text)
    # punctuation is its own word; letters stay together (a few dictionary phrases such as
    # "of course" are one word)
    alpha = [w for w in words if re.fullmatch(r"[A-Za-z]+", w)]
    assert len(alpha) >= 0.95 * len(re.findall(r"[A-Za-z]+", text))
    assert "," in words and "." in words


def test_documents_over_the_analysers_input_limit_are_cut_at_line_ends():
    long = (NEKO + "\n") * 3000  # 141 kB, Sudachi takes at most 49 kB per call
    one_line = "あ" * 50_000
    assert len(long.encode()) > 2 * MAX_CHUNK_BYTES
    words, parent = _words([long, one_line, NEKO])
    assert words[: 11 * 3000] == _words([NEKO])[0] * 3000
    assert "".join(w for w, p in zip(words, parent) if p == 1) == one_line
    assert words[-11:] == _words([NEKO])[0]


def test_the_analyser_is_loaded_in_setup_once_per_process():
    step = GopherRepetition(tokens="sudachi")
    assert not hasattr(step, "sudachi")
    step.setup()
    assert isinstance(step.sudachi, SudachiWords) and step.sudachi is sudachi_words()
    # the whitespace default loads nothing
    plain = GopherRepetition()
    plain.setup()
    assert plain.sudachi is None


def test_a_chain_segments_each_document_once():
    # the analyser keeps the words of its last call's documents: the next filter of a chain,
    # which sees those documents (or the ones the filter before it kept), finds them there
    words = SudachiWords()
    text = ts.text_array(pa.array([NEKO, "猫", NEKO]))
    first = words.words(text)
    assert set(words._memo) == {NEKO, "猫"}
    again = words.words(text.slice(0, 2))
    assert set(words._memo) == {NEKO, "猫"}
    assert again.values.to_pylist() == first.values.to_pylist()[: len(again.values)]
    words.words(ts.text_array(pa.array(["犬"])))
    assert set(words._memo) == {"犬"}  # memory: one call's documents


@pytest.fixture(scope="module")
def abeja() -> pa.Table:
    data = json.loads(gzip.decompress(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    rows = [d for group in data.values() for d in group]
    return pa.table({"text": [r["text"] for r in rows], "url": [r["url"] for r in rows]})


@pytest.fixture(scope="module")
def dolma() -> pa.Table:
    rows = []
    for f in sorted(shared_data("en", "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        rows += [json.loads(x) for x in gzip.decompress(f.read_bytes()).splitlines() if x]
    return pa.table({"text": [r["text"] for r in rows], "url": [r["metadata"]["url"] for r in rows]})


def _chain(name: str, table: pa.Table) -> tuple[pa.Table, Counter]:
    reasons: Counter = Counter()
    for step in build_preset(name):
        res = step.apply(table)
        if res.removed is not None:
            reasons.update(f"{step.name}:{r}" for r in res.removed.column(REMOVED_REASON).to_pylist())
        table = res.out
    return table, reasons


def test_ja_fineweb2_on_real_japanese_and_english_web_text(abeja, dolma):
    kept, reasons = _chain("ja-fineweb2", abeja)
    # 99 ABEJA Common Crawl pages: 80 kept; repeated word n-grams, short or unpunctuated lines
    assert kept.num_rows == 80
    assert reasons == Counter({"gopher_repetition:dup_5_gram_frac": 9, "gopher_repetition:top_4_gram_frac": 2,
                               "fineweb:short_line_ratio": 6, "fineweb:line_punct_ratio": 2})
    # English pages have none of the Japanese stop words
    kept_en, reasons_en = _chain("ja-fineweb2", dolma)
    assert kept_en.num_rows == 0 and reasons_en == Counter({"gopher_quality:few_stop_words": 20})


def test_word_rules_on_english_agree_with_whitespace_words(dolma):
    # stop words and repetition mean the same on English whichever way words are found
    for cls, signal in ((GopherQuality, "n_stop_words"), (GopherRepetition, "gopher_repetition_keep")):
        a = cls(mode="annotate").apply(dolma).out
        b = cls(mode="annotate", tokens="sudachi").apply(dolma).out
        assert a.column(signal).to_pylist() == b.column(signal).to_pylist()
    # a Japanese newline/word ratio from real words: far below the character-run count's
    ja = FineWebQuality(mode="annotate", tokens="sudachi").apply(pa.table({"text": [NEKO + "\n" + NEKO]})).out
    assert ja.column("newline_word_ratio").to_pylist() == [1 / 22]
