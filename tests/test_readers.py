from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpusforge.errors import ErrorRecord
from corpusforge.io import demo, hf, jsonl, parquet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.demo import DemoInput
from corpusforge.io.hf import HFInput
from corpusforge.io.jsonl import JsonlInput
from corpusforge.io.parquet import ParquetInput

BATCH = BatchConfig()
JA = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
EN = "The quick brown fox jumps over the lazy dog."


def records(n: int) -> list[dict]:
    return [{"text": f"{JA if i % 2 else EN} #{i}", "id": f"doc-{i}", "url": f"https://x.jp/{i}",
             "meta": {"pile_set_name": "Pile-CC" if i % 3 else "Books3", "n": i}} for i in range(n)]


def write_jsonl(path: Path, recs: list[dict], opener=open) -> Path:
    with opener(path, "wt", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def read_all(mod, cfg, source="src", batch=BATCH) -> tuple[pa.Table | None, list[ErrorRecord]]:
    tables, errors = [], []
    for unit in mod.plan(cfg, 0):
        for item in mod.read(unit, cfg, source, batch):
            (errors if isinstance(item, ErrorRecord) else tables).append(item)
    return (pa.concat_tables(tables) if tables else None), errors


def test_jsonl_field_mapping_nested_metadata_and_japanese(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", records(10))
    cfg = JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl"), metadata=["meta.pile_set_name"])
    table, errors = read_all(jsonl, cfg)
    assert not errors
    assert table.column("id").to_pylist() == [f"doc-{i}" for i in range(10)]
    assert table.column("text")[1].as_py().startswith("吾輩は猫である")
    assert table.column("pile_set_name").to_pylist()[:4] == ["Books3", "Pile-CC", "Pile-CC", "Books3"]
    assert table.column("source").to_pylist() == ["src"] * 10


@pytest.mark.parametrize("unit_bytes", [1, 37, 200, 1000, 10**6])
def test_jsonl_byte_range_units_cover_every_line_once(tmp_path, unit_bytes):
    recs = records(40)
    for r in recs:
        del r["id"]  # ids derived from the byte offset
    write_jsonl(tmp_path / "a.jsonl", recs)
    cfg = JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl"), unit_bytes=unit_bytes)
    units = jsonl.plan(cfg, 0)
    assert len(units) >= (2 if unit_bytes < 1000 else 1)
    table, errors = read_all(jsonl, cfg)
    assert not errors
    assert table.column("text").to_pylist() == [r["text"] for r in recs]
    offsets = table.column("__pos").to_pylist()
    raw = (tmp_path / "a.jsonl").read_bytes()
    assert all(raw[o - 1 : o] in (b"", b"\n") for o in offsets)
    assert table.column("id")[0].as_py() == "src:a.jsonl:0"


def test_jsonl_malformed_line_and_invalid_utf8_become_error_records(tmp_path):
    good = [json.dumps({"text": t}, ensure_ascii=False).encode() for t in (JA, EN, "三番目")]
    data = good[0] + b"\n" + b'{"text": "broken' + b"\n" + good[1] + b"\n" + b'{"text": "bad \xff\xfe bytes"}\n' + good[2] + b"\n"
    (tmp_path / "a.jsonl").write_bytes(data)
    table, errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl")))
    assert table.column("text").to_pylist() == [JA, EN, "三番目"]
    errors.sort(key=lambda e: e.position)
    assert [e.error for e in errors] == ["MalformedJSON", "InvalidUtf8"]
    assert errors[0].position == data.index(b'{"text": "broken')
    assert errors[1].position == data.index(b'{"text": "bad')
    assert "UTF-8" in errors[1].message
    assert errors[0].file == "a.jsonl"


def test_jsonl_missing_text_field_and_non_string_text(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": EN}, {"body": "no text"}, {"text": 5}, {"text": JA}])
    table, errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl")))
    assert table.column("text").to_pylist() == [EN, JA]
    assert len(errors) == 2 and all(e.error == "BadRecord" for e in errors)


def test_empty_file_yields_nothing(tmp_path):
    (tmp_path / "e.jsonl").write_bytes(b"")
    table, errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(tmp_path / "e.jsonl")))
    assert table is None and errors == []


@pytest.mark.parametrize("ext", ["gz", "zst"])
def test_truncated_compressed_file_keeps_what_came_before(tmp_path, ext):
    # incompressible enough that half the file holds several read pieces
    recs = [{"text": f"{JA} {i} " + hashlib.sha256(str(i).encode()).hexdigest() * 4} for i in range(3000)]
    raw = b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in recs)
    packed = gzip.compress(raw) if ext == "gz" else zstandard.ZstdCompressor().compress(raw)
    path = tmp_path / f"t.jsonl.{ext}"
    path.write_bytes(packed[: len(packed) // 2])
    table, errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(path)))
    assert 0 < table.num_rows < 3000
    assert table.column("text").to_pylist() == [r["text"] for r in recs[: table.num_rows]]
    assert errors and errors[0].file == path.name
    assert errors[0].position is not None and errors[0].position > 0


