"""A step or stage reference that cannot name a buildable class is a config error at its line
(exit 2), for `validate` and `run` alike: relative or empty module paths, abstract bases, a
module that fails as it loads."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.registry import Registry
from corpusforge.steps.base import MapStep

runner = CliRunner()

PIPELINE = """\
inputs:
  - {{type: demo, docs: 20, units: 2}}
{kind}:
  - {{{key}: "{ref}"}}
output: {{path: {out}}}
"""

BAD_REFS = {
    ".rel.Step": "neither a registered {kind} nor a class path",
    ":x": "neither a registered {kind} nor a class path",
    "x.y:": "neither a registered {kind} nor a class path",
    "a..b.C": "neither a registered {kind} nor a class path",
    "a:b:c": "neither a registered {kind} nor a class path",
}


def invoke(tmp_path, command: str, kind: str, ref: str):
    key = kind[:-1]
    p = tmp_path / "p.yaml"
    p.write_text(PIPELINE.format(kind=kind, key=key, ref=ref, out=tmp_path / "out"))
    return runner.invoke(app, [command, str(p)] + (["--quiet"] if command == "run" else []),
                         env={"COLUMNS": "300"})


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("kind", ["steps", "stages"])
@pytest.mark.parametrize("ref", sorted(BAD_REFS))
def test_malformed_references_are_config_errors(tmp_path, command, kind, ref):
    r = invoke(tmp_path, command, kind, ref)
    assert r.exit_code == 2, r.output
    assert f"p.yaml:4: {kind}[0].{kind[:-1]}: " in r.output
    assert BAD_REFS[ref].format(kind=kind[:-1]) in r.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("kind", "ref", "missing"), [
    ("steps", "corpusforge.steps.base.Step", "apply"),
    ("steps", "corpusforge.steps.base.MapStep", "process"),
    ("steps", "corpusforge.steps:Filter", "decide, signals"),
    ("stages", "corpusforge.stages.base.Stage", "run"),
])
def test_abstract_bases_are_config_errors(tmp_path, command, kind, ref, missing):
    r = invoke(tmp_path, command, kind, ref)
    assert r.exit_code == 2, r.output
    assert f"p.yaml:4: {kind}[0].{kind[:-1]}: {ref!r} is an abstract" in r.output
    assert f"does not implement {missing}" in r.output


def test_a_module_that_fails_as_it_loads_is_a_config_error(tmp_path, monkeypatch):
    (tmp_path / "broken_steps.py").write_text("raise RuntimeError('half-written module')\n")
    (tmp_path / "exiting_steps.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module, error in [("broken_steps", "RuntimeError: half-written module"),
                          ("exiting_steps", "SystemExit: 0")]:
        r = invoke(tmp_path, "validate", "steps", f"{module}.Step")
        assert r.exit_code == 2, r.output
        assert f"importing module {module!r} for step '{module}.Step' failed: {error}" in r.output


def test_an_abstract_class_cannot_be_registered():
    class Half(MapStep):
        name = "half"

    with pytest.raises(ValueError, match="abstract"):
        Registry("step", MapStep, (), LookupError).register(Half)


def test_a_concrete_user_step_still_resolves(tmp_path):
    r = invoke(tmp_path, "validate", "steps", "user_steps:Upper")
    assert r.exit_code == 0, r.output
    assert "ok: pipeline" in r.output


UNBUILDABLE = """\
from pydantic import model_validator

from corpusforge.steps import MapStep, StepConfig


class Identity(MapStep):
    def process(self, batch):
        return batch


class InitRaises(Identity):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        raise RuntimeError("needs a GPU")


class ConfigNotAModel(Identity):
    Config = dict


class StrictConfig(StepConfig):
    @model_validator(mode="after")
    def check(self):
        raise KeyError("a validator's own bug")


class ValidatorRaises(Identity):
    Config = StrictConfig
"""


@pytest.mark.parametrize(("cls", "error"), [
    ("InitRaises", "p.yaml:4: steps[0]: 'unbuildable_steps.InitRaises' cannot be built: "
                   "RuntimeError: needs a GPU"),
    ("ConfigNotAModel", "p.yaml:4: steps[0].step: 'unbuildable_steps.ConfigNotAModel' has no "
                        "config model"),
    ("ValidatorRaises", "p.yaml:4: steps[0]: the config of 'unbuildable_steps.ValidatorRaises' "
                        "failed: KeyError"),
])
def test_a_class_that_cannot_be_built_is_a_config_error(tmp_path, monkeypatch, cls, error):
    (tmp_path / "unbuildable_steps.py").write_text(UNBUILDABLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    r = invoke(tmp_path, "validate", "steps", f"unbuildable_steps.{cls}")
    assert r.exit_code == 2, r.output
    assert error in r.output


def test_a_stage_class_that_cannot_be_built_is_a_config_error(tmp_path):
    # the map stage is a Stage, but not one a pipeline can name
    r = invoke(tmp_path, "validate", "stages", "corpusforge.stages.map.MapStage")
    assert r.exit_code == 2, r.output
    assert "p.yaml:4: stages[0]: 'corpusforge.stages.map.MapStage' cannot be built" in r.output
