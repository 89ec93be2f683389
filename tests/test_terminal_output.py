"""What the CLI prints never carries control sequences from data, stats files, pipeline names
or file names, and rich markup in them is shown as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT

#: what a hostile string may hold: clear the screen, retitle the window, an 8-bit CSI,
#: a right-to-left override, and rich markup
HOSTILE = "a\x1b[2Jb\x1b]0;owned\x07c\x9b31md\u202ee [bold red]x[/]"
#: how the CLI shows it
SHOWN = r"a\x1b[2Jb\x1b]0;owned\x07c\x9b31md\u202ee [bold red]x[/]"
#: the only sequences a forced-colour terminal may get: rich's own styles (SGR)
ALLOWED = re.compile(r"\x1b\[[0-9;]*m")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # a colour terminal as far as rich can tell, so that markup would turn into escapes
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="400", FORCE_COLOR="1", TERM="xterm-256color")
    return subprocess.run([sys.executable, "-m", "corpusforge.cli", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=300)


def assert_inert(out: bytes, shown: str = SHOWN) -> str:
    """The output without rich's own styles, which must hold no other control character and
    show the hostile string as written."""
    plain = ALLOWED.sub("", out.decode("utf-8"))
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", plain), plain
    assert shown in plain, plain
    return plain


def test_stats_of_a_hostile_stats_file(tmp_path):
    step = {"name": HOSTILE, "docs_in": 3, "docs_out": 1, "bytes_in": 30, "bytes_out": 10,
            "removed": {HOSTILE: 2}, "errored": 0, "seconds": 0.1}
    (tmp_path / "stats.json").write_text(json.dumps({"steps": [step], "units": 1, "wall_seconds": 0.1,
                                                     "nodes": {HOSTILE: {HOSTILE: 1}}}))
    r = cli("stats", "stats.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    plain = assert_inert(r.stdout)
    assert f"removed by {SHOWN}: {SHOWN} 2" in plain
    assert "tasks per node" in plain and plain.count(SHOWN) >= 4  # the node and its task group


def test_hostile_sources_languages_and_targets_in_the_token_summary(tmp_path):
    step = {"name": "mix", "docs_in": 3, "docs_out": 3, "bytes_in": 30, "bytes_out": 30,
            "removed": {}, "errored": 0, "seconds": 0.1, "tokens": {HOSTILE: {HOSTILE: 7}},
            "targets": {HOSTILE: {"target": 7, "tokens": 7, "met": True}}}
    (tmp_path / "stats.json").write_text(json.dumps({"steps": [step], "units": 1, "wall_seconds": 0.1}))
    r = cli("stats", "stats.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    plain = assert_inert(r.stdout)
    assert f"per language: {SHOWN} 7 (100.0%)" in plain and f"per source: {SHOWN} 7" in plain
    assert f"target of mix for {SHOWN}: 7 tokens, got 7 (+0.00%): met" in plain


def test_hostile_pipeline_name_in_validate_and_run(tmp_path):
    name = json.dumps(HOSTILE)  # a YAML double-quoted string takes JSON's escapes
    (tmp_path / "p.yaml").write_text(f"name: {name}\ninputs: [{{type: demo, docs: 20, units: 1}}]\n"
                                     f"output: {{path: out}}\n")
    r = cli("validate", "p.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert f"ok: {SHOWN}: 1 input(s)" in assert_inert(r.stdout)
    r = cli("run", "p.yaml", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    plain = assert_inert(r.stdout)  # the table's title, wrapped to the table's width
    assert plain.index(SHOWN) < plain.index("units in")


def test_hostile_file_name_in_a_config_error(tmp_path):
    bad = tmp_path / f"p{HOSTILE.replace('/', '')}.yaml"  # no slash in a file name
    bad.write_text("inputs: [{type: demo}]\noutput: {path: out}\nbatch: {max_docs: many}\n")
    r = cli("validate", bad.name, cwd=tmp_path)
    assert r.returncode == 2
    assert f"p{SHOWN.replace('/', '')}.yaml:3: batch.max_docs" in assert_inert(r.stderr, "")


def test_hostile_document_quoted_by_a_failing_step(tmp_path):
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": HOSTILE}) + "\n")
    (tmp_path / "p.yaml").write_text("inputs: [{type: jsonl, path: in.jsonl}]\n"
                                     "steps: [{step: user_steps.QuoteFirst}]\n"
                                     "output: {path: out}\non_error: fail\n")
    env_root = str(ROOT / "tests")
    r = subprocess.run([sys.executable, "-m", "corpusforge.cli", "run", "p.yaml", "--quiet"],
                       cwd=tmp_path, capture_output=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), env_root]),
                                COLUMNS="400", FORCE_COLOR="1"))
    assert r.returncode == 1, r.stderr.decode()
    assert "run stopped (on_error: fail)" in assert_inert(r.stderr)


def test_hostile_group_values_in_count(tmp_path):
    pq.write_table(pa.table({"text": ["x", "y"], "source": [HOSTILE, "web"], "lang": [HOSTILE, "ja"],
                             "n_tokens": [3, 4]}), tmp_path / "c.parquet")
    r = cli("count", "c.parquet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert_inert(r.stdout)


def test_hostile_message_of_an_error_nothing_caught(tmp_path):
    # a stage of one's own that fails with a document in its message: the traceback is shown
    # (a bug is a bug), its message inert
    (tmp_path / "boom_stage.py").write_text(
        "from corpusforge.stages import Stage\n\n\nclass Boom(Stage):\n"
        f"    def run(self, ctx):\n        raise ValueError({HOSTILE!r})\n")
    (tmp_path / "p.yaml").write_text("inputs: [{type: demo, docs: 10, units: 1}]\n"
                                     "stages: [{stage: boom_stage.Boom}]\noutput: {path: out}\n")
    r = cli("run", "p.yaml", "--quiet", cwd=tmp_path)
    assert r.returncode == 1
    assert f"ValueError: {SHOWN}" in assert_inert(r.stderr)


@pytest.mark.parametrize("stats", [
    {"steps": [{"name": "a", "docs_in": "1e9"}]},
    {"steps": [{"name": "a", "docs_in": 3, "removed": {"r": "many"}}]},
    {"steps": [{"name": "a", "seconds": "slow"}]},
    {"steps": [{"name": ["a"]}]},
    {"steps": [{"name": "a", "removed": [1]}]},
    {"steps": [{"name": "a", "tokens": {"web": {"ja": "many"}}}]},
    {"steps": [{"name": "a", "targets": {"ja": {"target": 1, "tokens": 1, "met": True, "validation": "x"}}}]},
    {"steps": "abc"},
    {"steps": [], "nodes": {"map": {"host": "many"}}},
    {"steps": [], "nodes": {"map": ["host"]}},
    [1, 2],
])
def test_a_damaged_stats_file_is_refused_not_crashed_on(tmp_path, stats):
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    r = cli("stats", "stats.json", cwd=tmp_path)
    assert r.returncode == 1
    assert "cannot read stats from stats.json: " in r.stderr.decode()
    assert "Traceback" not in r.stderr.decode()


def test_stats_of_an_endless_file_is_refused(tmp_path):
    r = cli("stats", "/dev/zero", cwd=tmp_path)
    assert r.returncode == 1
    assert "cannot read stats from /dev/zero: over 64 MiB" in r.stderr.decode()
