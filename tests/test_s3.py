"""Runs with inputs and outputs in a bucket of a real S3 API (moto's server on 127.0.0.1,
reached through s3fs like any bucket): the same bytes as on local disk, resume after
``kill -9``, ``count`` and ``read_output``, and nothing written outside the output but the
documented cache."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from s3server import S3Server

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.io.atomic import AtomicFile, atomic_write
from corpusforge.io.inputs import plan_units
from corpusforge.io.megatron import MegatronDataset
from corpusforge.io.output import read_output
from corpusforge.tokenize.count import count_corpus
from corpusforge.yamlsource import ConfigError

from conftest import ROOT, shared_data

sys.path.insert(0, str(ROOT / "scripts"))
from compare_outputs import compare  # noqa: E402

pytestmark = pytest.mark.slow

#: the demo corpus (Japanese, English, code, duplicates, junk) as JSON-lines input files
DEMO = "inputs: [{type: demo, source: demo, docs: 1200, units: 4}]"


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


@pytest.fixture(scope="module")
def inputs(s3, tmp_path_factory) -> dict[str, str]:
    """The sample's demo corpus as .jsonl.gz files, on local disk and in a bucket."""
    folder = tmp_path_factory.mktemp("inputs") / "demo"
    run_pipeline(pipeline_from_yaml(f"{DEMO}\noutput: {{path: {folder}, format: jsonl, "
                                    "compression: gzip, rejects: false}"), workers=1)
    shutil.rmtree(folder / "_state")  # documents only: the run's own files are not input
    (folder / "stats.json").unlink()
    bucket = s3.bucket("inputs")
    s3.upload(str(folder), f"{bucket}/demo")
    return {"local": f"{folder}/*.jsonl.gz", "s3": f"{bucket}/demo/*.jsonl.gz"}


def sample_yaml(source: str, out: str, options: str | None) -> str:
    """pipelines/sample.yaml reading ``source`` (JSON lines) into ``out``."""
    text = (ROOT / "pipelines" / "sample.yaml").read_text()
    head, _, rest = text.partition("inputs:\n")
    _, _, rest = rest.partition("steps:\n")
    storage = f"\n    storage_options: {options}" if options else ""
    yaml = (f"{head}inputs:\n  - type: jsonl\n    source: demo\n    path: {source}{storage}\n"
            f"steps:\n{rest}").replace("  path: out/sample", f"  path: {out}")
    return yaml.replace("  rejects: true", f"  rejects: true\n  storage_options: {options}") \
        if options else yaml


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    env = dict(env or os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(ROOT)])
    return subprocess.Popen([sys.executable, "-m", "corpusforge.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def all_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def test_the_sample_pipeline_writes_to_s3_what_it_writes_to_disk_and_nothing_else(s3, inputs, tmp_path):
    local = tmp_path / "local"
    run_pipeline(pipeline_from_yaml(sample_yaml(inputs["local"], str(local), None)), workers=2)
    out = f"{s3.bucket('sample')}/runs/sample"
    # the run in a process of its own, whose home, temporary and working folders are empty:
    # whatever it writes outside the bucket shows up there
    home, tmp, cwd, cache = (tmp_path / n for n in ("home", "tmp", "cwd", "cache"))
    for d in (home, tmp, cwd):
        d.mkdir()
    (cwd / "p.yaml").write_text(sample_yaml(inputs["s3"], out, s3.yaml_options))
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp), CORPUSFORGE_CACHE=str(cache))
    env.pop("XDG_CACHE_HOME", None)
    p = cli("run", "p.yaml", "--workers", "2", "--quiet", cwd=cwd, env=env)
    assert p.wait(timeout=600) == 0, p.stdout.read().decode()
    assert compare(str(local), out) == []
    assert s3.fs.exists(out.removeprefix("s3://") + "/lang=ja")
    assert all_files(cwd) == ["p.yaml"]
    assert all_files(home) == [] and all_files(tmp) == []
    # the cache holds the dedup normalisation table, and nothing of the run's data
    assert {f.split("/")[0] for f in all_files(cache)} <= {"corpusforge"}


