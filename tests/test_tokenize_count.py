"""Token counting: group-by totals, mergeable histograms, the `count` command over Parquet/JSONL."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.tokenize.count import TokenHistogram, count_corpus, merge_totals, token_totals

from conftest import shared_data

JA = ["吾輩は猫である。", "名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。"]
EN = ["I am a cat.", "As yet I have no name."]


def _model() -> str:
    return str(shared_data("tokenizers", "llm-jp-tokenizer", "code10K_en20K_ja30K.ver2.2.model"))


def _sp():
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=_model())


def test_totals_group_by_source_and_language_and_merge():
    t = pa.table({"text": ["あい", "abc", "かきく", "x"], "source": ["a", "b", "a", "b"],
                  "lang": ["ja", "en", "ja", "en"], "n_tokens": [2, 1, 3, 1]})
    totals = token_totals(t)
    assert totals.to_pylist() == [
        {"source": "a", "lang": "ja", "docs": 2, "tokens": 5, "chars": 5, "bytes": 15},
        {"source": "b", "lang": "en", "docs": 2, "tokens": 2, "chars": 4, "bytes": 4},
    ]
    merged = merge_totals([token_totals(t.slice(0, 1)), token_totals(t.slice(1))])
    assert merged.equals(totals)
    # no lang column: counted per source with a null language
    no_lang = token_totals(t.drop_columns(["lang"]))
    assert no_lang.column("lang").null_count == 2


def test_histograms_merge_to_the_bincount_of_all_ids():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 50, 1000), rng.integers(0, 70, 500)
    merged = TokenHistogram.of(a, 60) + TokenHistogram.of(b)
    assert np.array_equal(merged.counts, np.bincount(np.concatenate([a, b])))
    assert merged.total == 1500
    table = merged.to_table()
    assert table.column("count").to_pylist() == [int(c) for c in merged.counts if c]


def _corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "lang=ja").mkdir(parents=True)
    pq.write_table(pa.table({"id": ["j0", "j1"], "text": JA[:2], "source": ["neko", "neko"]}),
                   root / "lang=ja" / "part-0.parquet")
    pq.write_table(pa.table({"id": ["j2"], "text": JA[2:], "source": ["neko"]}), root / "lang=ja" / "part-1.parquet")
    with open(root / "en.jsonl", "w") as f:  # the LLM-jp layout: text + meta
        for i, text in enumerate(EN):
            f.write(json.dumps({"text": text, "meta": {"source": "cat", "lang": "en", "id": f"e{i}"}}) + "\n")
    (root / "_rejects").mkdir()
    pq.write_table(pa.table({"text": ["ignored"]}), root / "_rejects" / "x.parquet")
    return root


def test_count_corpus_with_tokenizer_matches_sentencepiece(tmp_path):
    sp = _sp()
    root = _corpus(tmp_path)
    result = count_corpus(str(root), _model(), histogram=True, workers=1, threads=1)
    rows = {(r["source"], r["lang"]): r for r in result.totals.to_pylist()}
    assert set(rows) == {("neko", "ja"), ("cat", "en")}
    assert rows["neko", "ja"]["tokens"] == sum(len(sp.encode(t)) for t in JA)
    assert rows["cat", "en"]["tokens"] == sum(len(sp.encode(t)) for t in EN)
    assert rows["neko", "ja"]["docs"] == 3
    expected = np.bincount(np.concatenate([sp.encode(t) for t in JA + EN]), minlength=sp.get_piece_size())
    assert np.array_equal(result.histogram.counts, expected)
    # two worker processes give the same totals and histogram
    par = count_corpus(str(root), _model(), histogram=True, workers=2, threads=1)
    assert par.totals.equals(result.totals)
    assert np.array_equal(par.histogram.counts, result.histogram.counts)


def test_count_command(tmp_path):
    root = _corpus(tmp_path)
    out, hist = tmp_path / "totals.json", tmp_path / "hist.parquet"
    res = CliRunner().invoke(app, ["count", str(root), "--tokenizer", _model(), "--output", str(out),
                                   "--histogram", str(hist)])
    assert res.exit_code == 0, res.output
    assert "neko" in res.output and "ja" in res.output
    totals = json.loads(out.read_text())["totals"]
    h = pq.read_table(hist)
    assert sum(h.column("count").to_pylist()) == sum(r["tokens"] for r in totals)
    assert "猫" in "".join(h.column("piece").to_pylist())


def test_count_without_tokenizer_sums_n_tokens_and_reports_bad_files(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    pq.write_table(pa.table({"text": ["あ", "b"], "source": ["s", "s"], "n_tokens": [3, 4],
                             "token_ids": pa.array([[5, 6, 5], [1, 2, 3, 4]], pa.list_(pa.uint32()))}),
                   root / "a.parquet")
    (root / "bad.jsonl").write_text('{"text": "ok", "n_tokens": 1}\n{"text": broken\n')
    result = count_corpus(str(root), histogram=True)
    assert result.totals.column("tokens").to_pylist() == [7]
    assert result.histogram.counts.tolist() == [0, 1, 1, 1, 1, 2, 1]  # from the token_ids column
    assert len(result.errors) == 1 and result.errors[0][0].endswith("bad.jsonl")
    res = CliRunner().invoke(app, ["count", str(root)])
    assert res.exit_code == 1


def test_partition_folders_read_as_the_run_output_reads_them(tmp_path):
    from corpusforge.io.output import open_output
    from corpusforge.io.writers import partition_dir

    langs = ["ja", "en US", "en/US", None]
    for i, lang in enumerate(langs):
        folder = tmp_path / partition_dir("lang", lang)
        folder.mkdir()
        pq.write_table(pa.table({"text": [f"doc {i}"], "n_tokens": [i + 1]}), folder / "part-0.parquet")
    result = count_corpus(str(tmp_path), by=["lang"])
    assert {r["lang"]: r["tokens"] for r in result.totals.to_pylist()} == {
        lang: i + 1 for i, lang in enumerate(langs)}
    assert sorted(open_output(str(tmp_path)).to_table().column("lang").to_pylist(),
                  key=str) == sorted(langs, key=str)