def test_compressed_files_read_whole(tmp_path):
    write_jsonl(tmp_path / "a.jsonl.gz", records(5), opener=gzip.open)
    with zstandard.open(tmp_path / "b.jsonl.zst", "wt", encoding="utf-8") as f:
        for r in records(4):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    table, errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(tmp_path / "*.jsonl.*")))
    assert not errors and table.num_rows == 9


def test_huge_document_is_an_error_record_unless_allowed(tmp_path):
    big = "あ" * (35 * 2**20)  # 105 MB of UTF-8 in one line
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"text": EN}) + "\n")
        f.write('{"text": "' + big + '"}\n')
        f.write(json.dumps({"text": JA}, ensure_ascii=False) + "\n")
    del big
    table, errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(path)))
    assert table.column("text").to_pylist() == [EN, JA]
    assert [e.error for e in errors] == ["DocumentTooLarge"]
    assert errors[0].position == len(json.dumps({"text": EN})) + 1
    table, errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(path), max_doc_bytes="200MB"))
    assert not errors and table.num_rows == 3
    assert pa.compute.utf8_length(table.column("text"))[1].as_py() == 35 * 2**20


def test_parquet_row_group_units_and_column_mapping(tmp_path):
    n = 1000
    t = pa.table({"content": [f"{JA} {i}" for i in range(n)], "doc_id": [f"d{i}" for i in range(n)],
                  "lang": ["ja"] * n})
    pq.write_table(t, tmp_path / "a.parquet", row_group_size=100)
    cfg = ParquetInput(type="parquet", path=str(tmp_path / "a.parquet"), text="content", id="doc_id",
                       url=None, metadata=["lang"], unit_bytes=1)
    assert len(parquet.plan(cfg, 0)) == 10
    table, errors = read_all(parquet, cfg, batch=BatchConfig(max_docs=64))
    assert not errors
    assert table.column("id").to_pylist() == [f"d{i}" for i in range(n)]
    assert table.column("__pos").to_pylist() == list(range(n))
    assert set(table.column("lang").to_pylist()) == {"ja"}


def test_parquet_missing_text_column_errors_every_row(tmp_path):
    pq.write_table(pa.table({"body": ["a", "b", "c"]}), tmp_path / "a.parquet")
    table, errors = read_all(parquet, ParquetInput(type="parquet", path=str(tmp_path / "a.parquet")))
    assert table is None
    assert [(e.error, e.n_docs) for e in errors] == [("MissingColumn", 3)]


