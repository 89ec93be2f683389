"""mC4 (json.gz and datasets), the Pile (jsonl.zst) and The Stack (Parquet) input types,
on files made here from the shared Japanese, English and code samples."""

from __future__ import annotations

import gzip
import json
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline

from conftest import read_output, shared_data


def abeja() -> list[str]:
    data = json.loads(gzip.decompress(shared_data("ja", "abeja_cc_ja_keyphrase", "dataset.json.gz").read_bytes()))
    return [d["text"] for d in data["length_200"]]


def run(tmp_path, inputs: str, steps: str = "[]"):
    p = pipeline_from_yaml(textwrap.dedent(f"""
        inputs: {inputs}
        steps: {steps}
        output: {{path: {tmp_path / 'out'}}}
        executor: {{workers: 1}}
    """))
    return run_pipeline(p).to_dict(), read_output(tmp_path / "out")


def test_mc4_json_gz_layout(tmp_path):
    texts = abeja()
    rows = [{"text": t, "timestamp": "2020-01-01T00:00:00Z", "url": f"https://example.jp/{i}"}
            for i, t in enumerate(texts)]
    (tmp_path / "c4-ja.tfrecord-00000-of-01024.json.gz").write_bytes(
        gzip.compress("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()))
    stats, out = run(tmp_path, f"[{{type: mc4, path: '{tmp_path}/*.json.gz', source: mc4-ja}}]",
                     "[{step: langid, keep: [ja]}]")
    assert out.num_rows == len(texts)
    assert set(out.column("timestamp").to_pylist()) == {"2020-01-01T00:00:00Z"}
    assert out.column("url")[0].as_py() == "https://example.jp/0"
    assert set(out.column("lang").to_pylist()) == {"ja"}
    assert out.column("id")[0].as_py().startswith("mc4-ja:")  # mC4 has no ids: derived from position


def test_mc4_through_datasets_streaming(tmp_path):
    texts = abeja()[:10]
    f = tmp_path / "ja.json"
    f.write_text("".join(json.dumps({"text": t, "url": "u", "timestamp": "t"}, ensure_ascii=False) + "\n"
                         for t in texts), encoding="utf-8")
    _, out = run(tmp_path, f"[{{type: mc4, dataset: json, language: null, data_files: '{f}'}}]")
    assert out.column("text").to_pylist() == texts


def test_pile_jsonl_zst_with_set_name(tmp_path):
    en = [json.loads(line)["text"] for line in gzip.decompress(shared_data(
        "en", "dolma_cc_samples", "data__multiple_files__cc_en_head-0091.jsonl.gz").read_bytes()).splitlines()]
    rows = [{"text": t, "meta": {"pile_set_name": "Pile-CC" if i % 2 else "Books3"}} for i, t in enumerate(en)]
    (tmp_path / "00.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(
        "".join(json.dumps(r) + "\n" for r in rows).encode()))
    _, out = run(tmp_path, f"[{{type: pile, path: '{tmp_path}/00.jsonl.zst'}}]")
    assert out.num_rows == len(en)
    assert out.column("pile_set_name").to_pylist() == [r["meta"]["pile_set_name"] for r in rows]


def test_stack_parquet_routed_by_extension(tmp_path):
    code = [json.loads(line) for line in gzip.decompress(shared_data("code", "code_samples.jsonl.gz").read_bytes()).splitlines()]
    pq.write_table(pa.table({
        "hexsha": [f"{i:040x}" for i in range(len(code))],
        "content": [r["text"] for r in code],
        "max_stars_repo_path": [r["path"] for r in code],
        "lang": [r["language"] for r in code],
    }), tmp_path / "data-00000.parquet")
    stats, out = run(tmp_path, f"[{{type: stack, path: '{tmp_path}/data-00000.parquet', source: stack}}]",
                     "[{step: code_route, sources: [stack], path_column: max_stars_repo_path}]")
    route = stats["steps"][1]
    assert route["docs_in"] == len(code) == route["docs_out"] + sum(route["removed"].values())
    assert set(route["removed"]) == {"extension"}
    assert set(out.column("lang").to_pylist()) == {"code"}
    assert "python" in out.column("code_lang").to_pylist()
    kept = [f"{i:040x}" for i, r in enumerate(code) if r["path"].rsplit(".", 1)[-1] not in
            ("kt", "yaml", "toml", "pxd", "pyx")]
    assert sorted(out.column("id").to_pylist()) == kept  # ids from the hexsha column
