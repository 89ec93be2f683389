"""``corpusforge submit`` and ``corpusforge jobs``: a run as a Ray job on a cluster, through the
Ray Jobs API of the cluster's dashboard (``http://HEAD:8265``; needs ``ray[default]``).

The pipeline file and the modules of the working directory that it names travel in the job's
``runtime_env`` (a ``working_dir`` folder made for the job); the job runs
``python -m corpusforge run`` there with the Ray executor, on the cluster. Ray is imported
inside the commands only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from corpusforge.cli.pipelinefile import load_checked
from corpusforge.cli.terminal import literal
from corpusforge.errors import EXIT_FAILED, EXIT_REFUSED, EXIT_TERMINATED

#: where an address is looked up when --address is not given, in this order
ADDRESS_ENV = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")
#: how often a waiting command asks the job server for the job's status
POLL_SECONDS = 1.0

AddressOption = Annotated[Optional[str], typer.Option(
    "--address", help="the cluster's job server (http://HEAD:8265); default: $RAY_API_SERVER_ADDRESS "
                      "or $RAY_ADDRESS")]
JobArgument = Annotated[str, typer.Argument(help="the job id `corpusforge submit` printed")]

console = Console()
err_console = Console(stderr=True)
jobs_app = typer.Typer(no_args_is_help=True, add_completion=False,
                       help="Follow and control runs submitted with `corpusforge submit`.")


def _say(text: str, style: str | None = None, *, err: bool = False) -> None:
    (err_console if err else console).print(literal(text, style, lines=True), soft_wrap=True)


def _client(address: str | None) -> Any:
    """A Jobs API client of the cluster at ``address``; exit 2 when there is none to be had."""
    address = address or next((os.environ[k] for k in ADDRESS_ENV if os.environ.get(k)), None)
    if not address:
        _say("no cluster given: pass --address http://HEAD:8265 or set RAY_API_SERVER_ADDRESS", "red", err=True)
        raise typer.Exit(EXIT_REFUSED)
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as e:  # ray without its dashboard extra
        _say(f"the Ray Jobs API is not installed ({e}): pip install 'corpusforge[cluster]'", "red", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    try:
        return JobSubmissionClient(address)
    except Exception as e:  # noqa: BLE001 - connection errors of many kinds, all "no job server"
        _say(f"cannot reach the Ray job server at {address}: {type(e).__name__}: {e}", "red", err=True)
        raise typer.Exit(EXIT_REFUSED) from None


def _job_folder(pipeline_file: Path) -> tempfile.TemporaryDirectory:
    """A folder holding the pipeline file and the working-directory modules it names (loaded
    by the validation that came before): the job's ``working_dir``."""
    from corpusforge import usermodules

    folder = tempfile.TemporaryDirectory(prefix="corpusforge-job-")
    shutil.copyfile(pipeline_file, Path(folder.name) / pipeline_file.name)
    for source in usermodules.sources():
        target = Path(folder.name) / Path(source).name
        if os.path.isdir(source):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(source, target)
    return folder


def submit(
    pipeline_file: Annotated[Path, typer.Argument(help="pipeline YAML (its paths absolute or URLs: "
                                                       "the job runs in a folder of its own)")],
    address: AddressOption = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Ray tasks at once")] = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted run in the same output folder")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output folder")] = False,
    job_id: Annotated[Optional[str], typer.Option("--job-id", help="the job's id (default: one Ray picks); "
                                                  "the job server refuses an id it has seen")] = None,
    pip: Annotated[Optional[list[str]], typer.Option(help="a package the job installs first "
                                                     "(repeatable), e.g. corpusforge==0.1.0")] = None,
    wait: Annotated[bool, typer.Option(help="wait for the job to end, print its logs, and exit "
                                            "with the run's exit code")] = False,
) -> None:
    """Submit a pipeline run as a Ray job and print the job id.

    The pipeline is validated here first: exit 2 when it is refused (nothing is submitted).
    With --wait, the exit code is the run's (docs/nightly.md)."""
    pipeline, _ = load_checked(pipeline_file)
    client = _client(address)
    args = ["python", "-m", "corpusforge", "run", pipeline_file.name, "--executor", "ray",
            "--ray-address", "auto", "--quiet"]
    args += [*(["--workers", str(workers)] if workers else []), *(["--resume"] if resume else []),
             *(["--overwrite"] if overwrite else [])]
    with _job_folder(pipeline_file) as folder:
        runtime_env: dict[str, Any] = {"working_dir": folder}
        if pip:
            runtime_env["pip"] = list(pip)
        try:
            job = client.submit_job(entrypoint=shlex.join(args), runtime_env=runtime_env,
                                    submission_id=job_id, metadata={"pipeline": pipeline.name,
                                                                    "output": pipeline.output.path})
        except Exception as e:  # noqa: BLE001 - the server's refusal (an id taken, a bad env)
            _say(f"job not submitted: {type(e).__name__}: {e}", "red", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
    _say(job)
    if wait:
        raise typer.Exit(_follow(client, job))


def _follow(client: Any, job: str) -> int:
    """Print the job's logs as they come until it ends; the run's exit code."""
    import asyncio

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job):
            sys.stdout.write(chunk)
            sys.stdout.flush()

    asyncio.run(tail())
    info = _wait_ended(client, job)
    return _exit_code(info)


