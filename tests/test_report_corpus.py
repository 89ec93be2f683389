"""The report of an incremental corpus: two nights over a growing Japanese and English mirror,
then ``corpusforge report CORPUS`` writes CORPUS/report.html with a row per snapshot and per
snapshot and language or source, numbers equal to the manifest's, each snapshot linking to
its own report (opened in a real browser)."""

from __future__ import annotations

import json
from pathlib import Path

from test_incremental import paragraphs, write_jsonl
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline

from browser import open_page
from conftest import conserved

HOSTILE_LANG = "<script>window.__pwned=1</script>"


def test_corpus_report_lists_the_snapshots(tmp_path: Path) -> None:
    mirror, out = tmp_path / "mirror", tmp_path / "corpus"
    mirror.mkdir()
    pipeline = pipeline_from_yaml(f"""
name: nightly-report
inputs: [{{type: jsonl, path: "{mirror}/*.jsonl", source: web, metadata: [lang]}}]
incremental: true
steps:
  - {{step: length, min_chars: 20}}
output: {{path: "{out}"}}
""")
    ja = [{"id": f"ja{i}", "text": t, "lang": "ja"} for i, t in enumerate(paragraphs("ja", 12))]
    en = [{"id": f"en{i}", "text": t, "lang": "en"} for i, t in enumerate(paragraphs("en", 8))]
    write_jsonl(mirror / "a.jsonl", ja + en + [{"id": "x", "text": "短い", "lang": "ja"}])
    conserved(run_pipeline(pipeline, snapshot="night1"))
    write_jsonl(mirror / "b.jsonl", [{"id": f"b-ja{i}", "text": t, "lang": "ja"}
                                      for i, t in enumerate(paragraphs("ja", 5, 300))]
                + [{"id": "h", "text": "Hostile language value in the metadata.", "lang": HOSTILE_LANG}])
    conserved(run_pipeline(pipeline, snapshot="night2"))

    done = CliRunner().invoke(app, ["report", str(out)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["id"] for s in manifest["snapshots"]] == ["night1", "night2"]

    with open_page((out / "report.html").as_uri()) as (page, console):
        snapshots = page.evaluate("""() => [...document.querySelectorAll('tr.snapshot')].map(tr => [
            tr.dataset.snapshot, +tr.dataset.files, +tr.dataset.docsRead, +tr.dataset.docs, +tr.dataset.bytes,
            +tr.dataset.tokens, tr.querySelector('a') && tr.querySelector('a').href])""")
        per = page.evaluate("""() => [...document.querySelectorAll('tr.by-language, tr.by-source')].map(tr => [
            tr.className, tr.dataset.snapshot, tr.dataset.language || tr.dataset.source,
            +tr.dataset.docs, +tr.dataset.bytes, +tr.dataset.tokens])""")
        total = page.evaluate("() => +document.querySelector('tr.total').dataset.docs")
        pwned = page.evaluate("() => typeof window.__pwned")
        body = page.inner_text("body")
    assert console.errors == [] and console.foreign_requests == [] and pwned == "undefined"
    assert [row[:6] for row in snapshots] == [[s["id"], s["files"], s["docs_read"], s["docs"], s["bytes"], s["tokens"]]
                                            for s in manifest["snapshots"]]
    assert [row[6] for row in snapshots] == [(out / f"snapshot={s}" / "report.html").as_uri() for s in ("night1", "night2")]
    assert all((out / f"snapshot={s}" / "report.html").exists() for s in ("night1", "night2"))
    expected = [[f"by-{title}", s["id"], k, v["docs"], v["bytes"], v["tokens"]]
                for group, title in (("languages", "language"), ("sources", "source"))
                for s in manifest["snapshots"] for k, v in s[group].items()]
    assert sorted(per) == sorted(expected) and total == manifest["totals"]["docs"] == 12 + 8 + 6
    assert {"ja", "en", HOSTILE_LANG} <= {k for _, _, k, *_ in per} and HOSTILE_LANG in body