def test_parquet_corrupt_file_is_an_error_record(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    table, errors = read_all(parquet, ParquetInput(type="parquet", path=str(tmp_path / "bad.parquet")))
    assert table is None and len(errors) == 1


def test_hf_datasets_streaming_split_across_units_on_local_files(tmp_path):
    for k in range(2):
        write_jsonl(tmp_path / f"part{k}.jsonl", records(10)[k * 5 : (k + 1) * 5])
    cfg = HFInput(type="hf", path="json", data_files=[str(tmp_path / "part0.jsonl"), str(tmp_path / "part1.jsonl")],
                  num_shards=2, metadata=["meta.pile_set_name"])
    table, errors = read_all(hf, cfg)
    assert not errors
    assert sorted(table.column("id").to_pylist()) == sorted(f"doc-{i}" for i in range(10))
    assert set(table.column("pile_set_name").to_pylist()) == {"Books3", "Pile-CC"}
    # each of the two units read one file
    first = next(i for i in hf.read(hf.plan(cfg, 0)[0], cfg, "s", BATCH) if isinstance(i, pa.Table))
    assert first.num_rows == 5


def test_demo_is_deterministic_and_mixed():
    cfg = DemoInput(type="demo", docs=300, units=3)
    a, _ = read_all(demo, cfg)
    b, _ = read_all(demo, DemoInput(type="demo", docs=300, units=7))
    assert a.column("text").to_pylist() == b.column("text").to_pylist()
    texts = a.column("text").to_pylist()
    assert any("では" in t for t in texts) and any(t.startswith("At ") for t in texts)
    assert any(t.startswith("def ") for t in texts)
    assert len(set(texts)) < len(texts)  # exact duplicates planted


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that honours ``Range: bytes=a-b`` like object stores do."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().do_GET()
        data = path.read_bytes()
        start, _, stop = rng.removeprefix("bytes=").partition("-")
        a, b = int(start), min(int(stop) if stop else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {a}-{b}/{len(data)}")
        self.send_header("Content-Length", str(b - a + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(data[a : b + 1])


def test_jsonl_over_http_with_byte_range_units(tmp_path):

    recs = records(30)
    write_jsonl(tmp_path / "a.jsonl", recs)
    write_jsonl(tmp_path / "b.jsonl.gz", recs[:5], opener=gzip.open)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        cfg = JsonlInput(type="jsonl", path=[f"{base}/a.jsonl", f"{base}/b.jsonl.gz"], unit_bytes=500)
        units = jsonl.plan(cfg, 0)
        assert len(units) > 3 and units[0].name == "a.jsonl"
        table, errors = read_all(jsonl, cfg)
    finally:
        server.shutdown()
    assert not errors
    assert table.column("id").to_pylist() == [r["id"] for r in recs] + [r["id"] for r in recs[:5]]


@pytest.mark.parametrize("block", [64, 300, 5000])
def test_jsonl_lines_longer_than_a_block(tmp_path, block):
    recs = [{"text": (JA if i % 2 else EN) * (i % 7 + 1)} for i in range(25)]
    write_jsonl(tmp_path / "a.jsonl", recs)
    (tmp_path / "a.jsonl").write_bytes((tmp_path / "a.jsonl").read_bytes().rstrip(b"\n"))  # no final newline
    cfg = JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl"), unit_bytes=700)
    table, errors = read_all(jsonl, cfg, batch=BatchConfig(max_bytes=block))
    assert not errors
    assert table.column("text").to_pylist() == [r["text"] for r in recs]
    cfg = JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl"), unit_bytes=700, max_doc_bytes=400)
    table, errors = read_all(jsonl, cfg, batch=BatchConfig(max_bytes=block))
    long = [len(json.dumps(r, ensure_ascii=False).encode()) > 400 for r in recs]
    assert table.column("text").to_pylist() == [r["text"] for r, big in zip(recs, long) if not big]
    assert len(errors) == sum(long) and {e.error for e in errors} == {"DocumentTooLarge"}


def test_unresolvable_host_is_not_retried_but_a_reset_is():
    import socket

    from corpusforge.io.retry import is_transient

    assert not is_transient(socket.gaierror(-2, "Name or service not known"))
    wrapped = FileNotFoundError("https://no.such.host/x")
    wrapped.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert not is_transient(wrapped)
    assert is_transient(ConnectionResetError())
