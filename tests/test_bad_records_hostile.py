"""Hostile inputs found by trying each reader with what a bad day brings: empty files, files of
nothing but invalid bytes, joined files, padding, stray bytes in names and messages. Each
is accounted for (conservation) and none crashes a run."""

from __future__ import annotations

import codecs
import gzip
import json
import os
import tracemalloc

import pytest
import zstandard

from corpusforge.errors import ErrorRecord
from corpusforge.io import jsonl
from corpusforge.io.batching import BatchConfig
from corpusforge.io.jsonl import JsonlInput
from corpusforge.yamlsource import ConfigError

from conftest import EN, JA, error_records, read_output, run


def line(i: int) -> bytes:
    return json.dumps({"text": f"{JA if i % 2 else EN} {i}"}, ensure_ascii=False).encode()


def warc_record(i: int) -> bytes:
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>{JA} {i}</p>".encode()
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:r{i}>\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


#: name -> (bytes, input type, documents, errors)
NOTHING_OR_GARBAGE = {
    "empty.jsonl": (b"", "jsonl", 0, []),
    "empty.jsonl.gz": (b"", "jsonl", 0, []),
    "empty-member.jsonl.gz": (gzip.compress(b""), "jsonl", 0, []),
    "empty.jsonl.zst": (b"", "jsonl", 0, []),
    "invalid.jsonl": (b"\xff\xfe\x80" * 3000, "jsonl", 0, ["InvalidUtf8"]),
    "invalid-lines.jsonl": (b"\xff\n\x80\x80\n", "jsonl", 0, ["InvalidUtf8", "InvalidUtf8"]),
    "invalid.jsonl.zst": (b"\xff" * 100, "jsonl", 0, ["ZstdError"]),
    "empty.parquet": (b"", "parquet", 0, ["ArrowInvalid"]),
    "invalid.parquet": (b"PAR1" + b"\xff" * 100, "parquet", 0, ["ArrowInvalid"]),
    "empty.warc": (b"", "warc", 0, []),
    "empty.warc.gz": (gzip.compress(b""), "warc", 0, []),
    "invalid.warc": (b"\xff" * 5000, "warc", 0, ["BadRecord"]),
    "invalid.warc.gz": (gzip.compress(b"\xff" * 5000), "warc", 0, ["BadRecord"]),
}


