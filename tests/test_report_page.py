"""The run report in a real headless Chromium: it loads offline with no console error, every
number of ``stats.json`` is in the page, and hostile documents show as text and run nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from corpusforge.config import Pipeline
from corpusforge.engine import run_pipeline
from corpusforge.report.page import render

from browser import open_page
from conftest import ROOT, conserved
from report_data import HOSTILE_TEXT, page_numbers, stats_numbers


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    """The sample pipeline (normalize, length, code_route, langid, dedup) on a smaller demo corpus."""
    out = tmp_path_factory.mktemp("sample") / "out"
    spec = yaml.safe_load((ROOT / "pipelines" / "sample.yaml").read_text())
    spec["inputs"][0].update(docs=300, units=2)
    spec["output"]["path"] = str(out)
    conserved(run_pipeline(Pipeline.from_dict(spec), workers=1))
    return out


@pytest.fixture
def web_run(web_runs) -> Path:
    """Japanese and English web pages and two hostile documents, through three filters."""
    return web_runs["filter"][0]


@pytest.mark.parametrize("which", ["sample_run", "web_run"])
def test_report_in_a_browser_shows_the_stats(which, request, tmp_path):
    out = request.getfixturevalue(which)
    stats = json.loads((out / "stats.json").read_text())
    with open_page((out / "report.html").as_uri()) as (page, console):
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        numbers = page_numbers(page)
        pwned = page.evaluate("() => typeof window.__pwned")
        body = page.inner_text("body")
        scripts = page.evaluate("() => document.scripts.length")
        images = page.evaluate("() => document.images.length")
    assert console.errors == [] and console.foreign_requests == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert numbers == stats_numbers(stats)
    assert set(numbers) - {"docs_by", "task_memory"} == {s["name"] for s in stats["steps"]} and numbers["docs_by"]
    assert "map" in numbers["task_memory"]  # memory per task, shown for every task group
    assert pwned == "undefined" and scripts == 0 and images == 0
    if which == "sample_run":
        # dedup: its clusters by size (one kept document each) and its duplicates, with samples
        dedup = next(s for s in stats["steps"] if s["name"] == "dedup")
        assert numbers["dedup"]["histograms"]["dup_cluster_size"] == [dedup["docs_out"], sum(dedup["removed"].values())]
        assert set(dedup["samples"]) == set(dedup["removed"]) and "dup_of" in body
    if which == "web_run":
        # the hostile documents are among the samples, as text (control characters written out)
        assert "<script>window.__pwned=1</script>" in body and "javascript:window.__pwned=1" in body
        assert "\\x1b[31mRED" in body and "\x1b" not in body and "端末" in body
        assert any("\u3040" <= c <= "\u30ff" for c in body)  # Japanese sampled pages


def test_page_escapes_every_document_string():
    """Hostile text in every place a document string can reach: no markup survives."""
    doc = {"hash": "0", "id": HOSTILE_TEXT, "source": "<b>s</b>", "url": "javascript:alert(1)", "lang": "ja",
           "text": HOSTILE_TEXT + "</pre></details><script>x()</script>", "text_chars": 10,
           "signals": {"<i>sig</i>": "\"><script>y()</script>"}}
    stats = {"steps": [{"name": "<step>", "docs_in": 1, "docs_out": 0, "bytes_in": 1, "bytes_out": 0,
                        "errored": 0, "seconds": 0.1, "removed": {"<r>": 1}, "samples": {"<r>": [doc]},
                        "error_kinds": {"<e>": 1}}]}
    errors = {"<e>": [{"step": "<s>", "message": "<script>m()</script>", "snippet": "</textarea><svg onload=z()>"}]}
    page = render(stats, {"pipeline": "<script>p()</script>"}, None, errors)
    lowered = page.lower()
    assert "<script" not in lowered and "<svg onload" not in lowered and "<img" not in lowered
    assert "\x1b" not in page and "\\x1b[31m" in page and "<b>s</b>" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page and "吾" not in page


def test_report_command_and_report_false(web_runs, tmp_path):
    """A run writes its report unless `report: false`; `corpusforge report` writes it later."""
    from typer.testing import CliRunner

    from corpusforge.cli import app

    quiet = web_runs["filter2"][0]
    assert not (quiet / "report.html").exists() and (quiet / "_state" / "run.json").exists()
    done = CliRunner().invoke(app, ["report", str(quiet)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    page = (quiet / "report.html").read_text()
    assert "report-test" in page and "jsonl: " in page and "workers: default" in page
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "none")], env={"COLUMNS": "200"})
    assert missing.exit_code == 1 and "holds no run" in missing.output


def test_report_of_a_run_that_stopped(tmp_path):
    """A failed run has no stats.json: the report shows its status, its counts so far and its
    error records (escaped: an error record quotes a document)."""
    from corpusforge.report import write_report

    (tmp_path / "_state").mkdir()
    (tmp_path / "_errors").mkdir()
    steps = [{"name": "read", "docs_in": 3, "docs_out": 2, "bytes_in": 9, "bytes_out": 6, "errored": 1,
              "seconds": 0.1, "removed": {}, "error_kinds": {"JSONDecodeError": 1}}]
    (tmp_path / "_state" / "status.json").write_text(json.dumps({
        "state": "failed", "exit_code": 3, "pipeline": "壊れた実行", "stats": {"steps": steps},
        "last_error": {"type": "ErrorBudgetExceeded", "message": "too many errors"}}))
    (tmp_path / "_errors" / "part-00000.jsonl").write_text(json.dumps({
        "step": "read", "error": "JSONDecodeError", "message": "bad line <script>x()</script>",
        "file": "in.jsonl", "position": 7, "snippet": "{\"text\": \"壊れ\x1b[2J"}) + "\n")
    page = Path(write_report(str(tmp_path))).read_text(encoding="utf-8")
    assert "failed" in page and "壊れた実行" in page and "ErrorBudgetExceeded: too many errors" in page
    assert 'data-kind="JSONDecodeError" data-count="1"' in page
    assert "bad line &lt;script&gt;x()&lt;/script&gt;" in page and "\\x1b[2J" in page and "\x1b" not in page
