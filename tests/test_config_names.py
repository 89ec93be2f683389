"""A misspelt name gets the closest one in its message (step, preset, stage, input type, any key
at any depth), and every error names the pipeline file: YAML syntax errors too."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.yamlsource import ConfigError

runner = CliRunner()

BASE = """\
name: t
inputs:
  - type: demo
    docs: 10
output:
  path: out
"""


def issues(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(textwrap.dedent(text))
    return [(i.line, i.dotted(), i.message) for i in e.value.issues]


@pytest.mark.parametrize("steps,line,key,message", [
    ("  - step: gopher_qualty\n", 8, "steps[0].step",
     "unknown step 'gopher_qualty' (did you mean 'gopher_quality'?); registered steps: "),
    ("  - step: ja_normalise\n", 8, "steps[0].step", "unknown step 'ja_normalise' (did you mean 'ja_normalize'?)"),
    ("  - use: ja-wbe\n", 8, "steps[0].use", "no preset named 'ja-wbe' (did you mean 'ja-web'?)"),
    ("  - use: ja-web\n    overides: {}\n", 9, "steps[0].overides",
     "a `use:` entry takes only `overrides:`, not ['overides'] (did you mean 'overrides'?)"),
    ("  - use: ja-web\n    overrides: {ja_qualty: {variant: strict}}\n", 9, "steps[0].overrides.ja_qualty",
     "overrides name steps not in preset 'ja-web': ['ja_qualty'] (did you mean 'ja_quality'?)"),
    ("  - step: length\n    min_charz: 5\n", 9, "steps[0].min_charz",
     "unknown key 'min_charz' (did you mean 'min_chars'?)"),
    ("  - step: ja_quality\n    ng_list: [ja/adult]\n", 9, "steps[0].ng_list",
     "unknown key 'ng_list' (did you mean 'ng_lists'?)"),
    ("  - step: tokenize\n    tokenizer: {sentencepeice: ja.model}\n", 9,
     "steps[0].tokenizer.sentencepeice",
     "unknown key 'sentencepeice' (did you mean 'sentencepiece'?)"),
    ("  - step: route\n    branches:\n      ja: {steps: [{step: swallow, max_katakna_frac: 0.4}]}\n", 10,
     "steps[0].branches.ja.steps[0].max_katakna_frac", "unknown key 'max_katakna_frac' (did you mean 'max_katakana_frac'?)"),
])
def test_misspelt_steps_presets_and_their_keys(steps, line, key, message):
    [(got_line, got_key, got)] = issues(BASE + "steps:\n" + steps)
    assert (got_line, got_key) == (line, key)
    assert message in got


@pytest.mark.parametrize("stages,line,key,message", [
    ("  - dedupe: {exact: {on: [text]}}\n", 8, "stages[0].dedupe",
     "unknown stage 'dedupe' (did you mean 'dedup'?); registered stages: dedup, mix"),
    ("  - stage: dedpu\n", 8, "stages[0].stage", "unknown stage 'dedpu' (did you mean 'dedup'?)"),
    ("  - dedup:\n      minhash: {threshlod: 0.7}\n", 9, "stages[0].dedup.minhash.threshlod",
     "unknown key 'threshlod' (did you mean 'threshold'?)"),
    ("  - dedup:\n      exact: {onn: [text]}\n", 9, "stages[0].dedup.exact.onn",
     "unknown key 'onn' (did you mean 'on'?)"),
    ("  - dedup: {keep_colum: date}\n", 8, "stages[0].dedup.keep_colum",
     "unknown key 'keep_colum' (did you mean 'keep_column'?)"),
])
def test_misspelt_stages_and_nested_dedup_keys(stages, line, key, message):
    [(got_line, got_key, got)] = issues(BASE + "stages:\n" + stages)
    assert (got_line, got_key, got) == (line, key, message) or (
        (got_line, got_key) == (line, key) and got.startswith(message))


def test_misspelt_input_type_and_keys_at_every_level():
    text = """\
        name: t
        inputs:
          - type: jsnl
            path: ja.jsonl
          - type: jsonl
            path: ja.jsonl
            metdata: [lang]
        output:
          path: out
          formt: jsonl
        executr: {type: local}
        batch: {max_docz: 10}
        tokeniser: ja.model
        """
    found = {key: (line, msg) for line, key, msg in issues(text)}
    assert found == {
        "inputs[0]": (3, "unknown type 'jsnl' (did you mean 'jsonl'?); one of: jsonl, json, parquet, hf, text, tar, demo, "
                         "warc, commoncrawl, mc4, pile, stack"),
        "inputs[1].metdata": (7, "unknown key 'metdata' (did you mean 'metadata'?)"),
        "output.formt": (10, "unknown key 'formt' (did you mean 'format'?)"),
        "executr": (11, "unknown key 'executr' (did you mean 'executor'?)"),
        "batch.max_docz": (12, "unknown key 'max_docz' (did you mean 'max_docs'?)"),
        # a shorthand key is a top-level key too
        "tokeniser": (13, "unknown key 'tokeniser' (did you mean 'tokenizer'?)"),
    }


def test_mix_keys_nested_in_its_sources():
    [(line, key, msg)] = issues(BASE + "mix:\n  targets: {ja: 1000}\n  sources: {ja-web: {wieght: 2}}\n")
    assert (line, key, msg) == (9, "mix.sources.ja-web.wieght", "unknown key 'wieght' (did you mean 'weight'?)")


def test_with_no_close_key_the_accepted_ones_are_listed():
    [(_, key, msg)] = issues(BASE.replace("  path: out\n", "  path: out\n  zzz: 1\n"))
    assert key == "output.zzz"
    assert msg == ("unknown key 'zzz' (accepted here: compression, format, keep_intermediate, "
                   "max_shard_bytes, partition_by, path, rejects, rejects_text, storage_options)")


def test_cli_names_the_file_and_line_of_a_misspelt_step(tmp_path):
    p = tmp_path / "ja.yaml"
    p.write_text(BASE.replace("path: out", f"path: {tmp_path / 'out'}") + "steps:\n  - step: gopher_qualty\n",
                 encoding="utf-8")
    for command in ("validate", "run"):
        r = runner.invoke(app, [command, str(p)], env={"COLUMNS": "400"})
        assert r.exit_code == 2
        assert f"{p}:8: steps[0].step: unknown step 'gopher_qualty' (did you mean 'gopher_quality'?)" in r.output
    assert not (tmp_path / "out").exists()


# --- the pipeline file is named ---------------------------------------------------------------


@pytest.mark.parametrize("text,line,message", [
    ("name: [a\ninputs: x\n", 2, "not valid YAML: did not find expected ',' or ']' (column 7), "
                                 "while parsing a flow sequence at line 1, column 7"),
    ("名前: 日本語\n  ステップ: 1\n", 2, "not valid YAML: mapping values are not allowed in this context (column 7)"),
    ("steps: *nope\n", 1, "not valid YAML: found undefined alias (column 8)"),
    ('name: "\x07"\n', 1, "not valid YAML: unacceptable character #x0007: control characters are not allowed"),
])
def test_yaml_syntax_errors_name_the_file(tmp_path, text, line, message):
    p = tmp_path / "壊れた.yaml"
    p.write_text(text, encoding="utf-8")
    for command in ("validate", "run"):
        r = runner.invoke(app, [command, str(p)], env={"COLUMNS": "400"})
        assert r.exit_code == 2
        assert r.output == f"invalid pipeline config\n{p}:{line}: <root>: {message}\n"
    assert "unicode string" not in r.output


def test_a_pipeline_given_as_text_has_a_name():
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml("name: [a\n")
    assert e.value.render().startswith("invalid pipeline config\n<pipeline text>:2: <root>: not valid YAML: ")
    assert "unicode string" not in e.value.render()
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(BASE + "steps: [{step: lenght}]\n", name="recipes/ja.yaml")
    assert e.value.render().startswith("invalid pipeline config\nrecipes/ja.yaml:7: steps[0].step: unknown step "
                                       "'lenght' (did you mean 'length'?)")


def test_a_broken_preset_file_is_named(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text("steps:\n  - step: [ja_quality\n", encoding="utf-8")
    [(line, key, msg)] = issues(BASE + f"steps:\n  - use: {tmp_path}/mine.yaml\n")
    assert (line, key) == (8, "steps[0].use")
    assert msg.startswith(f"preset {tmp_path}/mine.yaml: line 3: not valid YAML: did not find expected ',' or ']'")
    assert "unicode string" not in msg