MIXED = """\
{inputs}
steps:
  - {{step: normalize}}
  - {{step: length, min_chars: 40}}
  - {{step: code_route, path_column: url, extensions: {{py: python}}}}
  - {{step: langid, keep: [ja, en]}}
  - {{step: tokenize, tokenizer: {model}}}
stages:
  - dedup:
      exact: {{on: [text]}}
      minhash: {{threshold: 0.8}}
      index: {index}
  - mix:
      targets: {{ja: 40000, en: 40000, code: 10000}}
      validation: {{tokens_per_subset: 2000}}
      outputs: [parquet, jsonl, megatron]
      tokenizer: {{sentencepiece: {model}}}
      shards: 2
output: {{path: {out}, max_shard_bytes: 50kB{storage}}}
batch: {{max_docs: 50}}
"""


def mixed_yaml(source: str, out: str, index: str, options: str | None = None) -> str:
    model = shared_data("tokenizers", "llm-jp-tokenizer", "code10K_en20K_ja30K.ver2.2.model")
    storage = f", storage_options: {options}" if options else ""
    inputs = f"inputs: [{{type: jsonl, source: demo, path: {source}{storage}}}]"
    return MIXED.format(inputs=inputs, model=model, index=index, out=out, storage=storage)


@pytest.fixture(scope="module")
def mixed(s3, inputs, tmp_path_factory) -> dict[str, str]:
    """Dedup (with a persistent index) + mix to Parquet, JSON lines and Megatron, run on local
    disk and in a bucket."""
    tmp = tmp_path_factory.mktemp("mixed")
    local = {"out": str(tmp / "out"), "index": str(tmp / "index")}
    run_pipeline(pipeline_from_yaml(mixed_yaml(inputs["local"], local["out"], local["index"])), workers=2)
    bucket = s3.bucket("mixed")
    remote = {"out": f"{bucket}/out", "index": f"{bucket}/index"}
    run_pipeline(pipeline_from_yaml(mixed_yaml(inputs["s3"], remote["out"], remote["index"],
                                               s3.yaml_options)), workers=2)
    return {"local": local["out"], "local_index": local["index"],
            "s3": remote["out"], "s3_index": remote["index"]}


def test_dedup_mix_and_megatron_in_a_bucket_write_the_bytes_of_a_local_run(s3, mixed):
    assert compare(mixed["local"], mixed["s3"]) == []
    assert s3.fs.find(mixed["s3"].removeprefix("s3://") + "/megatron/train")
    # the index: the same keys and ids; its JSON names the run's own output and parts
    local_index = sorted(Path(mixed["local_index"]).rglob("*.*"))
    remote = mixed["s3_index"].removeprefix("s3://")
    assert [p.relative_to(mixed["local_index"]).as_posix() for p in local_index] == \
        sorted(p[len(remote) + 1:] for p in s3.fs.find(remote))
    for p in local_index:
        got = s3.fs.cat_file(f"{remote}/{p.relative_to(mixed['local_index']).as_posix()}")
        if p.suffix == ".json":
            for key in ("", "_index"):
                got = got.replace(mixed[f"s3{key}"].encode(), mixed[f"local{key}"].encode())
        assert got == p.read_bytes(), p.name


def test_megatron_files_read_back_from_the_bucket(mixed):
    local = sorted(Path(mixed["local"]).glob("megatron/train/*.idx"))
    assert local
    for idx in local:
        a = MegatronDataset(idx)
        b = MegatronDataset(f"{mixed['s3']}/megatron/train/{idx.name}")
        assert len(a) == len(b) > 0
        assert b.n_tokens == a.n_tokens
        assert all((a[i] == b[i]).all() for i in range(0, len(a), 7))


