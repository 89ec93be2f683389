"""The `json` input (one object, or an array of them) and the field mapping it shares with
`jsonl` and `hf`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpusforge.errors import ErrorRecord
from corpusforge.io import hf, jsonfile, jsonl
from corpusforge.io.batching import BatchConfig
from corpusforge.io.hf import HFInput
from corpusforge.io.jsonfile import JsonInput
from corpusforge.io.jsonl import JsonlInput

from conftest import EN, JA, error_records, read_output, run

BATCH = BatchConfig()


def read_all(mod, cfg, batch: BatchConfig = BATCH) -> tuple[pa.Table | None, list[ErrorRecord]]:
    tables, errors = [], []
    for unit in mod.plan(cfg, 0):
        for item in mod.read(unit, cfg, "src", batch):
            (errors if isinstance(item, ErrorRecord) else tables).append(item)
    return (pa.concat_tables(tables) if tables else None), errors


def cfg(path: Path | str, **kw) -> JsonInput:
    return JsonInput(type="json", path=str(path), **kw)


def records(n: int) -> list[dict]:
    # texts holding what delimits JSON: brackets, braces, commas, quotes, backslashes
    return [{"body": {"text": f"{JA if i % 2 else EN} [{i}], {{\"q\": \"\\\\\"}}"}, "doc_id": i,
             "link": f"https://example.jp/{i}", "meta": {"site": {"name": f"site{i % 3}"}}, "tags": ["a", i]}
            for i in range(n)]


MAPPING = dict(text="body.text", id="doc_id", url="link", metadata=["meta.site.name", "tags"])


def test_an_array_of_objects_with_the_jsonl_field_mapping(tmp_path):
    recs = records(30)
    raw = json.dumps(recs, ensure_ascii=False, indent=2).encode()
    (tmp_path / "a.json").write_bytes(raw)
    table, errors = read_all(jsonfile, cfg(tmp_path / "a.json", **MAPPING))
    assert not errors
    assert table.column("text").to_pylist() == [r["body"]["text"] for r in recs]
    assert table.column("id").to_pylist() == [str(i) for i in range(30)]
    assert table.column("url").to_pylist() == [r["link"] for r in recs]
    assert table.column("name").to_pylist() == [f"site{i % 3}" for i in range(30)]
    assert table.column("tags").to_pylist()[1] == '["a",1]'
    # the position is the byte offset of the object: it parses from there
    for row, rec in zip(table.to_pylist(), recs):
        assert json.JSONDecoder().raw_decode(raw[row["__pos"]:].decode())[0] == rec


def test_one_object_and_derived_ids(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps({"text": JA, "url": "https://x.jp/"}, ensure_ascii=False))
    (tmp_path / "empty.json").write_text("  \n")
    (tmp_path / "none.json").write_text("[ ]")
    table, errors = read_all(jsonfile, cfg(tmp_path / "*.json"))
    assert not errors
    assert table.to_pylist()[0] | {"__file": None} == {
        "id": "src:one.json:0", "text": JA, "source": "src", "url": "https://x.jp/", "__file": None, "__pos": 0}


def test_a_large_array_is_read_block_by_block(tmp_path):
    # pretty-printed, with long texts cut by the 1 MiB read blocks anywhere, also inside a string
    recs = [{"text": ("本文、\"引用\" [x] {y}\\ " if i % 2 else "plain, [text] ") * (i % 400), "n": i}
            for i in range(3000)]
    raw = json.dumps(recs, ensure_ascii=False, indent=1).encode()
    assert len(raw) > 3 * 2**20
    (tmp_path / "big.json.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    table, errors = read_all(jsonfile, cfg(tmp_path / "big.json.zst", metadata=["n"]),
                             BatchConfig(max_docs=700))
    assert not errors
    assert table.column("text").to_pylist() == [r["text"] for r in recs]
    assert table.column("n").to_pylist() == [str(i) for i in range(3000)]


@pytest.mark.parametrize("body, texts, errors", [
    # not JSON at all, or JSON that holds no object
    (b"just some text", [], [("MalformedJSON", 0)]),
    (b'"a string"', [], [("MalformedJSON", 0)]),
    # a list of non-objects, objects without a text, text that is not a string
    (b'[1, "x", [2], null, {"no": 1}, {"text": 5}, {"text": "ok"}]', ["ok"],
     [("BadRecord", 1), ("BadRecord", 4), ("BadRecord", 9), ("BadRecord", 14), ("BadRecord", 20),
      ("BadRecord", 31)]),
    # a malformed element, invalid UTF-8, empty elements: each costs itself
    (b'[{"text": "a"}, {"text": "b" "c"}, {"text": "\xe3\x81\x82 \xff"}, {"text": "d"}]', ["a", "d"],
     [("MalformedJSON", 16), ("InvalidUtf8", 35)]),
    (b'[{"text": "a"},, {"text": "b"},]', ["a", "b"], [("MalformedJSON", 15), ("MalformedJSON", 31)]),
    # the file ends early: inside an element, after a comma, before the closing bracket
    (b'[{"text": "a"}, {"text": "b', ["a"], [("TruncatedRecord", 16)]),
    (b'[{"text": "a"}, {"text": "b"},', ["a", "b"], [("TruncatedRecord", 30)]),
    (b'[{"text": "a"}, {"text": "b"}', ["a"], [("TruncatedRecord", 16)]),
    # something after the array; a malformed single object
    (b'[{"text": "a"}] [{"text": "b"}]', ["a"], [("MalformedJSON", 16)]),
    (b'{"text": "a"} {"text": "b"}', [], [("MalformedJSON", 0)]),
])
def test_bad_input_is_error_records_at_their_offsets(tmp_path, body, texts, errors):
    (tmp_path / "bad.json").write_bytes(body)
    table, errs = read_all(jsonfile, cfg(tmp_path / "bad.json"))
    assert (table.column("text").to_pylist() if table is not None else []) == texts
    assert [(e.error, e.position) for e in errs] == errors
    assert all(e.file == "bad.json" for e in errs)


def test_a_truncated_gzip_keeps_the_elements_before_the_break(tmp_path):
    recs = [{"text": f"{JA} {i}"} for i in range(40000)]
    packed = gzip.compress(json.dumps(recs, ensure_ascii=False).encode())
    (tmp_path / "cut.json.gz").write_bytes(packed[: len(packed) // 2])
    table, errors = read_all(jsonfile, cfg(tmp_path / "cut.json.gz"))
    assert 0 < table.num_rows < len(recs)
    assert table.column("text").to_pylist() == [r["text"] for r in recs[: table.num_rows]]
    assert [e.error for e in errors] == ["EOFError", "TruncatedRecord"]


def test_an_element_over_max_doc_bytes_is_skipped_without_being_held(tmp_path):
    huge = {"text": "x" * (3 * 2**20)}  # longer than a read block
    raw = json.dumps([{"text": EN}, huge, {"text": JA}], ensure_ascii=False).encode()
    (tmp_path / "a.json").write_bytes(raw)
    table, errors = read_all(jsonfile, cfg(tmp_path / "a.json", max_doc_bytes=100_000))
    assert table.column("text").to_pylist() == [EN, JA]
    assert [(e.error, e.position) for e in errors] == [("DocumentTooLarge", raw.index(b'{"text": "xx'))]
    # as a file's single object
    (tmp_path / "one.json").write_text(json.dumps(huge))
    table, errors = read_all(jsonfile, cfg(tmp_path / "one.json", max_doc_bytes=100_000))
    assert table is None and [e.error for e in errors] == ["DocumentTooLarge"]


def test_a_run_over_json_files_accounts_for_every_element(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text(json.dumps([{"text": JA * 3}, {"text": "短い"}, 7]), encoding="utf-8")
    (tmp_path / "in" / "b.json").write_text(json.dumps({"text": EN * 3}))
    stats = run(tmp_path, """
        inputs: [{type: json, path: TMP/in/*.json}]
        steps: [{step: length, min_chars: 20}]
        output: {path: OUT}
        max_error_fraction: 0.5  # one bad record of a few, on purpose
    """)
    read, length = stats.steps
    assert (read.docs_in, read.docs_out, read.errored) == (4, 3, 1)
    assert length.removed == {"too_short": 1}
    assert sorted(read_output(tmp_path / "out").column("text").to_pylist()) == sorted([JA * 3, EN * 3])
    assert [(e["error"], e["file"]) for e in error_records(tmp_path / "out")] == [("BadRecord", "a.json")]


def test_hf_maps_fields_as_jsonl_and_json_do(tmp_path):
    """The same records through jsonl, json, and hf over Parquet, a JSON array and JSON lines
    give the same documents: one field mapping (dotted names, id, url, metadata) for all."""
    recs = records(12)
    recs[3]["body"]["text"] = 42  # the same bad record for every reader
    del recs[5]["doc_id"]
    with open(tmp_path / "a.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    (tmp_path / "a.json").write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    # Parquet cannot mix ints and strings in a column
    parquet_recs = [{k: v for k, v in r.items() if k != "tags"} for i, r in enumerate(recs) if i != 3]
    pq.write_table(pa.Table.from_pylist(parquet_recs), tmp_path / "a.parquet")
    mapping = dict(MAPPING, metadata=["meta.site.name"])

    def docs(mod, cfg) -> tuple[list[tuple], list[str]]:
        table, errors = read_all(mod, cfg)
        rows = [(r["text"], r["url"], r["name"], r["id"] if "src:" not in r["id"] else None)
                for r in table.to_pylist()]
        return rows, [e.error for e in errors]

    expected, bad = docs(jsonl, JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl"), **mapping))
    assert len(expected) == 11 and bad == ["BadRecord"]
    assert expected[4][3] is None  # no id: derived
    assert docs(jsonfile, cfg(tmp_path / "a.json", **mapping)) == (expected, bad)
    assert docs(hf, HFInput(type="hf", path="json", data_files=str(tmp_path / "a.jsonl"), **mapping)) == (expected, bad)
    parquet_docs, _ = docs(hf, HFInput(type="hf", path="parquet", data_files=str(tmp_path / "a.parquet"), **mapping))
    assert parquet_docs == expected
    # a JSON array file is read by `datasets` itself, which gives up on a file with a bad record
    (tmp_path / "clean.json").write_text(json.dumps(parquet_recs, ensure_ascii=False), encoding="utf-8")
    assert docs(hf, HFInput(type="hf", path="json", data_files=str(tmp_path / "clean.json"), **mapping)) == (
        expected, [])
