"""The top-level tokenizer:/mix:/outputs:/validation: shorthand of a pipeline file."""

from __future__ import annotations

import pytest

from corpusforge.config import pipeline_from_yaml
from corpusforge.yamlsource import ConfigError

HEAD = """name: t
inputs: [{type: demo, docs: 10}]
output: {path: out/t}
"""


@pytest.fixture
def model_files(files_here):
    files_here("a.model", "b.model")


def test_shorthand_becomes_a_tokenize_step_and_a_mix_stage(model_files):
    p = pipeline_from_yaml(HEAD + """tokenizer: {sentencepiece: a.model}
mix:
  targets: {ja: 145e9, en: 145e9, code: 10e9}
  max_epochs: 4
  sources: {mc4-ja: {weight: 1.0}, wiki-ja: {weight: 2.0}}
outputs: [parquet, megatron, jsonl]
validation: {tokens_per_subset: 10e6}
""")
    assert [s.display_name for s in p.steps] == ["tokenize"]
    assert p.steps[0].params == {"tokenizer": {"sentencepiece": "a.model"}}
    (stage,) = p.stages
    assert stage.display_name == "mix"
    assert stage.params["outputs"] == ["parquet", "megatron", "jsonl"]
    assert "validation" in stage.params
    assert stage.params["tokenizer"] == {"sentencepiece": "a.model"}
    mix = p.build_stages()[0]
    assert mix.config.language_targets()["ja"] == 145e9  # YAML reads 145e9 as text; the model parses it
    assert mix.config.validation.tokens_per_subset == 10e6


def test_an_existing_tokenize_step_is_not_doubled(model_files):
    p = pipeline_from_yaml(HEAD + """steps:
  - {step: corpusforge.tokenize:Tokenize, tokenizer: b.model, ids: true}
tokenizer: {sentencepiece: a.model}
""")
    assert len(p.steps) == 1 and p.steps[0].params["ids"] is True and not p.stages


def test_errors_name_the_key_and_line():
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(HEAD + """mix:
  targets: {ja: 1e6}
  max_epoch: 4
outputs: [parquet, arrow]
""")
    text = e.value.render()
    assert ":6: mix.max_epoch" in text and ":7: outputs[1]" in text
    with pytest.raises(ConfigError, match="megatron output needs `tokenizer`"):
        pipeline_from_yaml(HEAD + "mix: {targets: {ja: 1e6}}\noutputs: [megatron]\n")
    with pytest.raises(ConfigError, match="belongs to a token mix"):
        pipeline_from_yaml(HEAD + "outputs: [parquet]\n")
