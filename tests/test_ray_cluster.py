"""A real multi-node Ray cluster on this machine: a head and a worker node (separate raylets
and object stores, one CPU each, every process on 127.0.0.1), started by ``ray.cluster_utils``.

Pipelines run on it as a user runs them on a cluster (the YAML's ``executor:``, the command
line's ``--ray-address``), with their output in a bucket of a real S3 API (moto's server on
127.0.0.1, as nodes that share no disk need): they spread their tasks over both nodes and keep
nothing on the nodes' own disks, survive the loss of the worker node mid-run, stop with a
message when the whole cluster goes and finish on another cluster with ``--resume``, each time
with output byte-identical to the local executor's on local disk. A user's step module reaches
the workers through ``runtime_env.py_modules``.

Tasks that must be running when a test acts wait inside ``user_steps.Hold`` until the test lets
them go (or until tasks run on both nodes at once), so nothing here depends on timing. Every
output path comes from the ``outputs`` fixture.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import ray
from ray.cluster_utils import Cluster
from s3server import S3Server
from typer.testing import CliRunner

from corpusforge.cli import app
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.executors import RayExecutor, node_name
from corpusforge.io.atomic import read_json
from corpusforge.io.layout import join
from corpusforge.io.markers import read_marker
from corpusforge.steps.build import EntryError

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from compare_outputs import compare  # noqa: E402

pytestmark = pytest.mark.slow

#: every node: one (logical) CPU, a small object store, the loopback address only
NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20, "node_ip_address": "127.0.0.1"}
HEAD = {**NODE, "include_dashboard": False}
#: 6 units of 200 documents (Japanese, English, code, duplicates), batches of 100
PIPELINE = """
name: cluster
inputs: [{{type: demo, source: demo, docs: 1200, units: 6}}]
steps:
  - step: normalize
  - {{step: length, min_chars: 50, max_chars: 100000}}
  - {{step: user_steps.Hold, folder: {hold}, from_pos: {from_pos}, nodes: {nodes}}}
  - {{step: code_route, path_column: url, extensions: {{py: python}}}}
  - {{step: langid, keep: [ja, en]}}
stages:
  - dedup:
      exact: {{on: [text]}}
      minhash: {{threshold: 0.8, shingles: {{ja: char5, en: word5, code: word5}}}}
output: {{path: {out}, partition_by: lang, max_shard_bytes: 40kB{storage}}}
batch: {{max_docs: 100}}
{executor}
"""


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


@dataclass(frozen=True)
class Outputs:
    """Where the tests' runs write: the one place that says so. A bucket of the S3 server on
    127.0.0.1, as on a cluster whose nodes share no disk."""

    root: str
    #: the bucket's storage options, as YAML
    options: str

    def __call__(self, name: str) -> str:
        return f"{self.root}/{name}"

    @property
    def entry(self) -> str:
        """The ``output:`` entry that reaches the bucket (append after ``path:``)."""
        return f", storage_options: {self.options}"


@pytest.fixture(scope="module")
def outputs(s3) -> Outputs:
    return Outputs(s3.bucket("cluster"), s3.yaml_options)


def same_output(a: str, b: str) -> list[str]:
    """What differs between two runs' outputs, local or in a bucket (files byte for byte,
    stats counts)."""
    return compare(a, b)


@pytest.fixture(scope="module")
def ray_env() -> Path:
    """The environment of every Ray process these tests start (nodes and CLI drivers): a
    private Ray temp dir, so that the cluster's address file and sessions never meet another
    Ray instance on this machine, and this tree's corpusforge and the tests' step modules
    importable, as a cluster image has them installed."""
    tmp = Path(tempfile.mkdtemp(prefix="cfray-"))  # short: Ray's socket paths live below it
    for name in NODE_DIRS:
        (tmp / name).mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_TMPDIR", str(tmp / "ray"))
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        # a local Ray instance started earlier in this process turned Ray's token
        # authentication on for it (RAY_AUTH_MODE=token, the token in ~/.ray): this cluster and
        # its drivers run without, as a cluster of its own
        mp.delenv("RAY_AUTH_MODE", raising=False)
        yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


#: the folders of ray_env: Ray's own, and the nodes' home, temporary and cache folders
NODE_DIRS = ("ray", "home", "tmp", "cache")


def add_node(cluster: Cluster | None, folder: Path, client_port: int = 0) -> Cluster:
    """Start the head (``cluster`` None: a new cluster, its Ray client server on
    ``client_port``) or one more node. Its processes get a home, temporary and cache folder of
    their own under ``folder``, to show what a run leaves on a node's disk (set while the node
    starts, which is when its processes copy them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(folder / "home"))
        mp.setenv("TMPDIR", str(folder / "tmp"))
        mp.setenv("CORPUSFORGE_CACHE", str(folder / "cache"))
        mp.delenv("XDG_CACHE_HOME", raising=False)
        if cluster is None:
            return Cluster(initialize_head=True, head_node_args={**HEAD, "ray_client_server_port": client_port})
        cluster.add_node(**NODE)
        cluster.wait_for_nodes()
        return cluster


