"""The end-of-run summary: tokens per language and per source, and each mix target met or not,
from the run's own accounting (per unit, merged, kept across a resume) and in stats.json."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.accounting import RunStats, StepStats
from corpusforge.config import Pipeline
from corpusforge.engine import run_pipeline

from conftest import ROOT, shared_data


def _model() -> str:
    return str(shared_data("tokenizers", "llm-jp-tokenizer", "code10K_en20K_ja30K.ver2.2.model"))


def _inputs(tmp: Path) -> dict[str, list[str]]:
    neko = gzip.decompress(shared_data("ja", "aozora_neko", "wagahaiwa_nekodearu.txt.gz").read_bytes()).decode()
    botchan = gzip.decompress(shared_data("en", "botchan.txt.gz").read_bytes()).decode().replace("\r\n", "\n")
    lines = botchan.split("\n")
    texts = {"neko": [x for x in neko.split("\n") if len(x) > 20][:400],
             "botchan": [" ".join(lines[i:i + 4]) for i in range(0, len(lines), 4)][:300]}
    for name, rows in texts.items():
        with (tmp / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for i, text in enumerate(rows):
                f.write(json.dumps({"id": f"{name}-{i}", "text": text}, ensure_ascii=False) + "\n")
    return texts


PIPELINE = """\
name: summary
inputs:
  - {{type: jsonl, path: {tmp}/neko.jsonl, source: neko, unit_bytes: 60kB}}
  - {{type: jsonl, path: {tmp}/botchan.jsonl, source: botchan, unit_bytes: 60kB}}
steps:
  - {{step: langid}}
  - {{step: tokenize, tokenizer: {model}}}
stages:
  # English asks for fewer tokens than its shortest document holds: a target no sample meets
  - mix: {{targets: {{ja: 30000, en: 3}}, tolerance: 0.02}}
