"""Files a step or stage needs are checked before any work: at ``validate`` and before ``run``
starts, a missing or unreadable one is a config error (exit 2) naming the key, the file and
the YAML line, and the run writes nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated

import fsspec
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import Pipeline, pipeline_from_yaml
from corpusforge.models import NeedsFile
from corpusforge.steps.base import MapStep, StepConfig
from corpusforge.yamlsource import ConfigError

from conftest import JA

runner = CliRunner()

HEAD = """\
name: t
inputs:
  - type: demo
    docs: 10
output:
  path: {out}
steps:
"""
#: the first line of the steps written after HEAD
FIRST = 8

#: a Japanese NG-word list, as a user writes one (one entry per line, `#` comments)
JA_WORDS = "# 自作のNGワード\n賭博\n闇金\n"


class ReadingsConfig(StepConfig):
    #: a user dictionary of readings (kanji -> kana), one entry per line
    dictionary: Annotated[str, NeedsFile("readings dictionary")]


class Readings(MapStep[ReadingsConfig]):
    """A step of a user's own with a file parameter: marked, it is checked like the built-in ones."""

    name = "test_readings"

    def process(self, batch: pa.Table) -> pa.Table:
        return batch


def _pipeline(tmp_path: Path, steps: str, tail: str = "") -> Path:
    p = tmp_path / "パイプライン.yaml"  # a Japanese file name: messages name it as it is
    text = HEAD.format(out=tmp_path / "out") + textwrap.dedent(steps) + textwrap.dedent(tail)
    p.write_text(text.replace("TMP", str(tmp_path)), encoding="utf-8")
    return p


def _refused(tmp_path: Path, steps: str, tail: str = "") -> list[str]:
    """The lines `validate` and `run` print for the pipeline: both exit 2 with the same message
    and the run leaves no output folder."""
    p = _pipeline(tmp_path, steps, tail)
    found = []
    for command in ("validate", "run"):
        r = runner.invoke(app, [command, str(p)], env={"COLUMNS": "400"})
        assert r.exit_code == 2, r.output
        assert r.output.startswith("invalid pipeline config"), r.output
        assert "Traceback" not in r.output
        found.append(r.output.splitlines()[1:])
    assert found[0] == found[1]
    assert not (tmp_path / "out").exists()
    for line in found[0]:
        assert line.startswith(f"{p}:"), line
    return found[0]


def _fine(tmp_path: Path, steps: str, tail: str = "") -> str:
    r = runner.invoke(app, ["validate", str(_pipeline(tmp_path, steps, tail))])
    assert r.exit_code == 0, r.output
    return r.output


def test_missing_langid_model(tmp_path):
    [line] = _refused(tmp_path, """\
          - step: langid
            model: TMP/lid.missing.ftz
            keep: [ja]
        """)
    assert line.endswith(f":{FIRST + 1}: steps[0].model: fastText model '{tmp_path}/lid.missing.ftz' not found")


def test_a_model_file_is_not_loaded_at_validate(tmp_path):
    # an empty file is no fastText model: validate passes because it only checks the file is there
    (tmp_path / "empty.ftz").write_bytes(b"")
    _fine(tmp_path, "  - {step: langid, model: TMP/empty.ftz}\n")


def test_a_model_given_as_a_url_is_refused(tmp_path):
    [line] = _refused(tmp_path, "  - {step: langid, model: 's3://bucket/lid.176.bin'}\n")
    assert line.endswith(f":{FIRST}: steps[0].model: fastText model 's3://bucket/lid.176.bin' is a URL; "
                         "a fastText model is read from a local path")


@pytest.mark.parametrize("form,key", [
    ("tokenizer: TMP/ja.model", "steps[0].tokenizer"),
    ("tokenizer: {sentencepiece: TMP/ja.model}", "steps[0].tokenizer.sentencepiece"),
])
def test_missing_tokenizer(tmp_path, form, key):
    [line] = _refused(tmp_path, f"  - step: tokenize\n    {form}\n")
    assert f":{FIRST + 1}: {key}: " in line and f"'{tmp_path}/ja.model' not found" in line


def test_tokenizer_folder_without_its_file(tmp_path):
    (tmp_path / "hf").mkdir()
    [line] = _refused(tmp_path, "  - step: tokenize\n    tokenizer: {hf_tokenizer: TMP/hf}\n")
    assert line.endswith(f":{FIRST + 1}: steps[0].tokenizer.hf_tokenizer: HF tokenizer '{tmp_path}/hf' "
                         "is a folder with no tokenizer.json* in it")
    (tmp_path / "hf" / "tokenizer.json").write_text("{}", encoding="utf-8")
    _fine(tmp_path, "  - step: tokenize\n    tokenizer: {hf_tokenizer: TMP/hf}\n")


