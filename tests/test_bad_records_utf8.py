"""Invalid UTF-8: every reader turns a bad document into one error record (file and
position), nothing invalid is ever written, and error isolation never trips over it."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.io.batching import BatchConfig
from corpusforge.io.sinks import Sinks
from corpusforge.io.writers import ShardedWriter
from corpusforge.stages.map import MapWork, UnitRunner

from conftest import EN, JA, error_records, read_output, run


def jsonl_with_bad_bytes(path) -> bytes:
    """Valid JSON lines in Japanese and English; the third holds a stray 0xFF byte and the
    fifth a cut multi-byte character, both inside otherwise valid JSON strings."""
    lines = [json.dumps({"text": t}, ensure_ascii=False).encode() for t in (JA, EN)]
    lines.append(b'{"text": "' + JA.encode() + b' \xff"}')
    lines.append(json.dumps({"text": JA + " 2"}, ensure_ascii=False).encode())
    lines.append(b'{"text": "' + JA.encode()[:-1] + b'"}')
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("step", ["noop", "user_steps.PyTitle"])
def test_invalid_utf8_in_jsonl_is_an_error_record_never_output(tmp_path, step):
    data = jsonl_with_bad_bytes(tmp_path / "in.jsonl")
    stats = run(tmp_path, f"""
        inputs: [{{type: jsonl, path: TMP/in.jsonl}}]
        steps: [{{step: {step}}}]
        output: {{path: OUT}}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    out = read_output(tmp_path / "out")
    out.validate(full=True)
    assert out.num_rows == 3 and JA.title() in [t.title() for t in out.column("text").to_pylist()]
    errors = error_records(tmp_path / "out")
    assert [(e["error"], e["file"]) for e in errors] == [("InvalidUtf8", "in.jsonl")] * 2
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10][:-1]
    assert [e["position"] for e in errors] == [starts[2], starts[4]]
    assert stats.steps[0].errored == 2 and stats.steps[-1].docs_out == 3


def bad_parquet(path, n: int = 8) -> None:
    """A Parquet file whose text (row 2) and url (row 5) hold bytes that are not UTF-8,
    written as UTF-8 strings, as a broken writer would."""
    texts = [f"{JA} {i}".encode() for i in range(n)]
    texts[2] = texts[2][:-4] + b"\xe3\x81"
    urls = [f"https://example.jp/{i}".encode() for i in range(n)]
    urls[5] = b"https://example.jp/\xc0\xaf"
    table = pa.table({"text": pa.array(texts, pa.binary()).view(pa.string()),
                      "url": pa.array(urls, pa.binary()).view(pa.string()),
                      "id": [f"d{i}" for i in range(n)]})
    pq.write_table(table, path)


@pytest.mark.parametrize("kind", ["parquet", "hf"])
def test_invalid_utf8_in_parquet_text_or_url_is_an_error_record(tmp_path, kind):
    bad_parquet(tmp_path / "in.parquet")
    source = ("{type: parquet, path: TMP/in.parquet}" if kind == "parquet" else
              "{type: hf, path: parquet, data_files: TMP/in.parquet}")
    stats = run(tmp_path, f"""
        inputs: [{source}]
        steps: [{{step: user_steps.PyTitle}}]
        output: {{path: OUT}}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    out = read_output(tmp_path / "out")
    out.validate(full=True)
    assert out.column("id").to_pylist() == [f"d{i}" for i in (0, 1, 3, 4, 6, 7)]
    errors = error_records(tmp_path / "out")
    assert [(e["error"], e["position"]) for e in errors] == [("InvalidUtf8", 2), ("InvalidUtf8", 5)]
    assert "'text'" in errors[0]["message"] and "'url'" in errors[1]["message"]
    assert stats.steps[0].errored == 2


def test_writers_refuse_invalid_utf8(tmp_path):
    bad = pa.table({"text": pa.array([JA.encode(), b"\xff\xfe"], pa.binary()).view(pa.string())})
    for fmt in ("parquet", "jsonl"):
        w = ShardedWriter(str(tmp_path / fmt), 0, fmt=fmt)
        with pytest.raises(UnicodeError, match="invalid UTF-8"):
            w.write(bad)
        assert w.commit() == []


def test_a_step_returning_invalid_utf8_gets_the_error_records(tmp_path):
    rows = [{"text": JA}, {"text": f"{EN} CORRUPT"}, {"text": f"{JA} CORRUPT"}, {"text": EN}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    stats = run(tmp_path, """
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        steps: [{step: user_steps.Corrupt}, {step: user_steps.PyTitle}]
        output: {path: OUT}
        max_error_fraction: 1  # most documents of this input are bad on purpose
        """)
    assert read_output(tmp_path / "out").column("text").to_pylist() == [JA, EN.title()]
    errors = error_records(tmp_path / "out")
    assert [e["step"] for e in errors] == ["user_steps.Corrupt"] * 2
    assert "invalid UTF-8" in errors[0]["message"] and "CORRUPT" in errors[0]["snippet"]
    assert stats.steps[1].errored == 2 and stats.steps[2].docs_in == 2


def test_bisection_isolates_a_row_of_invalid_utf8_without_raising():
    texts = [JA.encode(), EN.encode(), b"\xff" + JA.encode(), (JA + "!").encode()]
    batch = pa.table({"id": ["a", "b", "c", "d"], "text": pa.array(texts, pa.binary()).view(pa.string()),
                      "__file": ["f.jsonl"] * 4, "__pos": [0, 10, 20, 30]})
    work = MapWork(inputs=(), sources=(), steps=(("user_steps.PyTitle", "title", {}),),
                   batch=BatchConfig(), on_error="skip", sinks=Sinks(path=""))
    runner = UnitRunner(work)
    results = list(runner._guarded(runner.steps[0], "title", batch))
    kept = [t for out, _, _, _ in results if out is not None for t in out.column("text").to_pylist()]
    errors = [e for _, _, errs, _ in results for e in errs]
    assert kept == [JA, EN.title(), JA + "!"]
    assert [(e.id, e.position, e.error) for e in errors] == [("c", 20, "UnicodeDecodeError")]
    assert errors[0].snippet.endswith(JA) and errors[0].file == "f.jsonl"
