"""Loading a pipeline file is bounded: alias bombs, recursive aliases, deep nesting, values that
cannot be built, non-UTF-8 bytes and huge files are config errors at a line, never a crash."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml

from conftest import ROOT

runner = CliRunner()

HEAD = "inputs: [{type: demo, docs: 10}]\noutput: {path: OUT}\n"


def bomb(levels: int = 9) -> str:
    """Nine aliases per level, nine levels: under 500 bytes standing for 9**9 strings."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def validate(tmp_path: Path, text: str) -> tuple[int, str]:
    p = tmp_path / "p.yaml"
    p.write_text(text.replace("OUT", str(tmp_path / "out")), encoding="utf-8")
    r = runner.invoke(app, ["validate", str(p)], env={"COLUMNS": "400"})
    return r.exit_code, r.output


def _limit_memory() -> None:
    # what an unbounded expansion would take is refused by the kernel, not by the machine
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


def test_alias_bomb_is_refused_at_its_line_in_no_time(tmp_path):
    text = bomb() + HEAD.replace("OUT", str(tmp_path / "out")) + "name: *a8\n"
    assert len(text.encode()) < 600
    (tmp_path / "bomb.yaml").write_text(text)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "corpusforge.cli", "validate", "bomb.yaml"],
                         cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200"),
                         capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory)
    assert out.returncode == 2, out.stderr[-2000:]
    assert time.monotonic() - t0 < 30
    # refused at the first alias past the bound: a4's first *a3 (7,381 nodes) after 8,289 others
    assert "bomb.yaml:5: " in out.stderr and "aliases stand for more than 10,000 nodes" in out.stderr


def test_merge_key_bomb_is_refused(tmp_path):
    # `<<:` merges copy the merged mappings' entries: nested, they multiply like list aliases
    lines = ["a0: &a0 {" + ", ".join(f"k{i}: x" for i in range(9)) + "}"]
    lines += [f"a{i}: &a{i} {{<<: [" + ",".join([f"*a{i - 1}"] * 9) + f"], z{i}: 1}}"
              for i in range(1, 12)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n" + HEAD.replace("OUT", "out"))
    out = subprocess.run([sys.executable, "-m", "corpusforge.cli", "validate", "bomb.yaml"],
                         cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200"),
                         capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "bomb.yaml:4: " in out.stderr and "aliases stand for more than 10,000 nodes" in out.stderr


def test_aliases_within_the_bound_still_work(tmp_path):
    text = HEAD + """\
steps:
  - &len {step: length, min_chars: 20, max_chars: 5000}
  - {<<: *len, label: again, min_chars: 30}
"""
    p = pipeline_from_yaml(text.replace("OUT", str(tmp_path / "out")))
    assert [s.params for s in p.steps] == [{"min_chars": 20, "max_chars": 5000},
                                            {"min_chars": 30, "max_chars": 5000}]


def test_recursive_alias_is_refused(tmp_path):
    code, output = validate(tmp_path, HEAD + "name: &a [x, *a]\n")
    assert code == 2 and "p.yaml:3: " in output and "alias *a refers to a node that contains it" in output


def test_deep_nesting_is_refused(tmp_path):
    code, output = validate(tmp_path, HEAD + "name: " + "[" * 5000 + "]" * 5000 + "\n")
    assert code == 2 and "p.yaml:3: " in output and "nested more than 100 levels" in output


def test_values_that_cannot_be_built_are_errors_at_their_line(tmp_path):
    code, output = validate(tmp_path, HEAD + "name: x\nbatch: {max_docs: 2024-13-45}\n")
    assert code == 2 and "p.yaml:4: " in output and "month must be in 1..12" in output
    code, output = validate(tmp_path, HEAD + "batch:\n  max_docs: " + "9" * 5000 + "\n")
    assert code == 2 and "p.yaml:4: " in output and "digits" in output


def test_bytes_that_are_not_utf8_are_an_error_at_their_line(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_bytes(HEAD.replace("OUT", "o").encode() + b"name: caf\xe9\n")
    r = runner.invoke(app, ["validate", str(p)])
    assert r.exit_code == 2 and "p.yaml:3: " in r.output and "not UTF-8" in r.output


def test_a_file_over_the_size_limit_is_refused_unparsed(tmp_path):
    padding = ("# " + "x" * 98 + "\n") * (5 * 2**20 // 100)  # 5 MiB of comments
    code, output = validate(tmp_path, HEAD + padding)
    assert code == 2 and "a pipeline file is at most 4 MiB" in output


def test_a_list_or_mapping_as_a_key_is_an_error_at_its_line(tmp_path):
    for key in ("? [a, b]\n: c\n", "{a: 1}: c\n"):
        code, output = validate(tmp_path, HEAD + key)
        assert code == 2 and "p.yaml:3: " in output and "a key is a plain value" in output


def test_a_preset_file_is_loaded_within_the_same_limits(tmp_path):
    (tmp_path / "bomb.yaml").write_text(bomb() + "steps: [*a8]\n")
    code, output = validate(tmp_path, HEAD + f"steps:\n  - use: {tmp_path / 'bomb.yaml'}\n")
    assert code == 2, output
    assert "p.yaml:4: steps[0].use: preset " in output
    assert "line 5: aliases stand for more than 10,000 nodes" in output