def _wait_ended(client: Any, job: str) -> Any:
    while True:
        info = client.get_job_info(job)
        if info.status.is_terminal():
            return info
        time.sleep(POLL_SECONDS)


def _exit_code(info: Any) -> int:
    """A job's exit code as the run's: 143 for a stopped job (its run was sent SIGTERM), else the
    run's own (the job's driver), else 0 for a job that succeeded and 1 for one that failed."""
    status = str(info.status)
    if status == "STOPPED":
        return EXIT_TERMINATED
    code = getattr(info, "driver_exit_code", None)
    if isinstance(code, int) and 0 <= code < 256:
        return code
    return 0 if status == "SUCCEEDED" else EXIT_FAILED


def _when(ms: int | None) -> str:
    from corpusforge.engine.status import now_iso

    return "-" if not ms else now_iso(ms / 1000)


@jobs_app.command("list")
def list_jobs(address: AddressOption = None) -> None:
    """The cluster's jobs, newest first: id, status, start time, pipeline."""
    client = _client(address)
    jobs = sorted(client.list_jobs(), key=lambda j: j.start_time or 0, reverse=True)
    for j in jobs:
        pipeline = (j.metadata or {}).get("pipeline", j.entrypoint)
        _say(f"{j.submission_id or j.job_id}  {j.status}  {_when(j.start_time)}  {pipeline}")


@jobs_app.command("status")
def status(job: JobArgument, address: AddressOption = None) -> None:
    """A job's status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED), times, and the run's exit code."""
    client = _client(address)
    info = _info(client, job)
    _say(f"{job}: {info.status}")
    meta = info.metadata or {}
    for key, value in [("pipeline", meta.get("pipeline")), ("output", meta.get("output")),
                       ("started", _when(info.start_time)), ("ended", _when(info.end_time)),
                       ("exit code", getattr(info, "driver_exit_code", None)), ("message", info.message)]:
        if value is not None:
            _say(f"  {key}: {value}")


@jobs_app.command("logs")
def logs(job: JobArgument, address: AddressOption = None,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing until the job ends")] = False) -> None:
    """A job's output (the run's summary, or its error)."""
    client = _client(address)
    _info(client, job)
    if follow:
        _follow(client, job)
    else:
        sys.stdout.write(client.get_job_logs(job))


@jobs_app.command("stop")
def stop(job: JobArgument, address: AddressOption = None,
         wait: Annotated[bool, typer.Option(help="wait until the job has stopped")] = False) -> None:
    """Stop a running job (its run is interrupted: `corpusforge submit --resume` continues it)."""
    client = _client(address)
    _info(client, job)
    stopped = client.stop_job(job)
    if wait:
        _say(f"{job}: {_wait_ended(client, job).status}")
    else:
        _say(f"{job}: {'stopping' if stopped else 'not running'}")


def _info(client: Any, job: str) -> Any:
    try:
        return client.get_job_info(job)
    except RuntimeError as e:  # the server's 404: no such job
        _say(f"no job {job!r} on this cluster: {e}", "red", err=True)
        raise typer.Exit(EXIT_FAILED) from None
