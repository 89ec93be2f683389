"""Declared columns: every built-in step adds exactly the columns it says it adds, and needs what
it says it needs (on Japanese, English and code documents)."""

from __future__ import annotations

import textwrap

import pyarrow as pa
import pytest

from corpusforge.config import pipeline_from_yaml
from corpusforge.mix import MixError
from corpusforge.steps import Filter, registered_steps
from corpusforge.steps.build import build_step
from corpusforge.yamlsource import ConfigError

from conftest import shared_data

TEXTS = [
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。",
    "メールは taro@example.jp まで。電話 075-123-4567、カード 4111 1111 1111 1111。",
    "The quick brown fox jumps over the lazy dog.\nIt was the best of times, it was the worst of times...",
    "def add(a, b):\n    return a + b\n",
]


def _batch(with_lang: bool = False) -> pa.Table:
    """Documents; with the columns a language-ID step adds when ``with_lang``."""
    n = len(TEXTS)
    batch = pa.table({
        "id": [f"d{i}" for i in range(n)],
        "text": TEXTS,
        "source": ["web", "web", "web", "code"],
        "url": ["https://example.jp/neko", None, "https://example.com/a", "https://git.example/r/add.py"],
    })
    if with_lang:
        batch = batch.append_column("lang", pa.array(["ja", "ja", "en", None]))
        batch = batch.append_column("lang_score", pa.array([0.99, 0.9, 0.95, None]))
    return batch


#: steps that need more than defaults to run here; each is covered below with its parameters
SPECIAL = {"tokenize", "extract_html", "per_source", "route"}

#: configs whose columns differ from the defaults'
VARIANTS = [
    {"step": "gopher_repetition", "top_n_grams": [[2, 0.3]], "dup_n_grams": [[7, 0.2], [9, 0.1]]},
    {"step": "swallow", "ngram_unit": "char", "top_n_grams": [[3, 0.2]], "dup_n_grams": [[6, 0.1]]},
    {"step": "ng_words", "words": ["猫"], "signal": "neko"},
    {"step": "lang_score", "languages": ["ja"]},
    {"step": "pii_mask", "ip": None, "card": None},
    {"step": "pii_mask", "count_columns": False},
    {"step": "langid", "keep_signals": False},
    {"step": "code_route", "sources": ["code"]},
]


def _entries() -> list[dict]:
    plain = [{"step": name} for name in registered_steps() if name not in SPECIAL]
    return plain + VARIANTS


def _added(step, batch: pa.Table) -> set[str]:
    result = step.apply(batch)
    return set(result.out.column_names) - set(batch.column_names)


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: "-".join(str(v) for v in e.values())[:60])
def test_declared_columns_are_the_columns_added(entry):
    first = build_step(entry)
    batch = _batch(with_lang=bool(first.needed_columns()))
    modes = [{}]
    if isinstance(first, Filter):
        modes = [{"mode": "filter"}, {"mode": "annotate"}, {"mode": "filter", "keep_signals": True}]
    for mode in modes:
        step = build_step({**entry, **mode}, label="x")
        declared = step.added_columns()
        assert declared is not None, f"{entry['step']} does not declare its columns"
        assert _added(step, batch) == declared, (entry, mode)


def test_declared_needs_are_needed():
    batch = _batch(with_lang=True)
    for entry in ({"step": "lang_score"}, {"step": "lang_score", "languages": ["ja"]},
                  {"step": "url_filter", "url_column": "link"}):
        step = build_step(entry)
        for column in step.needed_columns():
            missing = batch.drop_columns([column]) if column in batch.column_names else batch
            with pytest.raises(KeyError):
                step.apply(missing)


def test_tokenize_declares_its_columns():
    model = str(shared_data("tokenizers", "llm-jp-tokenizer", "code10K_en20K_ja30K.ver2.2.model"))
    batch = _batch()
    for entry in ({"tokenizer": model}, {"tokenizer": model, "ids": True, "n_tokens_column": "toks"}):
        step = build_step({"step": "tokenize", **entry})
        assert _added(step, batch) == step.added_columns()


def test_per_source_declares_what_its_chain_needs_and_adds():
    inner = [{"step": "lang_score", "languages": ["ja"]}, {"step": "length", "mode": "annotate"},
             {"step": "tokenize", "tokenizer": "x.model"}]
    step = build_step({"step": "per_source", "sources": ["web"], "steps": inner})
    assert step.needed_columns() == {"lang", "lang_score"}
    assert step.added_columns() == {"length_keep", "length_reason", "n_chars", "n_bytes", "n_tokens"}
    # an inner langid provides what an inner lang_score after it reads
    chain = [{"step": "langid"}, {"step": "lang_score"}]
    assert build_step({"step": "per_source", "sources": ["web"], "steps": chain}).needed_columns() == set()
    batch = _batch(with_lang=True)
    applied = build_step({"step": "per_source", "sources": ["web"], "steps": inner[:2]}).apply(batch)
    assert set(applied.out.column_names) - set(batch.column_names) == {"length_keep", "length_reason",
                                                                       "n_chars", "n_bytes"}


