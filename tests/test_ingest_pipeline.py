"""End to end over every shared WARC file, and the sample pipeline's language routing."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline

from conftest import ROOT, read_output, shared_data


@pytest.mark.slow
def test_all_shared_warc_files_through_extraction_and_langid(tmp_path):
    folder = shared_data("warc")
    p = pipeline_from_yaml(textwrap.dedent(f"""
        inputs: [{{type: warc, path: '{folder}/*', source: cc}}]
        steps:
          - {{step: extract_html, timeout: 60}}
          - {{step: langid, keep: [ja, en]}}
        output: {{path: {tmp_path / 'out'}, partition_by: lang}}
        executor: {{workers: 2}}
    """))
    stats = run_pipeline(p).to_dict()
    read, extract, langid = stats["steps"]
    # 91 response records + the truncated one + the ARC file that cannot be read
    assert read["docs_in"] == 91 and read["errored"] == 2
    for step in stats["steps"]:
        assert step["docs_in"] == step["docs_out"] + sum(step["removed"].values()) + step["errored"]
    assert set(extract["removed"]) <= {"content_type", "http_status", "no_text"}
    assert set(langid["removed"]) == {"lang"}
    out = read_output(tmp_path / "out")
    assert set(out.column("lang").to_pylist()) == {"ja", "en"}
    assert "html" not in out.column_names
    ja = [t for t, lang in zip(out.column("text").to_pylist(), out.column("lang").to_pylist()) if lang == "ja"]
    assert len(ja) >= 29 and not any("\ufffd" in t for t in ja)
    rejects = list((tmp_path / "out" / "_rejects").rglob("*.parquet"))
    assert rejects and (tmp_path / "out" / "lang=ja").is_dir()


def test_sample_pipeline_partitions_by_language(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["run", str(ROOT / "pipelines" / "sample.yaml"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    parts = sorted(p.name for p in (tmp_path / "out" / "sample").iterdir() if p.name.startswith("lang="))
    assert parts == ["lang=code", "lang=en", "lang=ja"]
    stats = json.loads((tmp_path / "out" / "sample" / "stats.json").read_text())
    names = [s["name"] for s in stats["steps"]]
    assert names[-3:] == ["code_route", "langid", "dedup"]
    code = read_output(tmp_path / "out" / "sample" / "lang=code")
    assert set(code.column("code_lang").to_pylist()) == {"python"}
