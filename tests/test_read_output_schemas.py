"""Reading a run back keeps every column of every shard, whatever the first shard holds."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.io.output import open_output, read_output

from conftest import JA, run


def _write(path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
@pytest.mark.parametrize("partitioned", [False, True])
def test_shards_of_different_sources_keep_all_their_columns(tmp_path, fmt, partitioned):
    out = tmp_path / "out"
    aozora = [{"id": "a0", "text": JA, "source": "aozora", "author": "夏目漱石"}]
    wiki = [{"id": "w0", "text": "東京は日本の首都である。", "source": "wiki", "title": "東京", "rev": 7}]
    if partitioned:  # JSONL records keep their partition field, Parquet files do not
        keep = fmt == "jsonl"
        _write(out / "lang=ja" / f"part-00000-0000.{fmt}",
               [{k: v for k, v in r.items() if keep or k != "lang"} | ({"lang": "ja"} if keep else {})
                for r in aozora])
        _write(out / "lang=ja" / f"part-00001-0000.{fmt}",
               [r | ({"lang": "ja"} if keep else {}) for r in wiki])
    else:
        _write(out / f"part-00000-0000.{fmt}", aozora)
        _write(out / f"part-00001-0000.{fmt}", wiki)
    (out / "stats.json").write_text("{}")
    table = read_output(str(out))
    assert table.num_rows == 2
    rows = sorted(table.to_pylist(), key=lambda r: r["id"])
    assert rows[0]["author"] == "夏目漱石" and rows[0]["title"] is None and rows[0]["rev"] is None
    assert rows[1]["title"] == "東京" and rows[1]["rev"] == 7 and rows[1]["author"] is None
    if partitioned:
        assert [r["lang"] for r in rows] == ["ja", "ja"]
    if fmt == "parquet":
        assert {"author", "title", "rev"} <= set(open_output(str(out)).schema.names)


def test_a_multi_source_run_reads_back_every_column(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "a0", "text": JA}, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    pq.write_table(pa.table({"id": ["b0"], "text": ["東京は日本の首都である。"], "url": ["https://例え.jp/"]}),
                   tmp_path / "b.parquet")
    run(tmp_path, """
        name: two
        inputs:
          - {type: jsonl, path: TMP/a.jsonl, source: aozora}
          - {type: parquet, path: TMP/b.parquet, source: web}
        steps: []
        output: {path: OUT}
    """)
    table = read_output(str(tmp_path / "out"))
    by_id = {r["id"]: r for r in table.to_pylist()}
    assert set(by_id) == {"a0", "b0"}
    assert by_id["a0"]["source"] == "aozora" and by_id["b0"]["source"] == "web"
    assert by_id["b0"]["url"] == "https://例え.jp/" and by_id["a0"]["url"] is None
