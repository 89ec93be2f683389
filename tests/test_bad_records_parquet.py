"""Parquet: the text column's type is checked as the JSON reader checks it, and a corrupt
page or row group costs only the rows it holds."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.errors import ErrorRecord
from corpusforge.io import jsonl, parquet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.jsonl import JsonlInput
from corpusforge.io.parquet import ParquetInput

from conftest import JA, error_records, read_output, run


def read_all(mod, cfg) -> tuple[list[pa.Table], list[ErrorRecord]]:
    tables, errors = [], []
    for unit in mod.plan(cfg, 0):
        for item in mod.read(unit, cfg, "src", BatchConfig()):
            (errors if isinstance(item, ErrorRecord) else tables).append(item)
    return tables, errors


@pytest.mark.parametrize("value", [5, 2.5, True, [1, 2], {"a": "b"}])
def test_a_text_column_that_is_not_text_is_refused_by_parquet_as_by_jsonl(tmp_path, value):
    rows = [{"text": value, "id": f"d{i}"} for i in range(3)] + [{"text": None, "id": "d3"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    p_tables, p_errors = read_all(parquet, ParquetInput(type="parquet", path=str(tmp_path / "a.parquet")))
    j_tables, j_errors = read_all(jsonl, JsonlInput(type="jsonl", path=str(tmp_path / "a.jsonl")))
    assert p_tables == [] and j_tables == []
    for errors in (p_errors, j_errors):
        assert [e.error for e in errors] == ["BadRecord"] * 4
        assert all("not a string" in e.message for e in errors[:3])
        assert "has no text field" in errors[3].message
    assert [e.position for e in p_errors] == [0, 1, 2, 3]


def test_a_binary_text_column_is_text_when_it_is_utf8(tmp_path):
    texts = [JA.encode(), b"plain ascii", "ü".encode("latin-1")]
    pq.write_table(pa.table({"text": pa.array(texts, pa.binary())}), tmp_path / "b.parquet")
    tables, errors = read_all(parquet, ParquetInput(type="parquet", path=str(tmp_path / "b.parquet")))
    assert pa.concat_tables(tables).column("text").to_pylist() == [JA, "plain ascii"]
    assert [(e.error, e.position) for e in errors] == [("InvalidUtf8", 2)]


def rows(n: int) -> pa.Table:
    """Unique, hard to compress Japanese documents, so that a column chunk has many pages."""
    return pa.table({"text": [f"{JA} {i} " + hashlib.sha256(str(i).encode()).hexdigest() * 3 for i in range(n)],
                     "id": [f"d{i}" for i in range(n)]})


def corrupt_text_pages(path, rg: int, where: float) -> None:
    """Overwrite 64 bytes of the text column chunk of row group ``rg``, ``where`` of the
    way into it (files here are written in pages of about 15 rows)."""
    col = pq.ParquetFile(path).metadata.row_group(rg).column(0)
    start = col.dictionary_page_offset or col.data_page_offset
    at = start + int(col.total_compressed_size * where)
    data = bytearray(path.read_bytes())
    data[at : at + 64] = bytes(b ^ 0xA5 for b in data[at : at + 64])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", [0.0, 0.3, 0.6, 0.9])
def test_a_corrupt_page_loses_only_the_rows_from_it_to_the_end_of_its_row_group(tmp_path, where):
    table = rows(1000)
    path = tmp_path / "in.parquet"
    pq.write_table(table, path, row_group_size=200, data_page_size=4096, use_dictionary=False,
                   compression="zstd", write_page_checksum=True, write_batch_size=10)
    corrupt_text_pages(path, 2, where)
    stats = run(tmp_path, """
        inputs: [{type: parquet, path: TMP/in.parquet}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    ids = read_output(tmp_path / "out").column("id").to_pylist()
    kept_in_rg2 = [i for i in ids if 400 <= int(i[1:]) < 600]
    assert ids == [f"d{i}" for i in range(400 + len(kept_in_rg2))] + [f"d{i}" for i in range(600, 1000)]
    if where > 0:
        assert len(kept_in_rg2) >= 200 * where - 30  # the pages before the corrupt one are read
    [err] = error_records(tmp_path / "out")
    assert (err["file"], err["position"], err["n_docs"]) == ("in.parquet", 400 + len(kept_in_rg2),
                                                             200 - len(kept_in_rg2))
    assert "row group 2" in err["snippet"]
    assert (stats.steps[0].docs_in, stats.steps[0].errored) == (1000, 200 - len(kept_in_rg2))


def test_a_corrupt_page_without_checksum_still_never_yields_invalid_text(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(rows(1000), path, row_group_size=200, data_page_size=4096, use_dictionary=False,
                   compression="zstd", write_batch_size=10)
    corrupt_text_pages(path, 2, 0.6)
    stats = run(tmp_path, """
        inputs: [{type: parquet, path: TMP/in.parquet}]
        output: {path: OUT}
        """)
    out = read_output(tmp_path / "out")
    out.validate(full=True)
    assert {f"d{i}" for i in range(600, 1000)} <= set(out.column("id").to_pylist())
    assert stats.steps[0].docs_in == 1000 and stats.steps[0].errored >= 1
