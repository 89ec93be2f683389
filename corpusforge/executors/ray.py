"""The Ray executor: tasks on a local Ray instance or a cluster.

It owns the Ray lifetime of a run: Ray is started (or connected to) on first use and shut
down on exit, unless it was already running when the executor was opened. Tasks are spread
over the cluster's nodes; each reports the node it ran on.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_fixed

from corpusforge import usermodules
from corpusforge.executors.base import ExecutorFailed, ExecutorUnavailable, OnResult, node_name

#: Ray's switch for multi-node mode; off, a local instance uses 127.0.0.1 for everything
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: a task whose worker or node died runs again, this many times (tasks are idempotent)
RETRIES = 3


#: a cluster's Ray client server starts one server process per connection, which now and then
#: dies as it starts (a fork race inside Ray's client proxy, seen mostly on a loaded head):
#: Ray then refuses the connection with "Starting Ray client server failed", and a new
#: connection gets a new server process
CLIENT_ATTEMPTS = 3


def _client_server_died(e: BaseException) -> bool:
    return "Starting Ray client server failed" in str(e)


def _leave_client_mode() -> None:
    """A failed ray:// init leaves the process in client mode, where a later ray.init (a retry,
    or the next local run of a notebook or service) fails; disconnecting with no client left
    turns it off."""
    from ray.util.client import ray as client

    client.disconnect()


def _run(imports: usermodules.UserModules, payload: bytes) -> tuple[str, Any]:
    """One task on a Ray worker: the node it ran on and its result. Ray puts the driver's
    working directory on the worker's path and would unpickle the task (which may name a
    module of the pipeline's) before anything else runs, so the task travels pickled: import
    as the driver does first, then unpickle."""
    import ray
    from ray import cloudpickle

    imports.install()
    fn, item = cloudpickle.loads(payload)
    result = fn(item)
    return node_name(ray.get_runtime_context().get_node_id()), result


class RayExecutor:
    kind = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None,
                 runtime_env: dict | None = None) -> None:
        """``workers`` tasks run at once (None: the CPUs of the instance or cluster);
        ``address`` of a cluster (``auto``, ``host:6379``, ``ray://host:10001``), else the one
        in ``RAY_ADDRESS`` (set inside a Ray job), else None: a local instance;
        ``runtime_env`` is Ray's, for every task of the run."""
        self._requested = workers
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.runtime_env = runtime_env
        self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def start(self) -> None:
        self._init()

    def _init(self) -> None:
        if not self.address:
            # a local instance serves this machine only: every Ray process binds to the
            # loopback address (Ray otherwise picks the network interface's address and
            # listens there); read by Ray when it is first imported
            os.environ.setdefault(LOOPBACK_ONLY, "0")
        if self.address and self.address.startswith("ray://") and find_spec("grpc") is None:
            # Ray's own error says it over four lines, after importing all of Ray
            raise ExecutorUnavailable(f"{self.address} is a Ray Client address and the Ray client "
                                      "is not installed: pip install 'ray[client]'")
        import ray

        if ray.is_initialized():
            self._size()
            return
        env = dict(self.runtime_env or {})
        if self.address:
            # a cluster's workers have their own environment (image or the user's runtime_env);
            # this machine's paths mean nothing there
            kwargs: dict = {"address": self.address}
        else:
            # local workers must import what the driver imports (its sys.path: under the command
            # line, without the working directory; the pipeline's own modules follow each task)
            path = os.pathsep.join(p for p in sys.path if p)
            env["env_vars"] = {"PYTHONPATH": path, **env.get("env_vars", {})}
            # address "local": a new instance even when a cluster runs on this machine (Ray would
            # otherwise join it, which the pipeline did not ask for)
            kwargs = {"address": "local", "num_cpus": self.workers, "include_dashboard": False,
                      "_node_ip_address": "127.0.0.1"}
        if env:
            kwargs["runtime_env"] = env
        client = str(self.address or "").startswith("ray://")
        # ray.init replaces the driver's SIGTERM handler with one that exits at once; the
        # program's own (the command line's: stop as on Ctrl-C, resumable) is put back after it
        on_term = signal.getsignal(signal.SIGTERM)
        try:
            for attempt in Retrying(stop=stop_after_attempt(CLIENT_ATTEMPTS), wait=wait_fixed(1),
                                    retry=retry_if_exception(_client_server_died), reraise=True,
                                    before_sleep=lambda _: _leave_client_mode()):
                with attempt:
                    ray.init(ignore_reinit_error=True, log_to_driver=False, logging_level="ERROR", **kwargs)
        except Exception as e:  # noqa: BLE001 - Ray raises many kinds here; all mean "no Ray"
            if client:
                _leave_client_mode()
            raise ExecutorUnavailable(f"cannot connect to {self._where()}: {type(e).__name__}: {e}") from e
        if callable(on_term) and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_term)
        self._started = True
        self._size()

    def _size(self) -> None:
        """Without a worker count, as many tasks at once as the cluster has CPUs."""
        if self._requested is None:
            import ray

            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _where(self) -> str:
        return f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any],
            on_result: OnResult | None = None) -> list[Any]:
        results: list[Any] = [None] * len(items)
        if not items:
            return results
        import ray
        from ray import cloudpickle

        self._init()
        # SPREAD: a run's tasks read and write storage, not each other's objects, so there is
        # nothing to gain from packing them on the driver's node; a task whose worker or node
        # died runs again (on a node that is still there)
        task = ray.remote(num_cpus=1, max_retries=RETRIES, scheduling_strategy="SPREAD")(_run)
        imports = usermodules.current()
        queue = [(i, cloudpickle.dumps((fn, item))) for i, item in enumerate(items)]
        in_flight: dict = {}
        while queue or in_flight:
            # `workers` tasks at once, as on the local pool
            while queue and len(in_flight) < self.workers:
                i, payload = queue.pop(0)
                in_flight[task.remote(imports, payload)] = i
            try:
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                ref = ready[0]
                i = in_flight.pop(ref)
                node, results[i] = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                # the task's own exception, as the local executor raises it (its message
                # is what a user reads; Ray's wrapper adds the remote traceback to it)
                if isinstance(e.cause, Exception):
                    raise e.cause from e
                raise
            except ray.exceptions.RayError as e:
                # not the task's doing: the cluster, a node or a worker is gone for good
                first = (str(e).strip().splitlines() or [""])[0]
                raise ExecutorFailed(f"{self._where()} could not finish a task: "
                                     f"{type(e).__name__}: {first}") from e
            if on_result is not None:
                on_result(i, results[i], node)
        return results
