"""Truncation is always an error record naming the file and the position where the data
ends; what came before it is kept."""

from __future__ import annotations

import io
import json

import zstandard

from conftest import EN, JA, error_records, read_output, run


def lines(n: int, start: int = 0) -> bytes:
    return b"".join(json.dumps({"text": f"{JA if i % 2 else EN} {i}"}, ensure_ascii=False).encode() + b"\n"
                    for i in range(start, start + n))


def test_zstd_cut_on_a_line_boundary_is_an_error_record(tmp_path):
    # the first 300 lines end a zstd block: a cut right after it leaves whole lines only,
    # which zstandard's stream reader returns as a complete file
    buf = io.BytesIO()
    w = zstandard.ZstdCompressor().stream_writer(buf, closefd=False)
    w.write(lines(300))
    w.flush(zstandard.FLUSH_BLOCK)
    cut = buf.tell()
    w.write(lines(300, 300))
    w.close()
    (tmp_path / "cut.jsonl.zst").write_bytes(buf.getvalue()[:cut])
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(buf.getvalue()[:cut])).read() == lines(300)
    stats = run(tmp_path, """
        inputs: [{type: jsonl, path: TMP/cut.jsonl.zst}]
        output: {path: OUT}
        """)
    assert read_output(tmp_path / "out").num_rows == 300
    [err] = error_records(tmp_path / "out")
    assert (err["error"], err["file"], err["position"]) == ("TruncatedZstd", "cut.jsonl.zst", len(lines(300)))
    assert stats.steps[0].errored == 1