def test_read_output_and_count_of_a_bucket_match_local_disk(s3, mixed):
    for part in ("train", "jsonl/train", "_rejects"):  # Parquet, JSON lines, partitioned
        remote = read_output(f"{mixed['s3']}/{part}")
        assert remote.num_rows and remote.equals(read_output(f"{mixed['local']}/{part}")), part
    langs = set(read_output(f"{mixed['s3']}/train").column("lang").to_pylist())
    assert {"ja", "en"} <= langs
    local = count_corpus(mixed["local"])
    remote = count_corpus(mixed["s3"], storage_options=s3.options)
    assert remote.totals.equals(local.totals) and remote.files == local.files
    assert remote.copies == local.copies


def test_count_command_reads_a_bucket_with_the_aws_environment_variables(s3, mixed, tmp_path):
    # no storage options: the endpoint and credentials come from AWS_ENDPOINT_URL_S3 & co
    p = cli("count", mixed["s3"], "--output", "s3.json", cwd=tmp_path, env=s3.env)
    assert p.wait(timeout=300) == 0, p.stdout.read().decode()
    q = cli("count", mixed["local"], "--output", "local.json", cwd=tmp_path)
    assert q.wait(timeout=300) == 0, q.stdout.read().decode()
    remote, local = (json.loads((tmp_path / f).read_text()) for f in ("s3.json", "local.json"))
    assert remote["totals"] == local["totals"] and remote["files"] == local["files"] > 0
    shown = cli("stats", mixed["s3"], cwd=tmp_path, env=s3.env)
    assert shown.wait(timeout=300) == 0
    assert "dedup" in shown.stdout.read().decode()


KILLED = """\
inputs: [{{type: jsonl, source: demo, path: {source}{storage}}}]
steps:
  - {{step: normalize}}
  - {{step: {module}.Slow, label: slow, seconds: 0.03}}
  - {{step: length, min_chars: 40}}
stages:
  - dedup: {{exact: {{on: [text]}}, minhash: {{threshold: 0.8}}, index: {index}}}
output: {{path: {out}, max_shard_bytes: 50kB{storage}}}
batch: {{max_docs: 50}}
"""


def test_kill_9_then_resume_against_the_bucket(s3, inputs, tmp_path):
    """Killed in the map phase, resumed, killed in dedup, resumed: the bytes of a run that
    was never stopped (on local disk)."""
    local = tmp_path / "local"
    run_pipeline(pipeline_from_yaml(KILLED.format(
        source=inputs["local"], module="user_steps", index=local / "index", out=local / "out",
        storage="")), workers=2)
    # the run in a process of its own, which finds the step's module in its working folder
    (tmp_path / "tests_user_steps.py").write_text((ROOT / "tests" / "user_steps.py").read_text())
    bucket = s3.bucket("killed")
    out = f"{bucket}/out"
    (tmp_path / "p.yaml").write_text(KILLED.format(
        source=inputs["s3"], module="tests_user_steps", index=f"{bucket}/index", out=out,
        storage=f", storage_options: {s3.yaml_options}"))
    state = out.removeprefix("s3://") + "/_state"
    kills = [(f"{state}/unit-*.json", 2), (f"{state}/stages/00-dedup/group/task-*.json", 1)]
    for n, (pattern, wanted) in enumerate(kills):
        args = ["run", "p.yaml", "--workers", "2", "--quiet", *(["--resume"] if n else [])]
        victim = cli(*args, cwd=tmp_path)
        deadline = time.time() + 300
        while len(s3.fs.glob(pattern)) < wanted:
            assert victim.poll() is None, f"ended before the kill point {pattern}: " + \
                victim.stdout.read().decode()
            assert time.time() < deadline, f"no marker {pattern}"
            time.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        assert not s3.fs.exists(out.removeprefix("s3://") + "/stats.json")
    resumed = cli("run", "p.yaml", "--workers", "2", "--quiet", "--resume", cwd=tmp_path)
    assert resumed.wait(timeout=600) == 0, resumed.stdout.read().decode()
    assert compare(str(local / "out"), out) == []
    assert s3.fs.exists(f"{bucket.removeprefix('s3://')}/index/index.json")


