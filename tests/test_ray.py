"""The Ray executor on a local Ray instance: same documents and stats as the local executor."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline

ray = pytest.importorskip("ray")

BODY = """
inputs:
  - {type: demo, docs: 800, units: 6}
  - {type: jsonl, path: TMP/in.jsonl, source: extra}
steps:
  - {step: normalize, unicode: NFKC}
  - {step: length, min_chars: 40}
  - {step: user_steps.Explode}
output: {path: OUT, max_shard_bytes: 30kB}
batch: {max_docs: 64}
"""


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             _node_ip_address="127.0.0.1", runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}})
    yield
    ray.shutdown()


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_state" not in p.parts and p.name not in ("stats.json", "report.html")}


@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path, local_ray):
    lines = [f'{{"text": "日本語の文書です。番号は{i}です。十分な長さがあります。"}}' for i in range(30)]
    lines[7] = '{"text": "EXPLODE: this document makes a step fail, and the run goes on"}'
    lines[9] = "{broken json"
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def pipe(out: str):
        return pipeline_from_yaml(textwrap.dedent(BODY).replace("TMP", str(tmp_path)).replace("OUT", str(tmp_path / out)))

    local = run_pipeline(pipe("local"), executor="local", workers=2)
    on_ray = run_pipeline(pipe("ray"), executor="ray", workers=2)
    a, b = files(tmp_path / "local"), files(tmp_path / "ray")
    assert sorted(a) == sorted(b) and len(a) > 8
    assert all(a[k] == b[k] for k in a)
    strip = [{k: v for k, v in s.to_dict().items() if k != "seconds"} for s in local.steps]
    assert strip == [{k: v for k, v in s.to_dict().items() if k != "seconds"} for s in on_ray.steps]
    assert local.steps[0].errored == 1 and local.steps[3].errored == 1
    on_ray.check()


@pytest.mark.slow
def test_filter_in_ray_data_map_batches(local_ray):
    import pyarrow as pa

    from corpusforge.filters import LengthFilter

    ds = ray.data.from_arrow(pa.table({"text": ["短い", "これは十分に長い日本語の文です。", "long enough English text"]}))
    kept = ds.map_batches(LengthFilter(min_chars=10), batch_format="pyarrow").take_all()
    assert sorted(r["text"] for r in kept) == sorted(["これは十分に長い日本語の文です。", "long enough English text"])


@pytest.mark.slow
def test_worker_death_is_retried(tmp_path, local_ray):
    body = f"""
        inputs: [{{type: demo, docs: 200, units: 3}}]
        steps: [{{step: user_steps.DieOnce, flag_file: {tmp_path}/died}}]
        output: {{path: {tmp_path}/out}}
        """
    stats = run_pipeline(pipeline_from_yaml(textwrap.dedent(body)), executor="ray", workers=2)
    assert (tmp_path / "died").exists()  # a worker really died
    assert stats.steps[-1].docs_out == 200 and stats.units == 3


@pytest.mark.slow
def test_a_ray_worker_killed_mid_task_gives_the_same_files(tmp_path, local_ray):
    """A worker process dies in the middle of a unit (it exits at its first batch);
    the retried task writes exactly what an undisturbed run writes."""
    body = """
        inputs: [{{type: demo, docs: 600, units: 4}}]
        steps:
          - {{step: normalize}}
          - {{step: user_steps.DieOnce, flag_file: {flag}}}
          - {{step: length, min_chars: 40}}
        stages: [{{dedup: {{exact: {{on: [text]}}}}}}]
        output: {{path: {out}, max_shard_bytes: 20kB}}
        batch: {{max_docs: 40}}
        """
    killed = run_pipeline(pipeline_from_yaml(textwrap.dedent(body.format(
        flag=tmp_path / "died", out=tmp_path / "killed"))), executor="ray", workers=2)
    assert (tmp_path / "died").exists()
    calm = run_pipeline(pipeline_from_yaml(textwrap.dedent(body.format(
        flag=tmp_path / "died", out=tmp_path / "calm"))), executor="ray", workers=2)
    a, b = files(tmp_path / "killed"), files(tmp_path / "calm")
    assert sorted(a) == sorted(b) and not any(n.endswith(".tmp") for n in a)
    assert all(a[n] == b[n] for n in a)
    assert [s.to_dict() | {"seconds": 0} for s in killed.steps] == [s.to_dict() | {"seconds": 0} for s in calm.steps]


def _square(x: int) -> int:
    return x * x


@pytest.mark.slow
def test_a_local_ray_instance_listens_on_loopback_only() -> None:
    """The Ray instance the executor starts binds every port to 127.0.0.1 (Ray would otherwise
    listen on the network interface's address)."""
    import psutil

    from corpusforge.executors import RayExecutor

    running = ray.is_initialized()  # then the instance of the fixture above is checked
    with RayExecutor(workers=2) as pool:
        assert pool.map(_square, [1, 2, 3]) == [1, 4, 9]
        ours = {p.pid for p in psutil.Process().children(recursive=True)} | {os.getpid()}
        listening = [c for c in psutil.net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.pid in ours]
        assert listening, "no Ray process found listening"
        assert {c.laddr.ip for c in listening} <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, listening
    assert ray.is_initialized() == running  # stopped on exit only if the executor started it