def test_top_level_tokenizer_is_refused_at_its_own_line(tmp_path):
    [line] = _refused(tmp_path, "  - step: normalize\n",
                      "tokenizer: {sentencepiece: TMP/missing.model}\n")
    assert line.endswith(f":{FIRST + 1}: tokenizer.sentencepiece: SentencePiece model "
                         f"'{tmp_path}/missing.model' not found")


def test_missing_japanese_word_list_and_a_misspelt_shipped_one(tmp_path):
    lines = _refused(tmp_path, """\
          - step: ng_words
            lists:
              - ja/adlt
              - TMP/ja-ng.txt
            max_hits: 0
        """)
    assert lines[0].endswith(f":{FIRST + 2}: steps[0].lists[0]: word list 'ja/adlt' not found: no shipped "
                             "word list of that name (did you mean 'ja/adult'?) (shipped: en/ads, en/adult, "
                             "en/discrimination, en/violence, ja/ads, ja/adult, ja/discrimination, "
                             "ja/violence) and no such file (relative to the working directory "
                             f"{Path.cwd()})")
    assert lines[1].endswith(f":{FIRST + 3}: steps[0].lists[1]: word list '{tmp_path}/ja-ng.txt' not found")
    # once it is there, the pipeline is fine, and the list works on Japanese text
    (tmp_path / "ja-ng.txt").write_text(JA_WORDS, encoding="utf-8")
    with pytest.raises(ConfigError):  # the misspelt name is still refused
        pipeline_from_yaml(_pipeline(tmp_path, "  - {step: ng_words, lists: [ja/adlt]}\n").read_text())
    p = pipeline_from_yaml(_pipeline(tmp_path, "  - {step: ng_words, lists: [TMP/ja-ng.txt], max_hits: 0}\n")
                           .read_text())
    [step] = p.build_steps()
    scored = step.score(pa.table({"text": [JA, "闇金の広告です。"]}))
    assert scored.column("ng_hits").to_pylist() == [0, 1]


def test_a_folder_is_not_a_word_list(tmp_path):
    (tmp_path / "lists").mkdir()
    [line] = _refused(tmp_path, "  - {step: ja_quality, ng_lists: [TMP/lists]}\n")
    assert line.endswith(f":{FIRST}: steps[0].ng_lists[0]: word list '{tmp_path}/lists' is a folder, not a file")


def test_a_fifo_is_refused_without_blocking_on_it(tmp_path):
    import os

    os.mkfifo(tmp_path / "ja-ng.txt")
    [line] = _refused(tmp_path, "  - {step: swallow, ng_lists: [TMP/ja-ng.txt]}\n")
    assert line.endswith(f":{FIRST}: steps[0].ng_lists[0]: word list '{tmp_path}/ja-ng.txt' is not a regular file")


def test_missing_blocklist(tmp_path):
    [line] = _refused(tmp_path, """\
          - step: url_filter
            domain_lists: [TMP/blocked-jp.txt]
        """)
    assert line.endswith(f":{FIRST + 1}: steps[0].domain_lists[0]: blocklist '{tmp_path}/blocked-jp.txt' not found")


def test_a_preset_whose_file_is_missing_is_refused_at_the_use_line(tmp_path):
    (tmp_path / "ja-mine.yaml").write_text(textwrap.dedent(f"""\
        description: 自作の日本語チェーン
        steps:
          - step: ja_normalize
          - step: ja_quality
            ng_lists: [ja/adult, {tmp_path}/ja-ng.txt]
        """), encoding="utf-8")
    [line] = _refused(tmp_path, "  - step: length\n  - use: TMP/ja-mine.yaml\n")
    assert line.endswith(f":{FIRST + 1}: steps[1]: ja-mine:ja_quality: ng_lists[1]: word list "
                         f"'{tmp_path}/ja-ng.txt' not found")
    # an override that names a missing file is refused the same way
    [line] = _refused(tmp_path, "  - use: ja-web\n    overrides: {ja_quality: {ads_lists: [TMP/ads.txt]}}\n")
    assert line.endswith(f":{FIRST}: steps[0]: ja-web:ja_quality: ads_lists[0]: word list "
                         f"'{tmp_path}/ads.txt' not found")


