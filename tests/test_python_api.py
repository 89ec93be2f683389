"""The Python API: ``from corpusforge import Pipeline, run``, the documented examples, and
``Pipeline.from_dict`` taking exactly what a YAML file takes, with the same errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from corpusforge import ConfigError, OutputExistsError, Pipeline, RunStats, run
from corpusforge.engine import run_pipeline

from conftest import EN, JA, ROOT

DOC = ROOT / "docs" / "python-api.md"


def write_docs(path: Path) -> None:
    """Japanese and English documents from a few characters to a few sentences long (some
    repeated: a dedup stage has work), as JSON lines."""
    ja = ["吾輩は猫である。", JA, JA[:25], JA * 2, "名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗い所で泣いていた。"]
    en = ["A short note.", EN, EN[:30], EN * 2, "It was a bright cold day in April, and the clocks were striking thirteen."]
    with path.open("w", encoding="utf-8") as f:
        for i, text in enumerate([*ja, *en, JA, EN]):
            f.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block, in order (language "" for a bare fence)."""
    return re.findall(r"^```(\w*)\n(.*?)^```", markdown, re.S | re.M)


def test_the_documented_examples_run_and_print_what_the_doc_says(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_docs(tmp_path / "docs.jsonl")
    blocks = code_blocks(DOC.read_text(encoding="utf-8"))
    (tmp_path / "pipeline.yaml").write_text(next(code for lang, code in blocks if lang == "yaml"))
    namespace: dict = {}
    ran = checked = 0
    for (lang, code), (after, shown) in zip(blocks, [*blocks[1:], ("-", "")]):
        if lang != "python":
            continue
        capsys.readouterr()
        exec(compile(code, f"{DOC.name} block {ran}", "exec"), namespace)  # noqa: S102 - our doc
        printed = capsys.readouterr().out
        if after == "":  # a bare block right after an example is what it prints
            assert printed == shown
            checked += 1
        ran += 1
    assert ran >= 5 and checked >= 1
    # the examples ran what they say: a run, its rejects, and a rerun the rejects predicted
    assert isinstance(namespace["stats"], RunStats) and namespace["back"].num_rows > 0
    assert (tmp_path / "out" / "web-sample-20" / "stats.json").exists()


PIPELINE_YAML = """\
name: both-languages
inputs:
  - {type: jsonl, path: docs.jsonl, source: web}
steps:
  - step: normalize
  - step: langid
    keep: [ja, en]
  - step: route
    by: lang
    branches:
      ja: [{use: ja-web}]
      en: [{step: length, min_chars: 20}, {step: gopher_repetition}]
stages:
  - dedup:
      exact: {on: [text]}
output: {path: out, format: jsonl, compression: none}
"""

#: the same pipeline written in Python (`on` is a string here; YAML reads the bare key as true)
PIPELINE_DICT = {
    "name": "both-languages",
    "inputs": [{"type": "jsonl", "path": "docs.jsonl", "source": "web"}],
    "steps": [
        {"step": "normalize"},
        {"step": "langid", "keep": ["ja", "en"]},
        {"step": "route", "by": "lang", "branches": {
            "ja": [{"use": "ja-web"}],
            "en": [{"step": "length", "min_chars": 20}, {"step": "gopher_repetition"}],
        }},
    ],
    "stages": [{"dedup": {"exact": {"on": ["text"]}}}],
    "output": {"path": "out", "format": "jsonl", "compression": "none"},
}


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_state" not in p.parts and p.name not in ("stats.json", "report.html")}


def _counts(stats: RunStats) -> list[dict]:
    return [s.to_dict() | {"seconds": 0} for s in stats.steps]


def test_from_dict_and_from_yaml_give_equal_pipelines_and_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_docs(tmp_path / "docs.jsonl")
    (tmp_path / "p.yaml").write_text(PIPELINE_YAML)
    original = json.dumps(PIPELINE_DICT)
    from_file, from_dict = Pipeline.from_yaml(tmp_path / "p.yaml"), Pipeline.from_dict(PIPELINE_DICT)
    assert from_file == from_dict
    assert json.dumps(PIPELINE_DICT) == original  # the caller's mapping is left as it was
    # the preset was expanded inside the branch, as in a file
    assert [s.step for s in from_dict.steps] == ["normalize", "langid", "route"]

    first = run(from_file, workers=1)
    written = _files(tmp_path / "out")
    assert first.steps[-1].name == "dedup" and first.steps[-1].removed  # the repeats went
    with pytest.raises(OutputExistsError):
        run(from_dict, workers=1)
    second = run(from_dict, workers=1, overwrite=True)
    assert _files(tmp_path / "out") == written
    assert _counts(second) == _counts(first)
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["steps"] == [
        s.to_dict() for s in second.steps]


def _input() -> list[dict]:
    return [{"type": "jsonl", "path": "docs.jsonl"}]


#: bad pipelines, and the key path each must be refused at
BAD = [
    ({"inputs": _input(), "output": {"path": "o"}, "steps": [{"step": "length", "min_char": 5}]},
     "steps[0].min_char"),
    ({"inputs": _input(), "output": {"path": "o"}, "steps": [{"step": "lenght"}]}, "steps[0].step"),
    ({"inputs": _input(), "output": {"path": "o"}, "steps": [{"use": "no-such-preset"}]},
     "steps[0].use"),
    ({"inputs": _input(), "output": {"path": "o"},
      "stages": [{"dedup": {"minhash": {"threshold": 2}}}]}, "stages[0].dedup.minhash.threshold"),
    ({"inputs": _input(), "output": {"path": "o"}, "stages": [{"mix": {"targets": {"ja": 1000}}}]},
     "stages[0]"),
    ({"inputs": [{"type": "jsonl"}], "output": {"path": "o"}}, "inputs[0].path"),
    ({"inputs": _input()}, "output"),
    ({"inputs": _input(), "output": {"path": "o", "format": "csv"}}, "output.format"),
    ({"inputs": _input(), "output": {"path": "o"}, "executor": {"workers": 0}}, "executor.workers"),
]


@pytest.mark.parametrize(("data", "key"), BAD, ids=[key for _, key in BAD])
def test_a_bad_dict_raises_config_error_naming_the_key_as_yaml_does(tmp_path, data, key):
    with pytest.raises(ConfigError) as from_dict:
        Pipeline.from_dict(data)
    issues = [(i.dotted(), i.message) for i in from_dict.value.issues]
    assert key in [path for path, _ in issues], issues
    assert key in str(from_dict.value)
    # the same file in YAML: the same issues, each with its line
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as from_yaml:
        Pipeline.from_yaml(tmp_path / "bad.yaml")
    assert [(i.dotted(), i.message) for i in from_yaml.value.issues] == issues
    assert all(i.line is not None for i in from_yaml.value.issues)


def test_a_dict_that_is_not_a_pipeline_is_refused():
    with pytest.raises(ConfigError, match="a pipeline is a YAML mapping"):
        Pipeline.from_dict(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_import_corpusforge_loads_nothing_until_a_name_is_used():
    code = ("import sys, corpusforge\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('corpusforge.', 'pyarrow', 'pydantic')))\n"
            "print(loaded)\n"
            "from corpusforge import Pipeline, run\n"
            "print(Pipeline.__module__, run.__module__)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[]", "corpusforge.config corpusforge.engine.driver"]


def test_run_is_the_engine_and_unknown_names_are_attribute_errors():
    import corpusforge

    assert corpusforge.run is run_pipeline
    with pytest.raises(AttributeError, match="no_such_thing"):
        corpusforge.no_such_thing  # noqa: B018
    assert {"Pipeline", "run", "ConfigError"} <= set(dir(corpusforge))
