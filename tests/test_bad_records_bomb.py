"""A compressed WARC payload that inflates to gigabytes: decoding stops at max_doc_bytes,
the record is one error record, the file goes on, and memory stays small."""

from __future__ import annotations

import tracemalloc
import zlib

import pytest
import zstandard

from corpusforge.errors import ErrorRecord
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.warc import WarcInput

from conftest import JA, error_records, read_output, run

ZEROS_MB = 100


def bomb(encoding: str) -> bytes:
    """100 MB of zeros, compressed a megabyte at a time (the test never holds them)."""
    zero = bytes(2**20)
    if encoding == "zstd":
        c = zstandard.ZstdCompressor().compressobj()
        return b"".join(c.compress(zero) for _ in range(ZEROS_MB)) + c.flush()
    if encoding == "br":
        brotli = pytest.importorskip("brotli")
        c = brotli.Compressor()
        return b"".join(c.process(zero) for _ in range(ZEROS_MB)) + c.finish()
    c = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    return b"".join(c.compress(zero) for _ in range(ZEROS_MB)) + c.flush()


def record(i: int, body: bytes, encoding: str | None = None) -> bytes:
    enc = f"Content-Encoding: {encoding}\r\n" if encoding else ""
    http = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n{enc}\r\n").encode() + body
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:page-{i}>\r\n"
            f"WARC-Target-URI: https://example.jp/{i}\r\nContent-Length: {len(http)}\r\n\r\n")
    return head.encode() + http + b"\r\n\r\n"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd", "br"])
def test_a_payload_bomb_is_one_error_record_and_the_file_goes_on(tmp_path, encoding):
    page = f"<html><body><p>{JA}</p></body></html>".encode()
    data = record(0, page) + record(1, bomb(encoding), encoding) + record(2, zlib.compress(page), "deflate")
    assert len(data) < 2**20  # 100 MB of payload in a file under a megabyte
    (tmp_path / "bomb.warc").write_bytes(data)
    cfg = WarcInput(type="warc", path=str(tmp_path / "bomb.warc"), max_doc_bytes="1MB")
    (tmp_path / "warm.warc").write_bytes(record(0, page))  # first-use imports are not the bomb's
    warm = WarcInput(type="warc", path=str(tmp_path / "warm.warc"))
    list(warc.read(warc.plan(warm, 0)[0], warm, "cc", BatchConfig()))
    tracemalloc.start()
    try:
        items = list(warc.read(warc.plan(cfg, 0)[0], cfg, "cc", BatchConfig()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"decoding held {peak / 2**20:.0f} MB"
    [err] = [i for i in items if isinstance(i, ErrorRecord)]
    assert (err.error, err.id, err.position) == ("DocumentTooLarge", "urn:uuid:page-1", len(record(0, page)))
    assert encoding in err.message

    stats = run(tmp_path, """
        inputs: [{type: warc, path: TMP/bomb.warc, max_doc_bytes: 1MB}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    out = read_output(tmp_path / "out")
    assert out.column("id").to_pylist() == ["urn:uuid:page-0", "urn:uuid:page-2"]
    assert out.column("html").to_pylist() == [page, page]
    assert [e["error"] for e in error_records(tmp_path / "out")] == ["DocumentTooLarge"]
    assert (stats.steps[0].docs_in, stats.steps[0].errored) == (3, 1)
