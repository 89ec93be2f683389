"""`count` on every kind of output folder a run writes: each document once, run files not data."""

from __future__ import annotations

import json

import orjson
import pyarrow.compute as pc
import pytest
import test_mix_stage as mix
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.io.output import read_output
from corpusforge.tokenize.count import count_corpus

JA = ["吾輩は猫である。", "名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。", "吾輩は猫である。"]
EN = ["I am a cat.", "As yet I have no name."]


def _count(path, *args: str) -> dict:
    out = path.parent / f"{path.name}-count.json"
    result = CliRunner().invoke(app, ["count", str(path), "--output", str(out), *args])
    assert result.exit_code == 0, result.output
    # the terminal wraps long lines: words are compared, not line breaks
    return orjson.loads(out.read_bytes()) | {"stdout": " ".join(result.output.split())}


def _run(tmp_path, name: str, steps: str = "[]", stages: str = "", output: str = "") -> None:
    with open(tmp_path / "in.jsonl", "w", encoding="utf-8") as f:
        for i, text in enumerate(JA + EN):
            f.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")
    run_pipeline(pipeline_from_yaml(f"""
name: {name}
inputs: [{{type: jsonl, path: {tmp_path}/in.jsonl, source: neko}}]
steps: {steps}
{stages}
output: {{path: {tmp_path / name}{output}}}
"""), workers=1)


def _totals(report: dict) -> tuple[int, int | None, int | None]:
    rows = report["totals"]
    tokens, chars = [r["tokens"] for r in rows], [r["chars"] for r in rows]
    return (sum(r["docs"] for r in rows), None if None in tokens else sum(tokens),
            None if None in chars else sum(chars))


def test_a_plain_run_without_tokens_reports_documents_and_characters(tmp_path):
    _run(tmp_path, "plain")
    report = _count(tmp_path / "plain")
    assert _totals(report) == (6, None, sum(map(len, JA + EN)))  # stats.json is not read
    assert report["errors"] == [] and len(report["untokenized"]) == report["files"]
    assert "documents and characters only" in report["stdout"]


def test_a_partitioned_tokenized_run_and_its_tokenizer_count_agree(tmp_path):
    model = mix._model()
    _run(tmp_path, "part", steps=f"[{{step: corpusforge.tokenize:Tokenize, tokenizer: {model}}}]",
         output=", partition_by: source")
    summed = _count(tmp_path / "part")
    assert {r["source"] for r in summed["totals"]} == {"neko"}
    tokens = pc.sum(read_output(str(tmp_path / "part")).column("n_tokens")).as_py()
    assert _totals(summed) == (6, tokens, sum(map(len, JA + EN)))
    assert _totals(_count(tmp_path / "part", "--tokenizer", model)) == _totals(summed)


def test_a_run_with_stages_counts_its_final_documents_only(tmp_path):
    _run(tmp_path, "staged", stages="stages: [{dedup: {exact: {on: [text]}}}]", output=", format: jsonl")
    # the duplicate 吾輩は猫である。 is gone; _map/ (the map phase's copy) and _rejects/ are not read
    assert _totals(_count(tmp_path / "staged"))[0] == 5


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mix")
    mix._inputs(tmp)
    run_pipeline(pipeline_from_yaml(mix._yaml(tmp)), workers=1)
    return tmp / "out"


def test_a_mix_output_counts_each_document_once(mixed):
    manifest = orjson.loads((mixed / "mix_manifest.json").read_bytes())
    report = _count(mixed)
    docs, tokens, _ = _totals(report)
    # train + validation, from the Parquet copy; the manifest is not read as documents
    assert tokens == manifest["total"]["achieved"] + manifest["total"]["validation"]
    assert docs == read_output(str(mixed / "train")).num_rows + sum(
        read_output(str(p)).num_rows for p in (mixed / "validation").iterdir())
    assert {r["lang"] for r in report["totals"]} == {"ja", "en"}
    assert report["copies_left_out"] and all(n.startswith(("jsonl/", "megatron/"))
                                             for n in report["copies_left_out"])
    assert "jsonl/, megatron/" in report["stdout"]
    assert _totals(_count(mixed, "--tokenizer", mix._model()))[:2] == (docs, tokens)
    result = count_corpus(str(mixed))
    assert result.files == len(list(mixed.glob("train/*.parquet"))) + len(list(mixed.glob("validation/*/*.parquet")))


def test_the_jsonl_and_megatron_copies_of_a_mix_count_alone(mixed):
    docs, tokens, _ = _totals(_count(mixed))
    jsonl = _count(mixed / "jsonl")
    assert _totals(jsonl)[:2] == (docs, tokens) and {r["source"] for r in jsonl["totals"]} == {"neko", "botchan"}
    megatron = _count(mixed / "megatron")
    # Megatron documents end with an end-of-document id; no text, so no characters
    assert _totals(megatron)[:2] == (docs, tokens + docs)
    assert all(r["chars"] is None for r in megatron["totals"])
