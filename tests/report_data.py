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
