"""An ``hf`` input of the ``json`` builder: one bad line costs that line, not its file."""

from __future__ import annotations

import json

import pytest

from conftest import EN, JA, error_records, read_output, run


def write_lines(path, first: int, n: int, bad: int | None = None) -> bytes:
    lines = [json.dumps({"text": f"{JA if i % 2 else EN} {i}", "id": f"d{i}"}, ensure_ascii=False).encode()
             for i in range(first, first + n)]
    if bad is not None:
        lines[bad - first] = b'{"text": "' + JA.encode() + b' unterminated'
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("files,shards", [(1, 1), (2, 2), (3, 2)])
def test_hf_json_with_a_bad_line_loses_that_line_only(tmp_path, files, shards):
    data = {}
    for k in range(files):
        data[k] = write_lines(tmp_path / f"part{k}.jsonl", 100 * k, 100, bad=100 * k + 42 if k == files - 1 else None)
    listed = ", ".join(f"TMP/part{k}.jsonl" for k in range(files))
    stats = run(tmp_path, f"""
        inputs: [{{type: hf, path: json, data_files: [{listed}], num_shards: {shards}}}]
        output: {{path: OUT}}
        """)
    bad = 100 * (files - 1) + 42
    ids = read_output(tmp_path / "out").column("id").to_pylist()
    assert sorted(ids, key=lambda i: int(i[1:])) == [f"d{i}" for i in range(100 * files) if i != bad]
    [err] = error_records(tmp_path / "out")
    last = data[files - 1]
    assert (err["error"], err["file"]) == ("MalformedJSON", f"part{files - 1}.jsonl")
    assert err["position"] == last.index(b"unterminated") - len(b'{"text": "' + JA.encode() + b" ")
    assert (stats.steps[0].docs_in, stats.steps[0].errored, stats.units) == (100 * files, 1, shards)


def test_hf_json_array_files_are_still_read_by_datasets(tmp_path):
    rows = [{"text": f"{JA} {i}", "id": f"a{i}"} for i in range(5)]
    (tmp_path / "array.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    run(tmp_path, """
        inputs: [{type: hf, path: json, data_files: TMP/array.json}]
        output: {path: OUT}
        """)
    assert read_output(tmp_path / "out").column("id").to_pylist() == [f"a{i}" for i in range(5)]