@pytest.mark.parametrize("name", sorted(NOTHING_OR_GARBAGE))
def test_empty_files_and_files_of_invalid_bytes(tmp_path, name):
    data, kind, docs, errors = NOTHING_OR_GARBAGE[name]
    (tmp_path / name).write_bytes(data)
    stats = run(tmp_path, f"""
        inputs: [{{type: {kind}, path: TMP/{name}}}]
        output: {{path: OUT}}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    assert stats.steps[0].docs_out == docs
    assert [e["error"] for e in error_records(tmp_path / "out")] == errors
    assert all(e["file"] == name and e["position"] is not None for e in error_records(tmp_path / "out"))


def test_joined_files_each_with_a_byte_order_mark(tmp_path):
    # `cat a.jsonl b.jsonl` of files saved with a BOM, and a bad line that sends the block
    # down the row-by-row path (where orjson refuses a BOM)
    parts = [codecs.BOM_UTF8 + line(0) + b"\n" + line(1) + b"\n", codecs.BOM_UTF8 + line(2) + b"\n",
             b'{"text": broken\n']
    (tmp_path / "joined.jsonl").write_bytes(b"".join(parts))
    run(tmp_path, """
        inputs: [{type: jsonl, path: TMP/joined.jsonl}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    assert read_output(tmp_path / "out").num_rows == 3
    assert [e["error"] for e in error_records(tmp_path / "out")] == ["MalformedJSON"]


def test_bytes_after_the_last_zstd_frame_keep_the_lines_before(tmp_path):
    good = b"".join(line(i) + b"\n" for i in range(50))
    (tmp_path / "tail.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(good) + b"not zstd at all")
    run(tmp_path, """
        inputs: [{type: jsonl, path: TMP/tail.jsonl.zst}]
        output: {path: OUT}
        """)
    assert read_output(tmp_path / "out").num_rows == 50
    [err] = error_records(tmp_path / "out")
    assert (err["error"], err["position"]) == ("ZstdError", len(good))


@pytest.mark.parametrize("eol", [b"\r\n", b"\r"])
@pytest.mark.parametrize("unit_bytes", [7, 13, 64, 101, 4096])
def test_byte_range_units_never_split_or_repeat_a_cr_line(tmp_path, eol, unit_bytes):
    data = b"".join(line(i) + eol for i in range(40))
    (tmp_path / "in.jsonl").write_bytes(data)
    cfg = JsonlInput(type="jsonl", path=str(tmp_path / "in.jsonl"), unit_bytes=unit_bytes)
    texts = []
    for unit in jsonl.plan(cfg, 0):
        for item in jsonl.read(unit, cfg, "s", BatchConfig()):
            assert not isinstance(item, ErrorRecord), item
            texts += item.column("text").to_pylist()
    assert texts == [json.loads(line(i))["text"] for i in range(40)]


def test_a_huge_compressed_line_is_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.jsonl.zst"
    cfg = JsonlInput(type="jsonl", path=str(path), max_doc_bytes="1MB")
    batch = BatchConfig(max_bytes="1MB")  # compressed input is read in pieces of this size
    path.write_bytes(zstandard.ZstdCompressor().compress(line(0) + b"\n"))
    list(jsonl.read(jsonl.plan(cfg, 0)[0], cfg, "s", batch))  # first-use imports are not the line's
    huge = b'{"text": "' + JA.encode() * 300_000 + b'"}'  # 20 MB, one line, no line end
    path.write_bytes(zstandard.ZstdCompressor().compress(line(0) + b"\n" + huge + b"\n" + line(1)))
    del huge
    tracemalloc.start()
    try:
        items = list(jsonl.read(jsonl.plan(cfg, 0)[0], cfg, "s", batch))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [i.error for i in items if isinstance(i, ErrorRecord)] == ["DocumentTooLarge"]
    assert sum(i.num_rows for i in items if not isinstance(i, ErrorRecord)) == 2
    # a few pieces at most, whatever the line's length (it was six)
    assert peak < 4.5 * 2**20, f"{peak / 2**20:.1f} MB held for a 20 MB line over a 1 MB limit"


def test_nul_padding_and_lines_in_other_encodings(tmp_path):
    lines = [line(0), f'{{"text": "café {EN}"}}'.encode("latin-1"), line(1),
             f'{{"text": "{JA}"}}'.encode("cp932"), line(2)]
    (tmp_path / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n" + b"\0" * 4096)
    stats = run(tmp_path, """
        inputs: [{type: jsonl, path: TMP/mixed.jsonl}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    assert read_output(tmp_path / "out").num_rows == 3
    assert [e["error"] for e in error_records(tmp_path / "out")] == ["InvalidUtf8", "InvalidUtf8", "MalformedJSON"]
    assert stats.steps[0].docs_in == 6


def test_warc_padding_blank_lines_and_a_record_split_across_gzip_members(tmp_path):
    records = [warc_record(i) for i in range(4)]
    plain = records[0] + b"\r\n" * 30 + records[1] + records[2] + records[3] + b"\0" * 4096
    split = gzip.compress(records[0]) + gzip.compress(records[1][:50]) + gzip.compress(records[1][50:])
    (tmp_path / "padded.warc").write_bytes(plain)
    (tmp_path / "split.warc.gz").write_bytes(split + gzip.compress(records[2]))
    stats = run(tmp_path, """
        inputs: [{type: warc, path: "TMP/*.warc*"}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    assert read_output(tmp_path / "out").column("id").to_pylist() == [
        "urn:uuid:r0", "urn:uuid:r1", "urn:uuid:r2", "urn:uuid:r3", "urn:uuid:r0", "urn:uuid:r1", "urn:uuid:r2"]
    [err] = error_records(tmp_path / "out")  # the padding: not a record, but not nothing either
    assert (err["error"], err["file"], err["position"]) == ("BadRecord", "padded.warc", len(plain) - 4096)
    assert stats.steps[0].docs_in == 8


def test_an_error_message_with_a_lone_surrogate_is_written_escaped(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(line(0) + b"\n" + b'{"text": "SURROGATE"}\n')
    stats = run(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps: [{step: user_steps.Surrogate}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    [err] = error_records(tmp_path / "out")
    assert "\\udcff" in err["message"] and stats.steps[1].errored == 1


def test_a_file_name_that_is_not_utf8_refuses_the_run_before_it_starts(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "fine.jsonl").write_bytes(line(0) + b"\n")
    with open(os.path.join(os.fsencode(folder), b"\xff\xfe.jsonl"), "wb") as f:
        f.write(line(1) + b"\n")
    with pytest.raises(ConfigError, match=r"not valid UTF-8.*\\xff\\xfe\.jsonl"):
        run(tmp_path, """
            inputs: [{type: jsonl, path: TMP/in}]
            output: {path: OUT}
            """)
    assert not (tmp_path / "out").exists()


def test_hf_json_data_files_that_match_nothing_refuse_the_run(tmp_path):
    with pytest.raises(ConfigError, match="no file matches"):
        run(tmp_path, """
            inputs: [{type: hf, path: json, data_files: TMP/missing-*.jsonl}]
            output: {path: OUT}
            """)
