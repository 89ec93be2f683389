"""The shipped Common Crawl recipes: each offline sibling is its recipe on local WARC files, and
both run end to end on the shared WARC files with the counts docs/ingestion.md shows."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.compute as pc
import pytest

from corpusforge.config import load_pipeline, pipeline_from_yaml
from corpusforge.engine import run_pipeline

from conftest import ROOT, SHARED_DATA, read_output, shared_data

RECIPES = ["commoncrawl-ja", "commoncrawl-ja-en"]


@pytest.mark.parametrize("name", RECIPES)
def test_the_offline_recipe_is_the_recipe_on_local_files(name):
    remote, _ = load_pipeline(str(ROOT / "pipelines" / f"{name}.yaml"))
    local, _ = load_pipeline(str(ROOT / "pipelines" / f"{name}-local.yaml"))
    assert [i.type for i in remote.inputs] == ["commoncrawl"] and [i.type for i in local.inputs] == ["warc"]
    same = {"name", "inputs", "output"}
    assert local.model_dump(exclude=same) == remote.model_dump(exclude=same)
    assert local.output.model_dump(exclude={"path"}) == remote.output.model_dump(exclude={"path"})
    # a complete recipe: extraction, language ID, quality chains, dedup, token counts
    steps = [s.step for s in remote.steps]
    assert steps[0] == "extract_html" and "langid" in steps and steps[-1] == "tokenize"
    assert [s.stage for s in remote.stages] == ["dedup"] and remote.stages[0].params["minhash"]


def test_the_nightly_recipe_is_commoncrawl_ja_written_to_a_bucket(tmp_path):
    # validated as `corpusforge submit` validates it, with its tokenizer model where it says
    text = (ROOT / "pipelines" / "nightly-commoncrawl-ja.yaml").read_text(encoding="utf-8")
    model = tmp_path / "code10K_en20K_ja30K.ver2.2.model"
    model.write_bytes(b"")
    nightly = pipeline_from_yaml(text.replace("/models/llm-jp-tokenizer/code10K_en20K_ja30K.ver2.2.model",
                                              str(model)))
    recipe, _ = load_pipeline(str(ROOT / "pipelines" / "commoncrawl-ja.yaml"))
    assert nightly.output.path.startswith("s3://") and nightly.executor.type == "ray"
    # an incremental corpus over the newest crawl, a range of its files each night
    assert nightly.incremental and not recipe.incremental
    (cc,), (one,) = nightly.inputs, recipe.inputs
    assert cc.crawls == "latest" and cc.files == "0-99"
    assert cc.model_dump(exclude={"crawl", "crawls", "files"}) == one.model_dump(exclude={"crawl", "crawls", "files"})
    same = {"name", "output", "executor", "tokenizer", "steps", "inputs", "incremental"}
    assert nightly.model_dump(exclude=same) == recipe.model_dump(exclude=same)
    # the same chain; its last step, the token counts, differs only in where the model is
    assert [s.model_dump() for s in nightly.steps[:-1]] == [s.model_dump() for s in recipe.steps[:-1]]
    assert nightly.steps[-1].step == recipe.steps[-1].step == "tokenize"
    assert nightly.output.model_dump(exclude={"path"}) == recipe.output.model_dump(exclude={"path"})


def _run_local(name: str, tmp_path):
    shared_data("warc")
    text = (ROOT / "pipelines" / f"{name}-local.yaml").read_text(encoding="utf-8")
    text = text.replace("../shared/data", str(SHARED_DATA)).replace(f"out/{name}-local", str(tmp_path / "out"))
    stats = run_pipeline(pipeline_from_yaml(text), workers=2)
    by = {s.name: s for s in stats.steps}
    return stats, by, read_output(tmp_path / "out")


def _rejects(tmp_path) -> Counter:
    rejected = read_output(tmp_path / "out" / "_rejects")
    return Counter(zip(rejected.column("step").to_pylist(), rejected.column("reason").to_pylist()))


@pytest.mark.slow
def test_commoncrawl_ja_on_the_shared_warc_files(tmp_path):
    stats, by, out = _run_local("commoncrawl-ja", tmp_path)
    for s in stats.steps:
        s.check()
    # 91 records read (2 unreadable files: the ARC and the clipped WARC are error records)
    assert (by["read"].docs_in, by["read"].errored) == (91, 2)
    # the 29 ClueWeb09 pages of one shop are the Japanese; with include_tables: false each gives
    # its product text (not the shared ranking sidebar), all under Swallow's 400 letters
    assert by["langid"].docs_out == 29
    assert by["ja-swallow:swallow"].removed == {"too_few_letters": 29}
    assert out.num_rows == 0
    assert _rejects(tmp_path)[("ja-swallow:swallow", "too_few_letters")] == 29


@pytest.mark.slow
def test_commoncrawl_ja_en_on_the_shared_warc_files(tmp_path):
    stats, by, out = _run_local("commoncrawl-ja-en", tmp_path)
    for s in stats.steps:
        s.check()
    assert by["langid"].docs_out == 70
    route = by["by-lang"]
    assert route.removed["ja/ja-swallow:swallow:too_few_letters"] == 29
    assert all(r.startswith(("ja/", "en/")) for r in route.removed)
    assert route.docs_out == 31  # with focus: recall one more English page falls to a filter (precision: 32)
    # exact duplicates (allenai.org fetched three times) leave one copy; nothing is written twice
    assert by["dedup"].removed == {"duplicate_exact": 2}
    assert out.num_rows == 29
    texts = out.column("text").to_pylist()
    assert len(set(texts)) == len(texts)
    assert set(out.column("lang").to_pylist()) == {"en"}
    assert pc.min(out.column("n_tokens")).as_py() > 0
    rejects = _rejects(tmp_path)
    assert rejects[("by-lang", "ja/ja-swallow:swallow:too_few_letters")] == 29
    assert rejects[("dedup", "duplicate_exact")] == 2
    stats_json = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats_json["docs_written"] == 29
