"""WARC/WET reading on the real shared files: every file yields records or error records."""

from __future__ import annotations

import gzip
import zlib

import pyarrow as pa
import pytest

from corpusforge.errors import ErrorRecord
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.http_payload import dechunk, parse_response
from corpusforge.io.warc import WarcInput

from conftest import shared_data

#: response (or conversion) records each shared file holds, and the errors it must give
EXPECTED = {
    "ccwhirlwind__whirlwind.warc.gz": (1, []),
    "dolma__sample-0000.warc.gz": (22, []),
    "dolma__sample-0001.warc.gz": (15, []),
    "jwarc__cc.warc.gz": (1, []),
    "resiliparse__clipped.warc.gz": (0, ["TruncatedRecord"]),
    "resiliparse__clueweb-quirk.warc.gz": (29, []),
    "resiliparse__warcfile.warc.gz": (16, []),
    "warcio__example-iana.org-chunked.warc": (1, []),
    "warcio__example-resource.warc.gz": (0, []),
    "warcio__example.arc.gz": (0, ["BadRecord"]),
    "warcio__example.warc.gz": (1, []),
    "warcio__post-test.warc.gz": (3, []),
}


def read_all(path, **kw) -> tuple[pa.Table | None, list[ErrorRecord]]:
    cfg = WarcInput(type="warc", path=str(path), **kw)
    tables, errors = [], []
    for unit in warc.plan(cfg, 0):
        for item in warc.read(unit, cfg, "cc", BatchConfig(max_docs=7)):
            (errors if isinstance(item, ErrorRecord) else tables).append(item)
    return (pa.concat_tables(tables) if tables else None), errors


def test_every_shared_warc_file_yields_records_or_errors():
    folder = shared_data("warc")
    names = sorted(p.name for p in folder.iterdir())
    assert set(names) == set(EXPECTED), "the shared WARC folder changed: update EXPECTED"
    for name in names:
        table, errors = read_all(folder / name)
        docs, errs = EXPECTED[name]
        assert (table.num_rows if table is not None else 0) == docs, name
        assert [e.error for e in errors] == errs, (name, errors)
        for e in errors:
            assert e.file == name and e.position is not None


def test_columns_ids_and_metadata():
    table, _ = read_all(shared_data("warc", "ccwhirlwind__whirlwind.warc.gz"))
    row = table.to_pylist()[0]
    assert row["id"] == "urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6"
    assert row["url"].startswith("https://an.wikipedia.org/wiki/Escopete")
    assert row["http_status"] == 200 and row["content_type"] == "text/html"
    assert row["charset"] == "utf-8" and row["fetch_date"] == "2024-05-18T01:58:10Z"
    assert row["text"] == "" and row["html"].lstrip().lower().startswith(b"<!doctype html")
    assert row["__file"] == "ccwhirlwind__whirlwind.warc.gz" and row["__pos"] >= 0


def test_batches_bounded_by_docs():
    cfg = WarcInput(type="warc", path=str(shared_data("warc", "dolma__sample-0000.warc.gz")))
    (unit,) = warc.plan(cfg, 0)
    sizes = [t.num_rows for t in warc.read(unit, cfg, "cc", BatchConfig(max_docs=5))]
    assert sizes == [5, 5, 5, 5, 2]


def test_chunked_transfer_encoding_is_undone():
    table, _ = read_all(shared_data("warc", "warcio__example-iana.org-chunked.warc"))
    html = table.column("html")[0].as_py()
    assert html.lstrip().startswith(b"<!doctype html") and html.rstrip().endswith(b"</html>")
    assert b"\r\n0\r\n" not in html[-10:]


def test_real_gzip_content_encoding_is_decoded_and_a_lying_header_ignored():
    table, _ = read_all(shared_data("warc", "warcio__example.warc.gz"))
    assert b"Example Domain" in table.column("html")[0].as_py()
    # ClueWeb09: "Content-Encoding: gzip" on a plain EUC-JP payload, WARC/0.18, LF-only headers
    table, _ = read_all(shared_data("warc", "resiliparse__clueweb-quirk.warc.gz"))
    assert set(table.column("charset").to_pylist()) == {"euc-jp"}
    assert set(table.column("http_status").to_pylist()) == {200}
    html = table.column("html")[0].as_py()
    assert html.startswith(b"<html>") and "ヘッドポーター".encode("euc-jp") in html


def test_wet_conversion_records():
    table, errors = read_all(shared_data("wet", "ccwhirlwind__whirlwind.warc.wet.gz"))
    assert not errors and table.num_rows == 1
    row = table.to_pylist()[0]
    assert row["text"].startswith("Escopete - Biquipedia") and row["html"] is None
    assert row["content_type"] == "text/plain"
    # the WAT file holds no documents (metadata records only), and that is not an error
    table, errors = read_all(shared_data("wet", "ccwhirlwind__whirlwind.warc.wat.gz"))
    assert table is None and not errors


def test_target_uri_in_angle_brackets_is_the_bare_url():
    # dolma's sample was written by wget, which follows the WARC 1.0 grammar: <https://...>
    table, _ = read_all(shared_data("warc", "dolma__sample-0000.warc.gz"))
    urls = table.column("url").to_pylist()
    assert "https://www.semanticscholar.org/research/research-team" in urls
    assert not any(u.startswith("<") or u.endswith(">") for u in urls)
    table, _ = read_all(shared_data("warc", "warcio__example.warc.gz"))
    assert table.column("url").to_pylist() == ["http://example.com/"]


def test_format_selects_record_types():
    table, _ = read_all(shared_data("wet", "ccwhirlwind__whirlwind.warc.wet.gz"), format="warc")
    assert table is None
    table, _ = read_all(shared_data("warc", "jwarc__cc.warc.gz"), format="wet")
    assert table is None


def test_oversized_record_is_an_error_record():
    table, errors = read_all(shared_data("warc", "dolma__sample-0001.warc.gz"), max_doc_bytes="30KB")
    assert errors and {e.error for e in errors} == {"DocumentTooLarge"}
    assert table.num_rows + len(errors) == 15


def test_truncated_gzip_keeps_the_records_before_the_break(tmp_path):
    data = gzip.decompress(shared_data("warc", "dolma__sample-0000.warc.gz").read_bytes())
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(gzip.compress(data)[: len(gzip.compress(data)) // 2])
    table, errors = read_all(cut)
    assert 0 < table.num_rows < 22
    assert len(errors) == 1 and errors[0].file == "cut.warc.gz"


def test_http_payload_parser_units():
    assert dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n") == b"hello world"
    assert dechunk(b"<html>not chunked") is None
    body = zlib.compress("日本語".encode())
    r = parse_response(b"HTTP/1.1 404 Not Found\nContent-Type: text/html; charset=Shift_JIS\n"
                       b"Content-Encoding: deflate\n\n" + body)
    assert r.status == 404 and r.charset == "shift_jis" and r.content_type == "text/html"
    assert r.body == "日本語".encode() and r.notes == ["deflate"]
    r = parse_response(b"HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n\r\n<p>plain</p>")
    assert r.body == b"<p>plain</p>" and r.notes == ["gzip?"]
    r = parse_response(b"<html>no http head</html>")
    assert r.status is None and r.body == b"<html>no http head</html>"


@pytest.mark.parametrize("spec,expected", [("0-9", (0, 10)), ("10:20", (10, 20)), ("5", (5, 6)),
                                           (3, (3, 4)), (None, (0, None)), ("7-", (7, None))])
def test_slices(spec, expected):
    from corpusforge.io.commoncrawl import parse_slice

    assert parse_slice(spec) == expected
