"""The command-line package: `python -m corpusforge.cli` and a light import for `--help`."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import typer

from corpusforge.cli import app

from conftest import ROOT

# loaded only by the commands that need them, never by `corpusforge --help`
HEAVY = ("pyarrow", "numpy", "pydantic", "fsspec", "numba", "ray", "corpusforge.config")


def test_import_is_light() -> None:
    code = ("import sys, corpusforge.cli; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


COMMANDS = ["run", "validate", "stats", "report", "inspect", "steps", "inputs", "count", "train-tokenizer",
            "filters", "index", "search", "trace", "serve", "submit",
            "jobs"]


def test_commands_in_help_order() -> None:
    group = typer.main.get_command(app)
    assert group.list_commands(click.Context(group)) == COMMANDS


def test_module_entry_point() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120")
    out = subprocess.run([sys.executable, "-m", "corpusforge.cli", "--help"], env=env,
                         capture_output=True, text=True, check=True)
    assert "Usage: python -m corpusforge.cli" in out.stdout
    assert all(f"│ {name} " in out.stdout for name in COMMANDS)


def test_version_from_the_package_metadata() -> None:
    from importlib.metadata import version

    out = subprocess.run([sys.executable, "-m", "corpusforge.cli", "--version"],
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == f"corpusforge {version('corpusforge')}"


def test_inputs_lists_every_type_with_its_parameters() -> None:
    from typer.testing import CliRunner

    from corpusforge.io.inputs import READERS

    out = CliRunner().invoke(app, ["inputs"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    for tag in READERS:
        assert f"{tag}  [input]" in out.output
    # parameters with their defaults; the `type:` tag is the entry's name, not a parameter
    assert "    unit_bytes: ByteSize = 67108864" in out.output
    assert '    split: str = "train"' in out.output
    assert "    path: str | list[str] = \"required\"" in out.output
    assert "    type:" not in out.output