def test_listing_a_prefix_is_one_request_per_pattern_not_per_file(s3):
    bucket = s3.bucket("many")
    for i in range(120):
        s3.fs.pipe_file(f"many/logs/{i % 3}/part-{i:04d}.jsonl", b'{"text": "x"}\n')
    cfg = pipeline_from_yaml(f"""
inputs:
  - {{type: jsonl, path: "{bucket}/logs/*/part-*.jsonl", storage_options: {s3.yaml_options}}}
  - {{type: jsonl, path: "{bucket}/logs/1", storage_options: {s3.yaml_options}}}
output: {{path: {bucket}/out, storage_options: {s3.yaml_options}}}
""")
    from corpusforge.engine.inputs_guard import input_versions

    before = len(s3.requests.lines)
    units = plan_units(cfg.inputs)
    versions = input_versions(units)
    asked = s3.requests.lines[before:]
    assert len(units) == 160 and len(versions) == 120
    # a glob is one listing, a folder a check and a listing: no request per file (size, etag)
    assert len(asked) <= 4, "\n".join(asked)
    assert all(v[0] == 14 and v[1] for v in versions.values())


def test_an_upload_appears_whole_on_commit_or_never(s3):
    bucket = s3.bucket("atomic").removeprefix("s3://")
    big = b"\xe5\x90\xbe\xe8\xbc\xa9" * (3 * 2**20)  # 18 MiB of 吾輩: a multipart upload
    f = AtomicFile(f"s3://{bucket}/big.bin")
    f.file.write(big)
    f.close()
    assert not s3.fs.exists(f"{bucket}/big.bin")  # its parts are up, the object is not
    f.commit()
    assert s3.fs.cat_file(f"{bucket}/big.bin") == big
    with pytest.raises(RuntimeError), atomic_write(f"s3://{bucket}/broken.bin") as g:
        g.write(big)
        raise RuntimeError("the writer failed half-way")
    with atomic_write(f"s3://{bucket}/small.json") as g:
        g.write(b"{}")
    with atomic_write(f"s3://{bucket}/empty") as g:
        pass
    assert sorted(s3.fs.ls(bucket)) == [f"{bucket}/big.bin", f"{bucket}/empty", f"{bucket}/small.json"]
    assert s3.fs.cat_file(f"{bucket}/empty") == b""
    # the aborted upload is gone too, not left to cost storage
    assert not s3.fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads")


def test_storage_mistakes_are_config_errors_at_their_line(s3, tmp_path):
    opts = s3.yaml_options
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml(textwrap.dedent(f"""\
            inputs:
              - {{type: jsonl, path: {tmp_path}/a.jsonl, storage_options: {{anon: true}}}}
              - {{type: jsonl, path: s3://data/x.jsonl, storage_options: {opts}}}
              - {{type: jsonl, path: s3://data/y.jsonl, storage_options: {{anon: true}}}}
            output: {{path: s3://data/out}}
            """))
    text = e.value.render()
    assert ":2: inputs[0].storage_options: storage_options are for URLs" in text
    assert ":4: inputs[2].storage_options: s3://data has other storage_options at inputs[1]" in text


