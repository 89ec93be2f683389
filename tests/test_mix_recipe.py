"""pipelines/llm-jp-v1.yaml end to end on the local sample inputs built from ../shared/data."""

from __future__ import annotations

import orjson
import pyarrow.compute as pc
import pytest

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.io.megatron import MegatronDataset
from corpusforge.mix.recipe_sample import build

from browser import open_page
from conftest import ROOT, SHARED_DATA, read_output, shared_data
from report_data import page_numbers, stats_numbers


@pytest.mark.slow
def test_llm_jp_v1_recipe_runs_end_to_end(tmp_path, monkeypatch):
    shared_data("tokenizers")
    counts = build(SHARED_DATA, tmp_path / "in")
    assert set(counts) == {"mc4-ja", "wiki-ja", "wiki-en", "pile", "stack"}
    text = (ROOT / "pipelines" / "llm-jp-v1.yaml").read_text()
    text = text.replace("out/llm-jp-v1-inputs", str(tmp_path / "in"))
    text = text.replace("path: out/llm-jp-v1", f"path: {tmp_path / 'out'}")
    monkeypatch.chdir(ROOT)  # the tokenizer path is relative to the project root
    stats = run_pipeline(pipeline_from_yaml(text), workers=2)
    stats.check()
    names = [s.name for s in stats.steps]
    assert names[-2:] == ["dedup", "mix"]
    by = {s.name: s for s in stats.steps}
    assert list(by["pile"].removed) == ["pile_set_name=Books3"] and by["pile"].removed["pile_set_name=Books3"] > 0
    assert any(r.startswith("ja-web:ja_quality:") for r in by["mc4-ja"].removed)
    out = tmp_path / "out"
    train = read_output(out / "train")
    assert "脚注" not in "".join(train.filter(pc.equal(train.column("source"), "wiki-ja")).column("text").to_pylist())
    manifest = orjson.loads((out / "mix_manifest.json").read_bytes())
    assert manifest["languages"]["ja"]["requested"] == pytest.approx(145e9 * 2e-6)
    # a few hundred documents of up to ~10k tokens: within a document's rounding, not 0.1%
    assert abs(manifest["languages"]["ja"]["relative_error"]) < 1e-2
    assert abs(manifest["languages"]["en"]["relative_error"]) < 1e-2
    for lang in ("ja", "en", "code"):
        got = pc.sum(train.filter(pc.equal(train.column("lang"), lang)).column("n_tokens")).as_py()
        assert got == manifest["languages"][lang]["achieved"]
    ds = [MegatronDataset(p.with_suffix("")) for p in sorted((out / "megatron" / "train").glob("*.idx"))]
    assert sum(len(d) for d in ds) == train.num_rows
    assert {p.name for p in (out / "validation").iterdir()} == {
        "ja_mc4-ja", "ja_wiki-ja", "en_wiki-en", "en_pile", "code_stack"}
    # the run's report, in a browser: every step and stage with the figures of stats.json, the
    # per-source filters' signals among them, and the mix targets
    with open_page((out / "report.html").as_uri()) as (page, console):
        numbers = page_numbers(page)
        targets = page.evaluate("() => [...document.querySelectorAll('tr.target')].map(t => t.dataset.lang)")
    assert console.errors == [] and console.foreign_requests == []
    assert numbers == stats_numbers(orjson.loads((out / "stats.json").read_bytes()))
    assert any(k.startswith("ja-web:ja_quality:") for k in numbers["mc4-ja"]["histograms"])
    assert sorted(targets) == ["code", "en", "ja"]