def test_inner_steps_of_route_and_per_source(tmp_path):
    [line] = _refused(tmp_path, """\
          - step: route
            by: lang
            branches:
              ja:
                - use: ja-web
                - {step: ng_words, lists: [TMP/ja-ng.txt]}
        """)
    # `ja: [...]` is short for `ja: {steps: [...]}`: the line is the branch's
    assert line.endswith(f":{FIRST + 3}: steps[0].branches.ja: steps.ng_words.lists[0]: word list "
                         f"'{tmp_path}/ja-ng.txt' not found")
    [line] = _refused(tmp_path, """\
          - step: per_source
            sources: [web]
            steps:
              - {step: langid, model: TMP/glotlid.bin}
        """)
    assert line.endswith(f":{FIRST + 2}: steps[0].steps: langid.model: fastText model '{tmp_path}/glotlid.bin' "
                         "not found")


def test_word_lists_by_url_are_checked_and_read_through_fsspec(tmp_path):
    with fsspec.open("memory://corpusforge-test/ja-ng.txt", "wt", encoding="utf-8") as f:
        f.write(JA_WORDS)
    try:
        _fine(tmp_path, "  - {step: ng_words, lists: ['memory://corpusforge-test/ja-ng.txt']}\n")
        [line] = _refused(tmp_path, "  - {step: ng_words, lists: ['memory://corpusforge-test/none.txt']}\n")
        assert line.endswith(f":{FIRST}: steps[0].lists[0]: word list 'memory://corpusforge-test/none.txt' "
                             "not found")
        from corpusforge.filters.blocklist import NgWords

        step = NgWords(lists=["memory://corpusforge-test/ja-ng.txt"])
        assert step.score(pa.table({"text": ["賭博と闇金", JA]})).column("ng_hits").to_pylist() == [2, 0]
    finally:
        fsspec.filesystem("memory").rm("corpusforge-test", recursive=True)


def test_shipped_defaults_are_checked_too():
    # the Japanese filters' default lists are shipped files, found by the same check
    from corpusforge.resources import file_problem
    from corpusforge.steps.build import build_step

    refs = build_step({"step": "ja_quality"}).needed_files()
    assert [(r.key, r.value) for r in refs] == [
        (("ads_lists", 0), "ja/ads"), (("ng_lists", 0), "ja/adult"),
        (("ng_lists", 1), "ja/discrimination"), (("ng_lists", 2), "ja/violence")]
    assert all(file_problem(r.value, r.need) is None for r in refs)


def test_a_pipeline_built_in_code_is_checked_when_it_runs(tmp_path):
    from corpusforge.engine import run_pipeline

    p = Pipeline(inputs=[{"type": "demo", "docs": 10}], output={"path": str(tmp_path / "out")},
                 steps=[{"step": "swallow", "params": {"ng_lists": [str(tmp_path / "ja-ng.txt")]}}])
    with pytest.raises(ConfigError) as e:
        run_pipeline(p, workers=1)
    [issue] = e.value.issues
    assert issue.dotted() == "steps[0].ng_lists[0]" and "not found" in issue.message
    assert e.value.render().startswith("invalid pipeline config\n<pipeline>: steps[0].ng_lists[0]: ")
    assert not (tmp_path / "out").exists()


def test_a_stage_tokenizer_is_refused_at_its_key(tmp_path):
    (tmp_path / "ja.model").write_bytes(b"")
    [line] = _refused(tmp_path, "  - {step: tokenize, tokenizer: TMP/ja.model}\n", """\
        stages:
          - mix:
              targets: {ja: 1000}
              outputs: [megatron]
              tokenizer: TMP/megatron.model
        """)
    assert line.endswith(f":{FIRST + 5}: stages[0].mix.tokenizer: tokenizer '{tmp_path}/megatron.model' not found")


def test_a_local_hf_dataset_that_is_not_there(tmp_path):
    p = tmp_path / "hf.yaml"
    p.write_text(f"inputs:\n  - type: hf\n    path: {tmp_path}/ja-wiki\noutput: {{path: {tmp_path}/out}}\n",
                 encoding="utf-8")
    for command in ("validate", "run"):
        r = runner.invoke(app, [command, str(p)], env={"COLUMNS": "400"})
        assert r.exit_code == 2
        assert f"{p}:3: inputs[0].path: cannot list input: ValueError: no dataset folder or file " \
               f"'{tmp_path}/ja-wiki'" in r.output
    assert not (tmp_path / "out").exists()


def test_a_file_parameter_of_a_users_step(tmp_path):
    steps = "  - step: test_validate_files.Readings\n    dictionary: TMP/読み.tsv\n"
    [line] = _refused(tmp_path, steps)
    assert line.endswith(f":{FIRST + 1}: steps[0].dictionary: readings dictionary '{tmp_path}/読み.tsv' not found")
    (tmp_path / "読み.tsv").write_text("猫\tねこ\n", encoding="utf-8")
    _fine(tmp_path, steps)
