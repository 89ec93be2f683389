"""A small real Japanese + English JSONL input for the report tests, with hostile documents:
markup that would run script in a page, a ``javascript:`` URL and terminal escapes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from corpusforge.accounting import RunStats

from conftest import conserved, shared_data

#: removed by ``length`` (min_chars 200): a canary global is set if the page runs it
HOSTILE_TEXT = ("<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=1\">"
                "</textarea></pre>\x1b[31mRED\x1b]0;title\x07 端末 \x1b[2J")
HOSTILE_URL = "javascript:window.__pwned=1"


def write_input(path: Path) -> Path:
    """Japanese (ABEJA CC) and English (dolma CC) pages, plus two hostile short documents."""
    data = json.loads(gzip.decompress(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    rows = [{"id": f"ja-{r['sample_id']}-{len(r['text'])}", "text": r["text"], "url": r["url"]}
            for group in data.values() for r in group][::2]
    for f in sorted(shared_data("en", "dolma_cc_samples").glob("data__multiple_files__*.jsonl.gz")):
        rows += [{"id": r["id"], "text": r["text"], "url": r["metadata"]["url"]}
                 for r in map(json.loads, gzip.decompress(f.read_bytes()).splitlines())]
    rows.append({"id": "hostile-1", "text": HOSTILE_TEXT, "url": HOSTILE_URL})
    rows.append({"id": "hostile-2", "text": "短い。" + HOSTILE_TEXT, "url": "http://x.test/?q=<script>"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def pipeline(src: Path, out: Path, mode: str = "filter", report: bool = True) -> str:
    return f"""
name: report-test
inputs:
  - {{type: jsonl, path: "{src}", source: web, unit_bytes: 40000}}
steps:
  - {{step: length, min_chars: 200, max_chars: 20000, mode: {mode}}}
  - {{step: langid, keep: [ja, en], mode: {mode}}}
  - {{step: gopher_quality, tokens: whitespace, min_words: 30, mode: {mode}}}
output: {{path: "{out}", format: jsonl, compression: none}}
report: {str(report).lower()}
"""


def page_numbers(page) -> dict:
    """Every step's figures as the report page shows them (its rows' data attributes)."""
    return page.evaluate("""() => {
        const rows = {};
        for (const tr of document.querySelectorAll('table.funnel tr.step')) rows[tr.dataset.step] = {
            docs_in: +tr.dataset.docsIn, docs_out: +tr.dataset.docsOut, bytes_in: +tr.dataset.bytesIn,
            bytes_out: +tr.dataset.bytesOut, errored: +tr.dataset.errored, removed: {}, histograms: {}};
        for (const tr of document.querySelectorAll('table.reasons tr.reason'))
            rows[tr.dataset.step].removed[tr.dataset.reason] = +tr.dataset.count;
        for (const tr of document.querySelectorAll('tr.docs-by'))
            rows.docs_by = Object.assign(rows.docs_by || {}, {[tr.dataset.source + '/' + tr.dataset.lang]: [+tr.dataset.docs, +tr.dataset.bytes]});
        for (const c of document.querySelectorAll('.histogram'))
            rows[c.dataset.step].histograms[c.dataset.signal] = [+c.dataset.kept, +c.dataset.removed];
        for (const tr of document.querySelectorAll('table.memory tr.task-memory'))
            rows.task_memory = Object.assign(rows.task_memory || {}, {[tr.dataset.group]: [+tr.dataset.peak, +tr.dataset.growth]});
        return rows;
    }""")


def stats_numbers(stats: dict) -> dict:
    """The same figures from stats.json."""
    out = {s["name"]: {"docs_in": s["docs_in"], "docs_out": s["docs_out"], "bytes_in": s["bytes_in"],
                       "bytes_out": s["bytes_out"], "errored": s["errored"], "removed": s["removed"],
                       "histograms": {k: [sum(h["kept"].values()), sum(h["removed"].values())]
                                      for k, h in s.get("histograms", {}).items()}}
           for s in stats["steps"]}
    if stats.get("task_memory"):  # the memory per task of each task group
        out["task_memory"] = {g: [m["peak"], m["growth"]] for g, m in stats["task_memory"].items()}
    counted = [s["docs_by"] for s in stats["steps"] if "docs_by" in s]
    if counted:  # per source and language, after the last step of the map phase
        out["docs_by"] = {f"{src}/{lang}": v for src, langs in counted[-1].items() for lang, v in langs.items()}
    return out


@pytest.fixture(scope="session")
def web_runs(tmp_path_factory) -> dict[str, tuple[Path, RunStats]]:
    """The input through the three filters, shared by the report, stats and inspect tests:
    ``filter`` (one worker, with its report), ``annotate`` (one worker) and ``filter2``
    (two workers, no report)."""
    from corpusforge.config import pipeline_from_yaml
    from corpusforge.engine import run_pipeline

    tmp = tmp_path_factory.mktemp("web-runs")
    src = write_input(tmp / "web.jsonl")
    runs = {}
    for name, mode, workers, report in (("filter", "filter", 1, True), ("annotate", "annotate", 1, False),
                                        ("filter2", "filter", 2, False)):
        out = tmp / name
        stats = run_pipeline(pipeline_from_yaml(pipeline(src, out, mode, report)), workers=workers)
        runs[name] = (out, conserved(stats))
    return runs