# --- the order check at validation ----------------------------------------------------------


def _refusals(yaml: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(textwrap.dedent(yaml))
    return [(i.line, i.dotted(), i.message) for i in e.value.issues]


JSONL = "inputs: [{type: jsonl, path: ja.jsonl, source: ja}]\noutput: {path: out}\n"


def test_mix_without_a_tokenize_step_before_it_is_refused_at_its_line():
    yaml = JSONL + textwrap.dedent("""\
        steps:
          - step: normalize
        stages:
          - stage: mix
            targets: {ja: 1000}
        """)
    [(line, key, msg)] = _refusals(yaml)
    assert (line, key) == (6, "stages[0]")
    assert msg == "mix: no 'n_tokens' column: add a tokenize step before it (or a top-level `tokenizer:`)"
    # a MixError too, as the run used to raise after the map phase
    with pytest.raises(MixError, match="no 'n_tokens' column"):
        pipeline_from_yaml(yaml)
    # the shorthand: `mix:` without `tokenizer:` is refused at the `mix:` line
    [(line, key, _)] = _refusals(JSONL + "mix: {targets: {ja: 1000}}\n")
    assert (line, key) == (3, "mix")


@pytest.fixture
def model_files(files_here):
    files_here("ja.model", "tok.model")


def test_mix_after_tokenize_passes_however_the_tokens_come(model_files):
    tokenize = "{step: tokenize, tokenizer: ja.model}"
    for steps in (f"[{tokenize}]", f"[{{step: per_source, sources: [ja], steps: [{tokenize}]}}]"):
        pipeline_from_yaml(JSONL + f"steps: {steps}\nstages: [{{mix: {{targets: {{ja: 1000}}}}}}]\n")
    pipeline_from_yaml(JSONL + "tokenizer: ja.model\nmix: {targets: {ja: 1000}}\n")
    # counts renamed on both sides
    pipeline_from_yaml(JSONL + "steps: [{step: tokenize, tokenizer: ja.model, n_tokens_column: toks}]\n"
                       "stages: [{mix: {targets: {ja: 1000}, n_tokens_column: toks}}]\n")
    # counts the input already carries
    pipeline_from_yaml(JSONL.replace("source: ja}", "source: ja, metadata: [meta.n_tokens]}")
                       + "stages: [{mix: {targets: {ja: 1000}}}]\n")


def test_lang_score_needs_a_langid_step_before_it():
    before = JSONL + "steps:\n  - step: lang_score\n  - step: langid\n"
    [(line, key, msg)] = _refusals(before)
    assert (line, key) == (4, "steps[0]")
    assert msg == "lang_score: no 'lang_score' column: add a langid step before it"
    pipeline_from_yaml(JSONL + "steps:\n  - step: langid\n  - step: lang_score\n    languages: [ja]\n")
    # langid that drops its signals leaves nothing for lang_score
    [(_, key, _)] = _refusals(JSONL + "steps:\n  - {step: langid, keep_signals: false}\n  - step: lang_score\n")
    assert key == "steps[1]"
    # each missing column is named
    issues = _refusals(JSONL + "steps:\n  - {step: lang_score, languages: [ja]}\n")
    assert [m for _, _, m in issues] == ["lang_score: no 'lang' column: add a langid step before it",
                                         "lang_score: no 'lang_score' column: add a langid step before it"]


def test_a_preset_step_is_refused_at_the_use_line(tmp_path):
    (tmp_path / "ja-score.yaml").write_text("steps:\n  - step: ja_normalize\n  - step: lang_score\n",
                                           encoding="utf-8")
    [(line, key, msg)] = _refusals(JSONL + f"steps:\n  - step: normalize\n  - use: {tmp_path}/ja-score.yaml\n")
    assert (line, key) == (5, "steps[1]") and msg.startswith("ja-score:lang_score: no 'lang_score' column")


def test_per_source_inner_steps_see_the_outer_columns():
    inner = "{step: per_source, sources: [ja], steps: [{step: lang_score}]}"
    [(line, key, msg)] = _refusals(JSONL + f"steps:\n  - {inner}\n")
    assert (line, key) == (4, "steps[0]") and msg.startswith("per_source: no 'lang_score' column")
    pipeline_from_yaml(JSONL + f"steps:\n  - step: langid\n  - {inner}\n")


def test_keep_policy_column_from_metadata_or_an_annotating_step():
    dedup = "stages: [{dedup: {keep: newest, keep_column: timestamp}}]\n"
    [(line, key, msg)] = _refusals(JSONL + dedup)
    assert (line, key) == (3, "stages[0]")
    assert msg == "dedup: no 'timestamp' column: no input and no step before it provides one"
    pipeline_from_yaml(JSONL.replace("source: ja}", "source: ja, metadata: [meta.timestamp]}") + dedup)
    pipeline_from_yaml("inputs: [{type: mc4, path: c4-ja.json.gz}]\noutput: {path: out}\n" + dedup)
    # an annotate-mode filter adds <label>_keep
    steps = "steps: [{step: length, min_chars: 200, label: short, mode: annotate}]\n"
    pipeline_from_yaml(JSONL + steps + "stages: [{dedup: {keep: highest, keep_column: short_keep}}]\n")
    [(_, _, msg)] = _refusals(JSONL + steps.replace(", mode: annotate", "")
                              + "stages: [{dedup: {keep: highest, keep_column: short_keep}}]\n")
    assert "'short_keep'" in msg


def test_reader_columns_count():
    # WARC documents carry their HTTP headers; The Stack its language
    pipeline_from_yaml("inputs: [{type: warc, path: a.warc.gz}]\noutput: {path: out}\n"
                       "stages: [{dedup: {keep: highest, keep_column: http_status}}]\n")
    pipeline_from_yaml("inputs: [{type: stack, path: s.parquet}]\noutput: {path: out}\n"
                       "steps: [{step: lang_score, min_score: 0, score_column: lang}]\n")


def test_a_step_that_does_not_declare_its_columns_stops_the_check():
    # a user step may add any column: nothing after it is refused
    pipeline_from_yaml(JSONL + "steps: [{step: user_steps.Upper}]\nstages: [{mix: {targets: {ja: 1}}}]\n")


def test_validate_command_names_the_step_and_line(tmp_path):
    from typer.testing import CliRunner

    from corpusforge.cli import app

    path = tmp_path / "p.yaml"
    path.write_text(JSONL + "steps:\n  - step: normalize\n  - step: lang_score\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", str(path)])
    assert r.exit_code == 2
    output = " ".join(r.output.split())  # the console wraps long lines
    assert f"{path}:5: steps[1]: lang_score: no 'lang_score' column" in output