@pytest.fixture(scope="module")
def client_port() -> int:
    """A free port of 127.0.0.1 for the cluster's Ray client server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(ray_env, client_port):
    c = add_node(add_node(None, ray_env, client_port), ray_env)
    yield c
    c.shutdown()


@pytest.fixture
def two_nodes(cluster: Cluster, ray_env) -> Cluster:
    """The module's cluster with its head and one worker node (a test may have removed it)."""
    if not cluster.worker_nodes:
        add_node(cluster, ray_env)
    return cluster


def head_and_worker(cluster: Cluster) -> tuple:
    return cluster.head_node, next(iter(cluster.worker_nodes))


def labels(cluster: Cluster) -> set[str]:
    """How stats and markers name the cluster's nodes."""
    return {node_name(n.node_id) for n in [cluster.head_node, *cluster.worker_nodes]}


def pipeline(out: str, hold: Path, *, from_pos: int = 0, nodes: int = 0, executor: str = "",
             storage: str = "") -> str:
    """The pipeline writing to ``out`` (``storage``: its ``storage_options`` entry)."""
    hold.mkdir(exist_ok=True)
    return PIPELINE.format(out=out, hold=hold, from_pos=from_pos, nodes=nodes, executor=executor,
                           storage=storage)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> str:
    """The pipeline on the local executor, on local disk, nothing held."""
    hold = tmp_path_factory.mktemp("hold-reference")
    (hold / "go").touch()
    out = str(tmp_path_factory.mktemp("reference") / "out")
    stats = run_pipeline(pipeline_from_yaml(pipeline(out, hold)), executor="local", workers=1)
    # the local executor's tasks ran on this machine
    assert stats.nodes["map"] == {node_name(): 6}
    return out


def cli(args: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    """``corpusforge <args>`` in a process of its own (the driver of a cluster run)."""
    return subprocess.Popen([sys.executable, "-m", "corpusforge.cli", *args, "--quiet"], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, COLUMNS="200", **env))


def ray_logs(ray_env: Path, pattern: str) -> str:
    """The ends of the cluster's log files named ``pattern``: why a Ray process failed, kept in
    a failing test's message because the cluster's folder goes when the module ends."""
    logs = sorted((ray_env / "ray").glob(f"session_*/logs/{pattern}"))
    return "".join(f"\n--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                   for log in logs)


def wait_for(what: str, done: Callable[[], bool], proc: subprocess.Popen) -> None:
    """Until ``done()``; a run that ends first, or a wait far beyond any run, fails the test."""
    deadline = time.monotonic() + 120
    while not done():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"still waiting for {what}")
        time.sleep(0.05)


def running(hold: Path, node) -> list[int]:
    """First positions of the batches ``Hold`` saw on ``node``."""
    prefix = f"running-{node.node_id}-"
    return sorted(int(p.name[len(prefix):]) for p in hold.glob(prefix + "*"))


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def stats_of(out: str) -> dict:
    return read_json(join(out, "stats.json"))


def unit_nodes(out: str) -> list[str | None]:
    """The node in each map unit's marker, in unit order."""
    markers = [read_marker(join(out, "_state", f"unit-{i:05d}.json")) for i in range(6)]
    return [m.node if m is not None else None for m in markers]


def test_every_node_is_its_own_raylet_on_the_loopback_address(two_nodes, monkeypatch):
    # an executor with no address joins the cluster RAY_ADDRESS names (as inside a Ray job)
    monkeypatch.setenv("RAY_ADDRESS", two_nodes.address)
    with RayExecutor() as pool:
        pool.start()
        nodes = [n for n in ray.nodes() if n["Alive"]]
        assert pool.workers == 2  # no worker count: the cluster's CPUs
        # every process of the cluster (they are this process's children) and this driver
        ours = {p.pid for p in psutil.Process().children(recursive=True)} | {os.getpid()}
        listening = [c for c in psutil.net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.pid in ours]
    assert len(nodes) == 2
    assert {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}
    assert len({n["RayletSocketName"] for n in nodes}) == 2
    assert len({n["ObjectStoreSocketName"] for n in nodes}) == 2
    assert len({c.pid for c in listening}) >= 4, listening  # GCS, two raylets, the driver...
    assert {c.laddr.ip for c in listening} <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening


def test_both_nodes_do_work_and_the_output_is_the_local_executors(two_nodes, outputs, reference, ray_env,
                                                                  tmp_path):
    out = outputs("spread")
    # the first two tasks hold until they run on both nodes at once
    yaml = pipeline(out, tmp_path / "hold", nodes=2, storage=outputs.entry,
                    executor=f"executor: {{type: ray, ray_address: '{two_nodes.address}'}}")
    stats = run_pipeline(pipeline_from_yaml(yaml))
    assert same_output(reference, out) == []
    nodes = stats_of(out)["nodes"]
    assert set(nodes["map"]) == labels(two_nodes) and sum(nodes["map"].values()) == 6
    assert set(nodes) == {"map", "00-dedup/sign", "00-dedup/group", "00-dedup/components", "00-dedup/members",
                          "00-dedup/clusters", "00-dedup/decide", "00-dedup/write"}
    assert set().union(*nodes.values()) <= labels(two_nodes)
    assert nodes == stats.nodes
    assert set(unit_nodes(out)) == labels(two_nodes)
    # the nodes kept nothing of the run on their own disks: no file in their home or temporary
    # folders, and in the cache folder only corpusforge's (the dedup normalisation table)
    assert files_under(ray_env / "home") == [] and files_under(ray_env / "tmp") == []
    assert {f.split("/")[0] for f in files_under(ray_env / "cache")} <= {"corpusforge"}
    shown = CliRunner().invoke(app, ["stats", out], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "tasks per node" in shown.output
    for label in labels(two_nodes):
        assert label in shown.output and f"map {nodes['map'][label]}" in shown.output


def test_a_worker_node_lost_mid_run_leaves_its_tasks_to_the_others(two_nodes, outputs, reference, tmp_path):
    out, hold = outputs("node-lost"), tmp_path / "hold"
    (tmp_path / "p.yaml").write_text(pipeline(out, hold, storage=outputs.entry))
    head, worker = head_and_worker(two_nodes)
    run = cli(["run", "p.yaml", "--ray-address", two_nodes.address], tmp_path)
    wait_for("a task runs on the worker node", lambda: running(hold, worker), run)
    two_nodes.remove_node(worker)
    (hold / "go").touch()
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert same_output(reference, out) == []
    # the unit that was running on the lost node ran again on the head, as did every other
    lost = running(hold, worker)
    assert lost and set(lost) <= set(running(hold, head))
    assert unit_nodes(out) == [node_name(head.node_id)] * 6
    assert stats_of(out)["nodes"]["map"] == {node_name(head.node_id): 6}


def test_a_lost_cluster_stops_the_run_and_another_cluster_resumes_it(two_nodes, outputs, reference, tmp_path):
    """The run's cluster goes away: the run stops (exit 1, a message, the resume command); the
    resume joins another cluster as a driver inside a cluster does (``--ray-address auto``
    with ``RAY_ADDRESS`` set) and runs only what had not finished."""
    out, hold = outputs("cluster-lost"), tmp_path / "hold"
    # units 0 and 1 (positions 0-399) finish, the others hold
    (tmp_path / "p.yaml").write_text(pipeline(out, hold, from_pos=400, storage=outputs.entry))
    # a cluster of one node with two CPUs: starts faster than two nodes, and dies as a whole
    doomed = Cluster(initialize_head=True, head_node_args={**HEAD, "num_cpus": 2})
    address, gone = doomed.address, labels(doomed)
    try:
        run = cli(["run", "p.yaml", "--ray-address", address], tmp_path)
        wait_for("two held tasks", lambda: len(list(hold.glob("running-*"))) >= 2, run)
        finished = unit_nodes(out)[:2]
        assert set(finished) <= gone and None not in finished
    finally:
        doomed.shutdown()
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 1, (stdout, stderr)
    assert f"run stopped: the Ray cluster at {address} could not finish a task" in stderr
    assert "to continue where it stopped: corpusforge run p.yaml --resume" in stderr
    assert "Traceback" not in stderr
    assert read_json(join(out, "stats.json")) is None
    (hold / "go").touch()
    again = cli(["run", "p.yaml", "--resume", "--ray-address", "auto"], tmp_path, RAY_ADDRESS=two_nodes.address)
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert same_output(reference, out) == []
    # the units finished on the lost cluster were not run again
    assert unit_nodes(out)[:2] == finished
    # ... and the others on the cluster RAY_ADDRESS names
    assert set(unit_nodes(out)[2:]) <= labels(two_nodes)
    assert stats_of(out)["nodes"]["map"] == Counter(unit_nodes(out))


TAG_MODULE = '''\
import os

import pyarrow.compute as pc
import ray

from corpusforge.steps import MapStep


class Tag(MapStep):
    """Append " [tagged]"; say, per node, from which file this module was imported."""

    adds = ()

    def process(self, batch):
        node = ray.get_runtime_context().get_node_id()
        with open(os.path.join({folder!r}, "module-" + node), "w") as f:
            f.write(__file__)
        i = batch.schema.get_field_index("text")
        return batch.set_column(i, "text", pc.binary_join_element_wise(batch.column("text"), " [tagged]", ""))
'''


def test_a_user_step_module_reaches_the_workers_through_py_modules(two_nodes, outputs, tmp_path, monkeypatch):
    """The module is importable in the driver only (its folder on the driver's path); the
    workers get it from the run's ``runtime_env``, on both nodes."""
    package = tmp_path / "mods" / "cf_user_tag"
    package.mkdir(parents=True)
    seen = tmp_path / "seen"
    seen.mkdir()
    (package / "__init__.py").write_text(TAG_MODULE.format(folder=str(seen)))
    monkeypatch.syspath_prepend(str(package.parent))

    def body(out: str, runtime_env: str) -> str:
        return textwrap.dedent(f"""\
            inputs: [{{type: demo, docs: 400, units: 4}}]
            steps:
              - {{step: user_steps.Hold, folder: {tmp_path / 'hold'}, nodes: 2}}
              - {{step: cf_user_tag.Tag}}
            output: {{path: {out}{outputs.entry}}}
            executor: {{type: ray, ray_address: '{two_nodes.address}'{runtime_env}}}
            """)

    (tmp_path / "hold").mkdir()
    # without it, the workers cannot import the module: nothing else lends it to them
    with pytest.raises(EntryError, match="cannot import module 'cf_user_tag'"):
        run_pipeline(pipeline_from_yaml(body(outputs("no-runtime-env"), "")))
    out = outputs("py-modules")
    stats = run_pipeline(pipeline_from_yaml(body(out, f", runtime_env: {{py_modules: ['{package}']}}")))
    assert stats.steps[-1].docs_out == 400
    assert set(stats.nodes["map"]) == labels(two_nodes)
    where = {p.name.removeprefix("module-"): p.read_text() for p in seen.iterdir()}
    assert set(where) == {n.node_id for n in [two_nodes.head_node, *two_nodes.worker_nodes]}
    assert not any(path.startswith(str(package)) for path in where.values()), where
    from corpusforge.io.output import read_output

    texts = read_output(out).column("text").to_pylist()
    assert len(texts) == 400 and all(t.endswith(" [tagged]") for t in texts)


def test_a_ray_client_address_runs_through_the_clusters_client_server(two_nodes, client_port, outputs,
                                                                      tmp_path, ray_env):
    """``ray://`` as from a machine outside the cluster: the run goes through the head's Ray
    client server (on 127.0.0.1 here) and its tasks run on both nodes."""
    out, hold = outputs("client"), tmp_path / "hold"
    hold.mkdir()
    (tmp_path / "p.yaml").write_text(textwrap.dedent(f"""\
        inputs: [{{type: demo, docs: 400, units: 4}}]
        steps:
          - {{step: user_steps.Hold, folder: {hold}, nodes: 2}}
          - {{step: normalize}}
        output: {{path: {out}{outputs.entry}}}
        """))
    run = cli(["run", "p.yaml", "--ray-address", f"ray://127.0.0.1:{client_port}"], tmp_path)
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr + ray_logs(ray_env, "ray_client_server*")
    nodes = stats_of(out)["nodes"]["map"]
    assert set(nodes) == labels(two_nodes) and sum(nodes.values()) == 4
    assert stats_of(out)["docs_written"] == 400


def test_a_runtime_env_path_that_is_not_there_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mysteps").mkdir()
    (tmp_path / "p.yaml").write_text(textwrap.dedent("""\
        inputs: [{type: demo, docs: 10, units: 1}]
        output: {path: out}
        executor:
          type: ray
          runtime_env: {py_modules: [mysteps, mystep.py], env_vars: {A: b}}
        """))
    r = CliRunner().invoke(app, ["validate", "p.yaml"])
    assert r.exit_code == 2
    assert "p.yaml:5: executor.runtime_env: Value error, 'mystep.py' does not exist" in r.output
    assert not (tmp_path / "out").exists()
