"""``on_error: fail`` stops the run on a read error too, not only on a step error."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.errors import StepFailed

from conftest import JA, run

PIPELINE = """\
inputs: [{{type: jsonl, path: {src}}}]
output: {{path: {out}}}
on_error: {on_error}
"""


def write_input(tmp_path) -> str:
    lines = [json.dumps({"text": f"{JA} {i}"}, ensure_ascii=False) for i in range(10)]
    lines[6] = '{"text": "' + JA + ' never closed'
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(tmp_path / "in.jsonl")


def test_a_read_error_stops_the_run_with_on_error_fail(tmp_path):
    src = write_input(tmp_path)
    with pytest.raises(StepFailed, match="MalformedJSON"):
        run_pipeline(pipeline_from_yaml(PIPELINE.format(src=src, out=tmp_path / "out", on_error="fail")),
                     workers=1)
    stats = run(tmp_path, PIPELINE.format(src=src, out="OUT", on_error="skip"), out="skip")
    assert (stats.steps[0].docs_out, stats.steps[0].errored) == (9, 1)


def test_the_cli_exits_non_zero_on_a_read_error_with_on_error_fail(tmp_path):
    src = write_input(tmp_path)
    (tmp_path / "p.yaml").write_text(textwrap.dedent(PIPELINE.format(src=src, out=tmp_path / "out",
                                                                     on_error="fail")))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "p.yaml"), "--workers", "1", "--quiet"])
    assert result.exit_code == 1, result.output
    assert "on_error: fail" in result.output and "in.jsonl" in result.output
