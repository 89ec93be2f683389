"""The working directory lends the import path nothing but the modules a pipeline names.

Real command-line runs in a folder holding files named like libraries (``zstandard.py``,
``trafilatura.py``, ``typer.py``, ``pickle.py``), with steps, a package and a stage of the user's
own in the same folder: on the local pool with two workers and on Ray, the libraries are the
installed ones everywhere (the driver, the pool's workers, the HTML extractor's subprocess, Ray's
workers) and the user's modules are found in every worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import ROOT

#: files named like libraries the workers and the HTML extractor import
LIBRARIES = ("zstandard", "trafilatura")
#: ... and like what the command imports as it starts (typer: before any command code runs
#: under `python -m`) and what a spawned worker imports before it has its driver's sys.path
STARTUP = ("typer", "rich", "orjson", "pickle")

PLANT = """\
import os
open(os.path.join({folder!r}, "executed-{name}-" + str(os.getpid())), "w").close()
raise ImportError("the planted {name}.py was imported")
"""

MY_STEPS = """\
import pyarrow.compute as pc

from corpusforge.steps import MapStep


class Shout(MapStep):
    adds = ()

    def process(self, batch):
        i = batch.schema.get_field_index("text")
        return batch.set_column(i, "text", pc.utf8_upper(batch.column("text")))
"""

#: a package: its step imports a sibling module relatively
PKG_INIT = ""
PKG_MARK = "MARK = ' [checked]'\n"
PKG_STEPS = """\
import pyarrow.compute as pc

from corpusforge.steps import MapStep

from .mark import MARK


class Mark(MapStep):
    adds = ()

    def process(self, batch):
        i = batch.schema.get_field_index("text")
        return batch.set_column(i, "text", pc.binary_join_element_wise(batch.column("text"), MARK, ""))
"""

#: a stage whose task function lives in this module: a worker must have it before the task
MY_STAGES = """\
from dataclasses import dataclass

import pyarrow.parquet as pq

from corpusforge.accounting import StepStats, sum_stats
from corpusforge.io.sinks import Sinks
from corpusforge.schema import text_bytes
from corpusforge.stages import Stage


@dataclass(frozen=True)
class CopyTask:
    path: str
    index: int
    sinks: Sinks
    name: str


def copy_shard(task):
    table = pq.read_table(task.path)
    writer = task.sinks.writer(task.index)
    writer.write(table)
    writer.commit()
    n, b = table.num_rows, text_bytes(table)
    return StepStats(task.name, docs_in=n, docs_out=n, bytes_in=b, bytes_out=b)


class Copy(Stage):
    def run(self, ctx):
        tasks = [CopyTask(p, i, ctx.sinks, self.label) for i, p in enumerate(ctx.input_files)]
        return sum_stats(self.label, ctx.map_tasks("copy", copy_shard, tasks))
"""

PIPELINE = """\
inputs: [{type: warc, path: "pages-*.warc"}]
steps:
  - step: extract_html
  - step: my_steps.Shout
  - step: my_pkg.steps:Mark
stages:
  - stage: my_stages.Copy
