"""Exact search and trace over a run's output (Japanese, English, code): counts and located
documents equal a brute-force scan of every document; trace finds every planted span."""

from __future__ import annotations

import random
import re

import pytest
from typer.testing import CliRunner

from corpusforge import search
from corpusforge.cli import app
from corpusforge.search.trace import trace


def brute_count(docs: list[dict], q: str) -> dict[str, int]:
    """Occurrences (overlapping) of ``q`` per document id, by scanning every text."""
    pattern = re.compile(b"(?=" + re.escape(q.encode()) + b")")
    found = {}
    for d in docs:
        n = len(pattern.findall(d["text"].encode()))
        if n:
            found[d["id"]] = n
    return found


def queries(docs: list[dict], rng: random.Random) -> list[str]:
    """Present substrings of 1 to 200 bytes of each language, the same with one character
    changed (mostly absent), and pieces spanning two documents (absent unless elsewhere)."""
    out = []
    for lang in ("ja", "en", "code"):
        mine = [d["text"] for d in docs if d.get("lang") == lang]
        for _ in range(38):
            text = rng.choice(mine)
            start = rng.randrange(len(text))
            target = rng.randint(1, 200)
            piece = ""
            for ch in text[start:]:
                if len((piece + ch).encode()) > target:
                    break
                piece += ch
            if not piece:
                continue
            out.append(piece)
            i = rng.randrange(len(piece))
            out.append(piece[:i] + rng.choice("ぬ猫zQ{") + piece[i + 1:])
        for _ in range(10):
            a, b = rng.sample(mine, 2)
            out.append(a[-rng.randint(1, 20):] + b[:rng.randint(1, 20)])
    return out


def test_count_and_locate_equal_a_brute_force_scan(search_run):
    out, docs = search_run
    corpus = search.corpus(out)
    by_key = {}
    qs = queries(docs, random.Random(15))
    assert len(qs) >= 250
    present = 0
    for q in qs:
        truth = brute_count(docs, q)
        present += bool(truth)
        assert corpus.count(q) == sum(truth.values()), q
        occurrences = corpus.locate(q)
        assert {o.id for o in occurrences} == set(truth), q
        assert corpus.count_documents(q) == (sum(truth.values()), len(truth))
        for o in occurrences[:3]:  # the offsets are where the text is
            store = by_key.setdefault(o.shard, corpus.store(o.shard))
            assert store.doc_text(o.row)[o.offset:o.offset + len(q)] == q
    assert 80 < present < len(qs)  # both present and absent strings were asked


def test_exact_hits_rank_by_occurrences_and_filter_by_language(search_run):
    out, docs = search_run
    hits = search.search(out, "部長はうなぎです", kind="exact")
    assert [h.id for h in hits] == ["ja-unagi"] and hits[0].score == 2
    assert hits[0].snippet[slice(*hits[0].highlights[0])] == "部長はうなぎです"
    assert hits[0].lang == "ja" and hits[0].source == "aozora" and hits[0].url.endswith("ja-unagi")
    # a word in both languages' documents: the language filter keeps one side
    en = search.search(out, "the", kind="exact", k=50, lang="en")
    assert en and all(h.lang == "en" for h in en)
    assert [h.score for h in en] == sorted((h.score for h in en), reverse=True)


def planted(docs: list[dict], lang: str, rng: random.Random, n: int) -> tuple[str, list[tuple[int, int]]]:
    """A text of corpus spans (25 to 60 characters) joined by new text; the spans' ranges."""
    mine = [d["text"] for d in docs if d["lang"] == lang]
    filler = ("ゑゐヱヰ", "qxjz") if lang == "ja" else ("qxjz", "ゑゐヱヰ")
    text, ranges = "", []
    for _ in range(n):
        text += "".join(rng.choice(filler[0]) for _ in range(rng.randint(5, 15)))
        source = rng.choice(mine)
        length = rng.randint(25, 60)
        start = rng.randrange(max(1, len(source) - length))
        ranges.append((len(text), len(text) + len(source[start:start + length])))
        text += source[start:start + length]
    return text + "".join(filler[1]) * 3, ranges


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_trace_finds_every_planted_span_and_nothing_that_does_not_occur(search_run, lang):
    out, docs = search_run
    corpus = search.corpus(out)
    joined = "\x00".join(d["text"] for d in docs)
    text, ranges = planted(docs, lang, random.Random(lang), 5)
    n = 20
    spans = trace(corpus, text, n)
    for a, b in ranges:
        assert any(s.start <= a and b <= s.end for s in spans), text[a:b]
    for s in spans:
        assert s.text == text[s.start:s.end] and s.end - s.start >= n
        truth = brute_count(docs, s.text)
        assert s.count == sum(truth.values()) > 0
        assert {o.id for o in s.occurrences} <= set(truth)
        # maximal: one more character either side occurs nowhere
        if s.start > 0:
            assert text[s.start - 1:s.end] not in joined
        if s.end < len(text):
            assert text[s.start:s.end + 1] not in joined
    # nothing missed: every N-character window that occurs lies inside a reported span
    for i in range(len(text) - n + 1):
        inside = any(s.start <= i and i + n <= s.end for s in spans)
        assert inside == (text[i:i + n] in joined), (i, text[i:i + n])


