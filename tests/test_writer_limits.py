"""Partition folders within file-system limits: long values get a bounded, reversible folder
name; thousands of partitions never exhaust file descriptors; a failed write leaves no
``.tmp`` file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.io.output import open_output, read_output
from corpusforge.io.writers import MAX_FOLDER_BYTES, ShardedWriter, partition_dir

from conftest import ROOT

JA = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def folders(root: Path) -> list[str]:
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("_"))


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_long_japanese_partition_values_read_back_exactly(tmp_path, fmt):
    long = (JA * 10)[:300]  # 300 characters: 2,700 bytes percent-encoded
    titles = ["ja", long, long[:-1] + "。", long + "x", "日本 語/題", None, "a" * 190]
    write_jsonl(tmp_path / "in.jsonl", [{"text": f"doc {i}", "title": t} for i, t in enumerate(titles)])
    p = pipeline_from_yaml(textwrap.dedent(f"""
        inputs: [{{type: jsonl, path: {tmp_path}/in.jsonl, metadata: [title]}}]
        output: {{path: {tmp_path}/out, format: {fmt}, partition_by: title}}
        """))
    run_pipeline(p, workers=1)
    names = folders(tmp_path / "out")
    assert len(names) == len(titles)  # values sharing a long prefix still get their own folder
    assert all(len(n.encode()) <= MAX_FOLDER_BYTES for n in names)
    # short values keep the folder names hive readers expect
    assert {"title=ja", "title=%E6%97%A5%E6%9C%AC%20%E8%AA%9E%2F%E9%A1%8C",
            "title=__HIVE_DEFAULT_PARTITION__", "title=" + "a" * 190} <= set(names)
    expected = {f"doc {i}": t for i, t in enumerate(titles)}
    out = read_output(str(tmp_path / "out"))
    assert dict(zip(out.column("text").to_pylist(), out.column("title").to_pylist())) == expected
    if fmt == "parquet":
        table = open_output(str(tmp_path / "out")).to_table()
        assert dict(zip(table.column("text").to_pylist(), table.column("title").to_pylist())) == expected
        assert table.schema.field("title").type == pa.string()


def test_cut_folder_names_decode_and_are_stable():
    from urllib.parse import unquote

    value = JA * 20
    name = partition_dir("title", value)
    assert name == partition_dir("title", value)  # the same on every run and machine
    head, _, digest = name.rpartition("@")
    assert digest == hashlib.sha256(value.encode()).hexdigest()[:16]
    prefix = unquote(head.removeprefix("title="), errors="strict")  # cut on a whole character
    assert prefix and value.startswith(prefix)
    # a short value containing "@" is percent-encoded, so it never looks like a cut name
    assert partition_dir("title", "x@" + digest) == "title=x%40" + digest


def test_failed_write_leaves_no_tmp_files(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    (root / "lang=zz").write_text("a file where the partition folder would go")
    w = ShardedWriter(str(root), 0, "parquet", partition_by="lang")
    with pytest.raises(OSError):
        w.write(pa.table({"text": ["a", "b", "c"], "lang": ["ja", "en", "zz"]}))
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]


LOW_LIMIT_RUN = """
import resource, sys
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline

resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
run_pipeline(pipeline_from_yaml(sys.argv[1]), workers=1, executor="local")
"""


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_1500_partitions_under_a_low_open_file_limit(tmp_path, fmt):
    # every value twice, far apart: the second rows of a value come after its shard was
    # closed to stay under the limit, and start the next numbered shard
    values = [f"{JA[i % len(JA)]}-{i}" for i in range(1500)]
    rows = [{"text": f"doc {n}", "title": v} for n, v in enumerate(values + values)]
    write_jsonl(tmp_path / "in.jsonl", rows)
    outputs = []
    for run in ("a", "b"):
        yaml = textwrap.dedent(f"""
            inputs: [{{type: jsonl, path: {tmp_path}/in.jsonl, metadata: [title]}}]
            output: {{path: {tmp_path}/{run}, format: {fmt}, partition_by: title}}
            batch: {{max_docs: 500}}
            """)
        r = subprocess.run([sys.executable, "-c", LOW_LIMIT_RUN, yaml], cwd=tmp_path, capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        out = tmp_path / run
        assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
        outputs.append({p.relative_to(out).as_posix(): p.read_bytes()
                        for p in out.rglob("part-*") if p.is_file()})
    assert len(folders(tmp_path / "a")) == 1500
    assert any("-0001." in name for name in outputs[0])
    assert outputs[0] == outputs[1]  # byte-identical across runs
    table = read_output(str(tmp_path / "a"))
    got = dict(zip(table.column("text").to_pylist(), table.column("title").to_pylist()))
    assert got == {r["text"]: r["title"] for r in rows}


def test_a_unit_stopped_by_on_error_fail_leaves_no_temporary_files(tmp_path):
    """The writers are healthy, a step fails the run: the unit's open shards go too."""
    from corpusforge.config import pipeline_from_yaml
    from corpusforge.engine import run_pipeline
    from corpusforge.errors import StepFailed

    rows = [{"text": f"吾輩は猫である。{i}"} for i in range(300)] + [{"text": "EXPLODE 爆発"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    p = pipeline_from_yaml(f"""
inputs: [{{type: jsonl, path: {tmp_path}/in.jsonl}}]
steps: [{{step: user_steps.Explode}}]
output: {{path: {tmp_path}/out}}
batch: {{max_docs: 50}}
on_error: fail
""")
    with pytest.raises(StepFailed):
        run_pipeline(p, workers=1)
    assert not [f for f in (tmp_path / "out").rglob("*.tmp")]


def test_batches_with_other_columns_start_a_new_parquet_file(tmp_path):
    from corpusforge.io.output import read_output

    # one task reads two sources with different metadata: neither batch's columns are lost
    w = ShardedWriter(str(tmp_path / "out"), 0, "parquet")
    w.write(pa.table({"text": [JA, "plain"], "lang": ["ja", "en"]}))
    w.write(pa.table({"text": ["日本語の二つ目"], "lang": ["ja"], "meta_title": ["題名"]}))
    w.write(pa.table({"text": ["third"], "lang": ["en"], "meta_title": ["title"]}))
    paths = w.commit()
    assert [p.rsplit("/", 1)[1] for p in paths] == ["part-00000-0000.parquet", "part-00000-0001.parquet"]
    rows = read_output(str(tmp_path / "out")).to_pylist()
    assert [r["text"] for r in rows] == [JA, "plain", "日本語の二つ目", "third"]
    assert [r["meta_title"] for r in rows] == [None, None, "題名", "title"]
