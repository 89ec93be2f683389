"""Line ends and long lines: a file with CR line ends is split into its documents, and a
run's JSONL output holding documents over 1 MB reads back."""

from __future__ import annotations

import gzip
import json

import pytest

from corpusforge.errors import ErrorRecord
from corpusforge.io import jsonl
from corpusforge.io.batching import BatchConfig
from corpusforge.io.jsonl import JsonlInput

from conftest import EN, JA, error_records, read_output, run


def docs(n: int) -> list[bytes]:
    return [json.dumps({"text": f"{JA if i % 2 else EN} {i}"}, ensure_ascii=False).encode() for i in range(n)]


@pytest.mark.parametrize("eol", [b"\r", b"\r\n", b"mixed"])
@pytest.mark.parametrize("layout", ["plain", "units", "gzip", "small blocks"])
def test_cr_line_ends_split_into_documents(tmp_path, eol, layout):
    lines = docs(1000)
    ends = [b"\r", b"\n", b"\r\n"] if eol == b"mixed" else [eol]
    data = b"".join(line + ends[i % len(ends)] for i, line in enumerate(lines))
    name = "in.jsonl.gz" if layout == "gzip" else "in.jsonl"
    (tmp_path / name).write_bytes(gzip.compress(data) if layout == "gzip" else data)
    extra = ", unit_bytes: 3000" if layout == "units" else ""
    batch = "batch: {max_bytes: 1000}" if layout == "small blocks" else ""
    stats = run(tmp_path, f"""
        inputs: [{{type: jsonl, path: TMP/{name}{extra}}}]
        output: {{path: OUT}}
        {batch}
        """)
    out = read_output(tmp_path / "out")
    assert out.column("text").to_pylist() == [json.loads(x)["text"] for x in lines]
    assert error_records(tmp_path / "out") == []
    starts, pos = [], 0
    for i, line in enumerate(lines):
        starts.append(pos)
        pos += len(line) + len(ends[i % len(ends)])
    assert out.column("id").to_pylist() == [f"input0:{name}:{s}" for s in starts]
    assert stats.steps[0].docs_in == 1000 and (layout != "units" or stats.units > 10)


def test_a_bad_line_among_cr_lines_is_its_own_error(tmp_path):
    lines = docs(1000)
    lines[500] = b'{"text": broken'
    (tmp_path / "in.jsonl").write_bytes(b"\r".join(lines) + b"\r")
    table_rows, errors = 0, []
    cfg = JsonlInput(type="jsonl", path=str(tmp_path / "in.jsonl"))
    for unit in jsonl.plan(cfg, 0):
        for item in jsonl.read(unit, cfg, "s", BatchConfig()):
            if isinstance(item, ErrorRecord):
                errors.append(item)
            else:
                table_rows += item.num_rows
    assert table_rows == 999 and [(e.error, e.n_docs) for e in errors] == [("MalformedJSON", 1)]


@pytest.mark.parametrize("compression", ["none", "zstd", "gzip"])
def test_jsonl_output_with_documents_over_a_megabyte_reads_back(tmp_path, compression):
    big = JA * (2**20 // len(JA.encode()) * 2)  # about 2 MB of UTF-8 in one document
    rows = [{"text": EN}, {"text": big}, {"text": JA}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    run(tmp_path, f"""
        inputs: [{{type: jsonl, path: TMP/in.jsonl}}]
        output: {{path: OUT, format: jsonl, compression: {compression}}}
        """)
    assert read_output(tmp_path / "out").column("text").to_pylist() == [EN, big, JA]