def test_the_commands_count_search_and_trace(search_run, tmp_path):
    out, docs = search_run
    runner = CliRunner()
    r = runner.invoke(app, ["search", out, "--count", "部長はうなぎです"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "2 occurrences in 1 documents" in r.output
    r = runner.invoke(app, ["search", out, "部長はうなぎです", "--kind", "exact"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "ja-unagi" in r.output and "https://example.org/ja-unagi" in r.output
    r = runner.invoke(app, ["search", out, "Hello world program", "--kind", "bm25", "-k", "3", "--lang", "en"],
                      env={"COLUMNS": "200"})
    assert r.exit_code == 0 and r.output.count("gutenberg") <= 3
    # a document's escape sequence reaches the terminal written out
    r = runner.invoke(app, ["search", out, "window.__pwned", "--kind", "exact"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "../../etc/passwd" in r.output
    text = docs[3]["text"][10:70] + " 全く新しい文章がここに入る。 " + docs[90]["text"][5:50]
    (tmp_path / "answer.txt").write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["trace", out, "--text", str(tmp_path / "answer.txt"), "--min-chars", "20"],
                      env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "2 spans" in r.output and docs[3]["id"] in r.output and docs[90]["id"] in r.output
    r = runner.invoke(app, ["search", str(tmp_path), "x"])
    assert r.exit_code == 1 and "no bm25 index" in r.output
    r = runner.invoke(app, ["index", out, "--kinds", "exact,fuzzy"])
    assert r.exit_code == 2 and "fuzzy" in r.output


def test_a_document_with_terminal_escapes_prints_them_written_out(tmp_path):
    from search_corpus import write_run

    out = write_run(tmp_path / "out", [{"id": "e\x1b]0;x\x07", "text": "red \x1b[31m alert here", "lang": "en",
                                        "source": "s", "url": "u"}], 1)
    search.index(str(out), ("exact",))
    r = CliRunner().invoke(app, ["search", str(out), "alert", "--kind", "exact"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "\x1b" not in r.output and "\\x1b[31m" in r.output


def test_a_new_shard_is_indexed_and_the_others_are_kept(tmp_path):
    """A nightly snapshot adds shards: an index run builds those only (JSONL output here)."""
    import json

    out = tmp_path / "out"
    out.mkdir()
    rows = [{"id": "a", "text": "吾輩は猫である。"}, {"id": "b", "text": "The cat sat on the mat."}]
    (out / "part-00000.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    first = search.index(str(out), ("exact",))
    assert [("exact" in b) for b in first] == [True]
    (out / "part-00001.jsonl").write_text(json.dumps({"id": "c", "text": "猫である。猫"}, ensure_ascii=False) + "\n")
    second = search.index(str(out), ("exact",))
    assert [("exact" in b) for b in second] == [False, True]
    assert search.count(str(out), "猫") == 3 and search.count(str(out), "cat") == 1


def test_an_output_on_an_object_store_path_is_indexed_there(tmp_path, monkeypatch):
    """``memory://`` stands for a bucket: the index is written through the storage layer and
    queried from a local copy of its files."""
    import json

    import fsspec

    monkeypatch.setenv("CORPUSFORGE_CACHE", str(tmp_path / "cache"))
    fs = fsspec.filesystem("memory")
    rows = [{"id": "a", "text": "吾輩は猫である。名前はまだ無い。", "lang": "ja"},
            {"id": "b", "text": "The cat has no name yet.", "lang": "en"}]
    with fs.open("/bucket-search/out/part-00000.jsonl", "w") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    out = "memory://bucket-search/out"
    try:
        search.index(out, ("exact", "bm25"))
        assert fs.exists("/bucket-search/out/_search/shards") and not (tmp_path / "out").exists()
        assert search.count(out, "猫である") == 1 and search.count(out, "name") == 1
        assert [h.id for h in search.search(out, "name", "bm25")] == ["b"]
        assert [h.id for h in search.search(out, "猫", "bm25", lang="ja")] == ["a"]
    finally:
        fs.rm("/bucket-search", recursive=True)