def test_a_pipeline_built_in_code_is_checked_when_it_runs(tmp_path):
    """No YAML, no parse-time check: the driver refuses the order before any work starts."""
    from corpusforge.config import Pipeline
    from corpusforge.engine import run_pipeline

    (tmp_path / "ja.jsonl").write_text('{"text": "吾輩は猫である。名前はまだ無い。"}\n', encoding="utf-8")
    p = Pipeline.model_validate({
        "inputs": [{"type": "jsonl", "path": str(tmp_path / "ja.jsonl")}],
        "steps": [{"step": "lang_score", "params": {}}],
        "output": {"path": str(tmp_path / "out")}})
    with pytest.raises(ConfigError) as e:
        run_pipeline(p, workers=1)
    assert e.value.issues[0].dotted() == "steps[0]"
    assert "no 'lang' column" in e.value.issues[0].message or "lang_score" in e.value.issues[0].message
    assert not (tmp_path / "out").exists()


def test_output_settings_a_last_mix_stage_would_ignore_are_refused(model_files):
    yaml = textwrap.dedent("""\
        inputs: [{type: jsonl, path: ja.jsonl, source: ja}]
        output: {path: out, partition_by: lang, format: jsonl}
        steps:
          - {step: tokenize, tokenizer: tok.model}
        stages:
          - {stage: mix, targets: {ja: 1000}}
        """)
    refusals = _refusals(yaml)
    assert [(line, key) for line, key, _ in refusals] == [(2, "output.partition_by"), (2, "output.format")]
    assert "writes its own layout" in refusals[0][2]
    # before another stage it is fine: the mix writes Parquet for the next phase
    pipeline_from_yaml(yaml.replace("stages:\n", "stages:\n  - {dedup: {exact: {on: [text]}}}\n")
                       .replace("  - {stage: mix, targets: {ja: 1000}}\n", "")
                       .replace("- {dedup", "- {stage: mix, targets: {ja: 1000}}\n  - {dedup"))