output: {{path: {out}, keep_intermediate: true}}
"""


def cli(*args: str, cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    r = subprocess.run([sys.executable, "-m", "corpusforge.cli", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _summary(printed: str) -> list[str]:
    """The token and target lines of a printed summary."""
    return [line.strip() for line in printed.splitlines()
            if line.startswith(("tokens after", "  per ", "target of"))]


def _tokens_of(table: pa.Table) -> tuple[Counter, Counter]:
    by_lang, by_source = Counter(), Counter()
    for row in table.select(["lang", "source", "n_tokens"]).to_pylist():
        by_lang[row["lang"]] += row["n_tokens"]
        by_source[row["source"]] += row["n_tokens"]
    return by_lang, by_source


def test_summary_shows_tokens_per_language_and_source_and_each_target(tmp_path):
    import sentencepiece as spm

    texts = _inputs(tmp_path)
    (tmp_path / "p.yaml").write_text(PIPELINE.format(tmp=tmp_path, model=_model(), out=tmp_path / "out"))
    printed = cli("run", "p.yaml", "--workers", "1", "--quiet", cwd=tmp_path)
    out = tmp_path / "out"
    stats = RunStats.from_dict(json.loads((out / "stats.json").read_text()))
    assert stats.units >= 4  # counted per unit and merged
    tokenize, mix = stats.steps[-2], stats.steps[-1]

    # the tokenize step's counts: what SentencePiece gives the input, per source; per
    # language as langid labelled the documents
    sp = spm.SentencePieceProcessor(model_file=_model())
    for source, rows in texts.items():
        assert sum(tokenize.tokens[source].values()) == sum(len(ids) for ids in sp.encode(rows))
    mapped = pa.concat_tables([pq.read_table(f) for f in sorted((out / "_map").rglob("*.parquet"))])
    by_lang, by_source = _tokens_of(mapped)
    assert tokenize.tokens_by("language") == dict(by_lang) and by_lang["ja"] and by_lang["en"]
    assert tokenize.tokens_by("source") == dict(by_source)

    # the mix: its train copies, per language and source, and each target against them
    train = pa.concat_tables([pq.read_table(f) for f in sorted((out / "train").glob("*.parquet"))])
    by_lang, by_source = _tokens_of(train)
    assert mix.tokens_by("language") == dict(by_lang) and mix.tokens_by("source") == dict(by_source)
    manifest = json.loads((out / "mix_manifest.json").read_text())["languages"]
    assert {lang: (t["tokens"], t["met"]) for lang, t in mix.targets.items()} == {
        lang: (m["achieved"], m["met"]) for lang, m in manifest.items()}
    assert mix.targets["ja"]["met"] and not mix.targets["en"]["met"]

    total = sum(by_lang.values())
    share = {k: f"{n / total:.1%}" for k, n in (by_lang | by_source).items()}
    ja, en = by_lang["ja"], by_lang["en"]
    assert _summary(printed) == [
        f"tokens after mix: {total:,}",
        "per language: " + ", ".join(f"{k} {n:,} ({share[k]})" for k, n in mix.tokens_by("language").items()),
        "per source: " + ", ".join(f"{k} {n:,} ({share[k]})" for k, n in mix.tokens_by("source").items()),
        f"target of mix for ja: 30,000 tokens, got {ja:,} ({(ja - 30000) / 30000:+.2%}): met",
        f"target of mix for en: 3 tokens, got {en:,} ({(en - 3) / 3:+.2%}): NOT MET",
    ]
    # the step table has the tokens each step passed on
    row = next(line for line in printed.splitlines() if line.startswith("│tokenize"))
    assert f"{tokenize.token_total():,}" in row

    # `corpusforge stats` shows the same, and stats.json has the figures for a script
    assert _summary(cli("stats", "out", cwd=tmp_path)) == _summary(printed)
    raw = json.loads((out / "stats.json").read_text())
    assert raw["tokens"] == {"after": "mix", "total": total, "languages": mix.tokens_by("language"),
                             "sources": mix.tokens_by("source")}
    assert raw["targets"]["mix"]["en"] == {"target": 3.0, "tokens": en, "met": False, "validation": 0}


class Stop(Exception):
    """Ends a run half-way, as a kill would (its finished units have left their markers)."""


def test_token_counts_after_a_resume_equal_an_uninterrupted_run(tmp_path):
    _inputs(tmp_path)

    def pipeline(out: str) -> Pipeline:
        import yaml

        return Pipeline.from_dict(yaml.safe_load(PIPELINE.format(tmp=tmp_path, model=_model(), out=tmp_path / out)))

    whole = run_pipeline(pipeline("whole"), workers=1)
    done = []

    def stop_after_two(unit, stats) -> None:
        done.append(unit)
        if len(done) == 2:
            raise Stop

    with pytest.raises(Stop):
        run_pipeline(pipeline("resumed"), workers=1, on_done=stop_after_two)
    assert len(list((tmp_path / "resumed" / "_state").glob("unit-*.json"))) == 2
    resumed = run_pipeline(pipeline("resumed"), workers=1, resume=True)
    assert [s.to_dict() | {"seconds": 0} for s in resumed.steps] == [
        s.to_dict() | {"seconds": 0} for s in whole.steps]
    assert resumed.steps[-2].tokens == whole.steps[-2].tokens and whole.steps[-2].tokens


def test_stats_without_tokens_read_and_write_as_before():
    st = StepStats("length", docs_in=3, docs_out=2, removed={"too_short": 1})
    assert set(st.to_dict()) == {"name", "docs_in", "docs_out", "bytes_in", "bytes_out", "removed",
                                 "errored", "seconds"}
    assert "tokens" not in RunStats([st]).to_dict()
    assert StepStats.from_dict(st.to_dict()) == st


def test_token_counts_round_trip_and_damaged_ones_are_refused():
    st = StepStats("mix", docs_in=2, docs_out=2, tokens={"neko": {"ja": 10}, "botchan": {"en": 5}},
                   targets={"ja": {"target": 10.0, "tokens": 10, "met": True}})
    assert StepStats.from_dict(json.loads(json.dumps(st.to_dict()))) == st
    for bad in ({"tokens": {"neko": {"ja": -1}}}, {"tokens": {"neko": 3}}, {"tokens": [1]},
                {"targets": {"ja": {"target": "x", "tokens": 1, "met": True}}},
                {"targets": {"ja": {"target": 1, "tokens": 1, "met": "yes"}}}):
        with pytest.raises(ValueError, match=re.escape(next(iter(bad)))):
            StepStats.from_dict(st.to_dict() | bad)