output: {path: out, format: jsonl, compression: zstd, max_shard_bytes: 1kB}
"""

PAGE = ("<html><body><article><h1>Botchan</h1>" + "<p>Because of an hereditary recklessness, I have "
        "been playing always a losing game since my childhood. During my grammar school days, I "
        "was once laid up for about a week.</p>" * 4 + "</article></body></html>").encode()


def write_warc(path: Path, pages: int, tag: str) -> None:
    with open(path, "wb") as f:
        for i in range(pages):
            http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + PAGE
            head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{tag}-{i}>\r\n"
                    f"WARC-Target-URI: https://example.com/{tag}/{i}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
                    f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n")
            f.write(head.encode() + http + b"\r\n\r\n")


def hostile_folder(tmp_path: Path, planted: tuple[str, ...] = LIBRARIES) -> Path:
    folder = tmp_path / "work"
    (folder / "my_pkg").mkdir(parents=True)
    for name in planted:
        (folder / f"{name}.py").write_text(PLANT.format(folder=str(folder), name=name))
    (folder / "my_steps.py").write_text(MY_STEPS)
    (folder / "my_stages.py").write_text(MY_STAGES)
    (folder / "my_pkg" / "__init__.py").write_text(PKG_INIT)
    (folder / "my_pkg" / "mark.py").write_text(PKG_MARK)
    (folder / "my_pkg" / "steps.py").write_text(PKG_STEPS)
    for k in range(3):
        write_warc(folder / f"pages-{k}.warc", 2, f"p{k}")
    (folder / "p.yaml").write_text(PIPELINE)
    return folder


def cli(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    # corpusforge from this source tree (PYTHONPATH), run from the hostile folder
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "corpusforge.cli", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=timeout)


def check_run(folder: Path, result: subprocess.CompletedProcess) -> None:
    executed = sorted(p.name for p in folder.glob("executed-*"))
    assert executed == [], f"planted modules were imported: {executed}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    import zstandard  # the real one: the output is read back with it

    docs = []
    for part in sorted((folder / "out").glob("part-*.jsonl.zst")):
        with zstandard.open(part, "rt", encoding="utf-8") as f:
            docs += [json.loads(line) for line in f]
    assert len(docs) == 6
    assert all(d["text"].startswith("BOTCHAN") and d["text"].endswith(" [checked]") for d in docs)
    steps = json.loads((folder / "out" / "stats.json").read_text())["steps"]
    assert [s["name"] for s in steps] == ["read", "extract_html", "my_steps.Shout",
                                          "my_pkg.steps:Mark", "my_stages.Copy"]
    assert all(s["docs_out"] == 6 and s["errored"] == 0 for s in steps)


@pytest.mark.slow
def test_local_pool_imports_only_named_modules_from_the_working_directory(tmp_path):
    folder = hostile_folder(tmp_path)
    check_run(folder, cli(folder, "run", "p.yaml", "--quiet", "--workers", "2"))


@pytest.mark.slow
def test_ray_imports_only_named_modules_from_the_working_directory(tmp_path):
    pytest.importorskip("ray")
    folder = hostile_folder(tmp_path)
    check_run(folder, cli(folder, "run", "p.yaml", "--quiet", "--executor", "ray", "--workers", "2",
                          timeout=600))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH is read from Python 3.11")
def test_startup_and_worker_bootstrap_never_import_from_the_working_directory(tmp_path):
    folder = hostile_folder(tmp_path, STARTUP)
    (folder / "p.yaml").write_text("inputs: [{type: demo, docs: 200, units: 4}]\n"
                                   "steps: [{step: my_steps.Shout}]\noutput: {path: out}\n")
    r = cli(folder, "run", "p.yaml", "--quiet", "--workers", "2")
    assert sorted(p.name for p in folder.glob("executed-*")) == [], r.stderr[-3000:]
    assert r.returncode == 0, r.stderr[-3000:]


def test_a_named_module_never_takes_an_installed_modules_name(tmp_path):
    folder = hostile_folder(tmp_path)
    (folder / "p.yaml").write_text(PIPELINE.replace("my_steps.Shout", "zstandard.Shout"))
    r = cli(folder, "validate", "p.yaml")
    assert r.returncode == 2, r.stderr
    assert "p.yaml:4: steps[1].step: " in r.stderr
    assert "'zstandard' is" in r.stderr and "the name of an installed module" in r.stderr
    assert not list(folder.glob("executed-*"))


def test_only_the_named_module_comes_from_the_working_directory(tmp_path):
    folder = hostile_folder(tmp_path)
    # a named module importing a sibling by its top-level name: the sibling is not named
    (folder / "helper.py").write_text("SUFFIX = '!'\n")
    (folder / "my_steps.py").write_text("import helper\n" + MY_STEPS)
    r = cli(folder, "validate", "p.yaml")
    assert r.returncode == 2, r.stderr
    assert "p.yaml:4: steps[1].step: cannot import module 'my_steps'" in r.stderr
    assert "No module named 'helper'" in r.stderr


def test_a_working_directory_removed_under_the_command(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    (tmp_path / "p.yaml").write_text("inputs: [{type: demo, docs: 10}]\noutput: {path: %s}\n"
                                     % (tmp_path / "out"))
    code = ("import os, runpy, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); "
            "sys.argv = ['corpusforge', 'validate', sys.argv[2]]; "
            "runpy.run_module('corpusforge.cli', run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code, str(gone), str(tmp_path / "p.yaml")],
                       cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ok: pipeline" in r.stdout


def test_the_html_extractor_never_imports_from_the_working_directory(tmp_path, monkeypatch):
    """Library use (no CLI, so nothing hid the working directory): the extractor subprocess
    still does not run a planted ``trafilatura.py``."""
    from corpusforge.extract import ExtractHtml
    from corpusforge.schema import make_batch

    (tmp_path / "trafilatura.py").write_text(PLANT.format(folder=str(tmp_path), name="trafilatura"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    html = "<html><body><article><p>" + "吾輩は猫である。名前はまだ無い。" * 20 + "</p></article></body></html>"
    batch = make_batch(["a"], [""], "t", "f", [0], extra={"html": pa.array([html.encode()], pa.binary())})
    out = ExtractHtml().apply(batch).out
    assert "吾輩は猫である" in out.column("text")[0].as_py()
    assert not list(tmp_path.glob("executed-*"))
