from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.models import parse_size
from corpusforge.yamlsource import ConfigError

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

GOOD = """\
name: t
inputs:
  - type: demo
    docs: 10
steps:
  - step: normalize
  - step: length
    min_chars: 5
output:
  path: {out}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def issues_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(textwrap.dedent(text))
    return [(i.line, i.dotted(), i.message) for i in e.value.issues]


def test_sample_pipeline_is_valid():
    r = runner.invoke(app, ["validate", str(ROOT / "pipelines" / "sample.yaml")])
    assert r.exit_code == 0, r.output
    assert "ok: sample" in r.output


def test_wrong_type_in_step_names_line_and_key():
    text = GOOD.format(out="o").replace("min_chars: 5", "min_chars: lots")
    [(line, key, msg)] = issues_of(text)
    assert (line, key) == (8, "steps[1].min_chars")
    assert "integer" in msg


def test_unknown_key_unknown_step_and_bad_top_level_key():
    text = GOOD.format(out="o").replace("  - step: normalize", "  - step: no_such_step").replace(
        "    min_chars: 5", "    min_chars: 5\n    min_charz: 3") + "executr: {type: local}\n"
    found = {key: line for line, key, _ in issues_of(text)}
    assert found == {"steps[0].step": 6, "steps[1].min_charz": 9, "executr": 12}


def test_unknown_input_field_and_type():
    text = GOOD.format(out="o").replace("    docs: 10", "    docs: 10\n    pathh: x")
    [(line, key, msg)] = issues_of(text)
    assert (line, key) == (5, "inputs[0].pathh")
    [(line, key, _)] = issues_of(GOOD.format(out="o").replace("type: demo", "type: nope"))
    assert (line, key) == (3, "inputs[0]")


def test_duplicate_key_and_bad_yaml():
    [(line, key, msg)] = issues_of("name: a\nname: b\n")
    assert (line, key, msg) == (2, "name", "duplicate key")
    [(line, _, msg)] = issues_of("name: [a\n")
    assert "not valid YAML" in msg and line is not None


def test_validate_cli_exit_code_2_with_file_and_line(tmp_path):
    p = write(tmp_path, GOOD.format(out=tmp_path / "o").replace("min_chars: 5", "min_chars: -x"))
    r = runner.invoke(app, ["validate", str(p)])
    assert r.exit_code == 2
    assert f"{p}:8: steps[1].min_chars" in r.output.replace("\n", "")


def test_glob_matching_nothing_is_refused_before_work(tmp_path):
    p = write(tmp_path, f"""\
        inputs:
          - type: jsonl
            path: {tmp_path}/nothing-*.jsonl
        output:
          path: {tmp_path}/out
        """)
    r = runner.invoke(app, ["run", str(p)])
    assert r.exit_code == 2
    assert ":3: inputs[0].path: no file matches" in r.output.replace("\n", "")
    assert not (tmp_path / "out").exists()


def test_user_step_by_dotted_path_is_validated():
    text = GOOD.format(out="o").replace("step: normalize", "step: user_steps.Upper\n    suffix: 3")
    [(line, key, _)] = issues_of(text)
    assert (line, key) == (7, "steps[0].suffix")


@pytest.mark.parametrize("value,expected", [("64MB", 64_000_000), ("1GiB", 2**30), ("500k", 500_000), (42, 42)])
def test_parse_size(value, expected):
    assert parse_size(value) == expected


def test_steps_command_lists_parameters_and_defaults():
    r = runner.invoke(app, ["steps"])
    assert r.exit_code == 0
    out = r.output
    assert "length" in out and "min_chars: int = 0" in out and "normalize" in out
    assert 'unicode: "NFC" | "NFKC" | "none" = "NFC"' in out


def test_missing_pipeline_file_is_a_config_error(tmp_path):
    r = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert r.exit_code == 2 and "cannot read pipeline file" in r.output


def test_bad_labels_and_inner_per_source_steps_are_config_errors():
    [(line, key, msg)] = issues_of(GOOD.format(out="o").replace("  - step: normalize", "  - step: normalize\n    label: [a]"))
    assert (line, key, msg) == (7, "steps[0].label", "a label is a string")
    text = GOOD.format(out="o").replace("  - step: normalize", """  - step: per_source
    sources: [a]
    steps:
      - {step: nosuch}""")
    [(line, key, msg)] = issues_of(text)
    assert (line, key) == (9, "steps[0].steps[0].step") and "unknown step 'nosuch'" in msg


def test_partition_by_a_missing_column_writes_the_null_partition(tmp_path):
    from corpusforge.engine import run_pipeline

    p = pipeline_from_yaml(f"inputs: [{{type: demo, docs: 20, units: 1}}]\noutput: {{path: {tmp_path}/o, partition_by: lang}}\n")
    run_pipeline(p, workers=1)
    assert [d.name for d in (tmp_path / "o").iterdir() if d.name.startswith("lang=")] == ["lang=__HIVE_DEFAULT_PARTITION__"]