def test_an_s3_path_without_s3fs_is_a_config_error_naming_the_extra(tmp_path):
    (tmp_path / "p.yaml").write_text("inputs:\n  - type: demo\n    docs: 10\n"
                                     "output:\n  path: s3://bucket/out\n")
    # the command line as on a machine without s3fs: importing it fails
    code = ("import sys; sys.modules['s3fs'] = None; sys.argv[0] = 'corpusforge'; "
            "from corpusforge.cli import app; app()")
    p = subprocess.run([sys.executable, "-c", code, "validate", "p.yaml"], cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "p.yaml:5: output.path: s3:// paths need s3fs: pip install 'corpusforge[s3]'" in p.stderr
    assert "Traceback" not in p.stderr


def test_an_incremental_corpus_in_a_bucket_over_a_mirror_in_a_bucket(s3, tmp_path):
    """Two nights with the mirror and the corpus both in buckets: night 2 lists the grown
    mirror, reads only the new file, removes its copy of a night-1 document (naming it), and
    the corpus reads back with its snapshots."""
    from corpusforge.io.corpus import read_ledger, read_manifest

    mirror, out = s3.bucket("mirror-incr"), s3.bucket("corpus-incr") + "/ja-en"
    night1 = [{"id": "ja1", "text": "吾輩は猫である。名前はまだ無い。" * 4},
              {"id": "en1", "text": "The quick brown fox jumps over the lazy dog. " * 4}]
    night2 = [{"id": "ja2", "text": night1[0]["text"]},
              {"id": "en2", "text": "A new page about corpus construction for language models. " * 4}]
    for name, docs in (("a.jsonl", night1), ("b.jsonl", night2)):
        (tmp_path / name).write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                                     encoding="utf-8")
    body = textwrap.dedent(f"""\
        inputs: [{{type: jsonl, path: {mirror}/*.jsonl, storage_options: {s3.yaml_options}}}]
        incremental: true
        stages: [{{dedup: {{exact: {{on: [text]}}}}}}]
        output: {{path: {out}, storage_options: {s3.yaml_options}}}
        """)
    read_in = []
    for name, snapshot in (("a.jsonl", "n1"), ("b.jsonl", "n2")):
        s3.upload(str(tmp_path / name), f"{mirror}/{name}")
        read_in.append(run_pipeline(pipeline_from_yaml(body), workers=1, snapshot=snapshot).steps[0].docs_out)
    assert read_in == [2, 2]
    assert not run_pipeline(pipeline_from_yaml(body), workers=1).steps  # nothing new
    assert [s["id"] for s in read_manifest(out)["snapshots"]] == ["n1", "n2"]
    assert sorted(read_ledger(out).column("name").to_pylist()) == ["a.jsonl", "b.jsonl"]
    docs = read_output(out)
    assert sorted(zip(docs.column("id").to_pylist(), docs.column("snapshot").to_pylist())) == [
        ("en1", "n1"), ("en2", "n2"), ("ja1", "n1")]
    rejects = read_output(out, "_rejects")
    assert rejects.select(["id", "reject_dup_of", "snapshot"]).to_pylist() == [
        {"id": "ja2", "reject_dup_of": "ja1", "snapshot": "n2"}]


def test_the_output_lock_of_a_bucket_beats_in_the_bucket(s3, tmp_path, monkeypatch):
    """The lock's heartbeat rewrites the lock file in the bucket (a lock that never beat would
    look stale and let a second run take a live run's output), and nothing on the local disk."""
    from corpusforge.engine.lock import OutputLock
    from corpusforge.io.layout import OutputLayout

    monkeypatch.chdir(tmp_path)
    out = f"{s3.bucket('locked')}/out"
    lock = OutputLock(OutputLayout(out), heartbeat=0.05)
    with lock:
        path = lock._path(lock.generation).removeprefix("s3://")
        first = json.loads(s3.fs.cat_file(path))["heartbeat"]
        deadline = time.time() + 30
        while time.time() < deadline:
            s3.fs.invalidate_cache()
            if json.loads(s3.fs.cat_file(path))["heartbeat"] > first:
                break
            time.sleep(0.05)
        assert json.loads(s3.fs.cat_file(path))["heartbeat"] > first
    assert not s3.fs.exists(path)
    assert list(tmp_path.iterdir()) == []
