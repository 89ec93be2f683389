"""Errors that are not about one record stop the run loudly, and a step whose documents mostly
error stops it too (the error budget): each case through the command line, its exit code and
its message."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpusforge.cli import app

from conftest import EN, JA, ROOT, error_records

runner = CliRunner()
#: messages on one line each, as a log file has them
WIDE = {"COLUMNS": "400"}


def write_docs(path: Path, n: int, first: int = 0, bad: set[int] = frozenset()) -> None:
    """``n`` Japanese and English documents; those in ``bad`` are cut JSON lines."""
    lines = []
    for i in range(first, first + n):
        line = json.dumps({"id": f"d{i}", "text": f"{JA if i % 2 else EN} {i}"}, ensure_ascii=False)
        lines.append(line[:20] if i in bad else line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def pipeline(tmp_path: Path, body: str, name: str = "p.yaml") -> Path:
    text = textwrap.dedent(body).replace("OUT", str(tmp_path / "out")).replace("TMP", str(tmp_path))
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / name


def invoke(*args: str):
    return runner.invoke(app, ["run", *map(str, args), "--workers", "1", "--quiet"], env=WIDE)


def status(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "out" / "_state" / "status.json").read_text())


def cli(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The command line in a process of its own, with ``env`` added to a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HF_"))}
    return subprocess.run([sys.executable, "-m", "corpusforge", *args], cwd=tmp_path,
                          env={**base, "PYTHONPATH": str(ROOT), **WIDE, **env},
                          capture_output=True, text=True, timeout=300)


# -- refused before or at the start: exit 2 ----------------------------------------------------


@pytest.mark.parametrize("step,key", [
    ("{step: langid, model: TMP/lid.missing.ftz}", "steps[0].model: fastText model"),
    ("{step: tokenize, tokenizer: {sentencepiece: TMP/ja.missing.model}}",
     "steps[0].tokenizer.sentencepiece: SentencePiece model"),
])
def test_run_refuses_a_missing_model_before_any_work(tmp_path, step, key):
    write_docs(tmp_path / "in.jsonl", 10)
    p = pipeline(tmp_path, f"""\
        inputs: [{{type: jsonl, path: TMP/in.jsonl}}]
        steps: [{step}]
        output: {{path: OUT}}
        """)
    r = invoke(p)
    assert r.exit_code == 2, r.output
    assert f"p.yaml:2: {key}" in r.output and "not found" in r.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("step,cause", [
    ("{step: langid, model: TMP/broken.ftz}", "ValueError"),
    ("{step: tokenize, tokenizer: {sentencepiece: TMP/broken.model}}", "RuntimeError"),
])
def test_a_model_that_does_not_load_stops_the_run_at_setup(tmp_path, step, cause, workers):
    # the files exist (validate passes): they are not models
    for name in ("broken.ftz", "broken.model"):
        (tmp_path / name).write_bytes(b"not a model \x00\x01" * 10)
    for k in range(2):
        write_docs(tmp_path / f"in{k}.jsonl", 50, first=50 * k)
    p = pipeline(tmp_path, f"""\
        inputs: [{{type: jsonl, path: "TMP/in*.jsonl"}}]
        steps: [{step}]
        output: {{path: OUT}}
        """)
    assert runner.invoke(app, ["validate", str(p)]).exit_code == 0
    r = runner.invoke(app, ["run", str(p), "--workers", str(workers), "--quiet"], env=WIDE)
    assert r.exit_code == 2, r.output
    name = "langid" if "langid" in step else "tokenize"
    assert f"run stopped at setup: step {name!r} could not be set up: {cause}" in r.output
    assert "broken" in r.output
    # not one error record per document: none at all
    assert error_records(tmp_path / "out") == []
    s = status(tmp_path)
    assert (s["state"], s["exit_code"], s["last_error"]["type"]) == ("failed", 2, "SetupFailed")


def test_a_glob_over_a_missing_folder_is_refused(tmp_path):
    p = pipeline(tmp_path, """\
        inputs: [{type: jsonl, path: "TMP/no-such-folder/*.jsonl"}]
        output: {path: OUT}
        """)
    r = invoke(p)
    assert r.exit_code == 2, r.output
    assert f"p.yaml:1: inputs[0].path: no file matches '{tmp_path}/no-such-folder/*.jsonl'" in r.output


class _Forbidden(http.server.BaseHTTPRequestHandler):
    """A web server that lets nobody list or read anything."""

    def do_GET(self) -> None:  # noqa: N802 - the handler's API
        self.send_response(403)
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("path", ["crawl/*.jsonl.gz", "crawl/CC-MAIN-ja.jsonl.gz"])
def test_a_listing_the_server_forbids_is_refused(tmp_path, path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{path}"
    try:
        r = invoke(pipeline(tmp_path, f"""\
            inputs: [{{type: jsonl, path: "{url}"}}]
            output: {{path: OUT}}
            """))
    finally:
        server.shutdown()
        server.server_close()
    assert r.exit_code == 2, r.output
    assert "p.yaml:1: inputs[0].path: cannot list input: ClientResponseError: 403, message='Forbidden'" in r.output
    assert not (tmp_path / "out").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_s3_input_without_credentials_is_refused(tmp_path):
    pytest.importorskip("s3fs")
    pipeline(tmp_path, """\
        inputs: [{type: jsonl, path: "s3://night-crawl/ja/*.jsonl.gz"}]
        output: {path: OUT}
        """)
    # no credentials anywhere: no variables, no files, no instance metadata; an endpoint that
    # nothing listens on (credentials are looked for before any request)
    r = cli(tmp_path, "run", "p.yaml", "--quiet",
            env={"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{_closed_port()}",
                 "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                 "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "p.yaml:1: inputs[0].path: cannot list input: NoCredentialsError: Unable to locate credentials" in r.stderr
    assert "the storage needs credentials" in r.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_bucket_is_refused(tmp_path):
    from s3server import S3Server

    with S3Server() as s3:
        r = invoke(pipeline(tmp_path, f"""\
            inputs: [{{type: jsonl, path: "s3://no-such-bucket/ja/*.jsonl", storage_options: {s3.yaml_options}}}]
            output: {{path: OUT}}
            """))
    assert r.exit_code == 2, r.output
    assert "p.yaml:1: inputs[0].path: no file matches 's3://no-such-bucket/ja/*.jsonl'" in r.output
    assert not (tmp_path / "out").exists()


def test_an_unreachable_hub_dataset_is_refused(tmp_path):
    pipeline(tmp_path, """\
        inputs: [{type: hf, path: someone/cc-ja-night, num_shards: 4}]
        output: {path: OUT}
        """)
    # offline, with an empty cache: the hub cannot be reached
    r = cli(tmp_path, "run", "p.yaml", "--quiet",
            env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert r.returncode == 2, r.stdout + r.stderr
    assert ("p.yaml:1: inputs[0].path: cannot list input: ConnectionError: Couldn't reach "
            "'someone/cc-ja-night' on the Hub") in r.stderr
    assert not (tmp_path / "out").exists()


# -- the error budget: exit 3 -----------------------------------------------------------------


def test_a_run_whose_every_document_errors_stops_early(tmp_path):
    for k in range(4):
        write_docs(tmp_path / f"in{k}.jsonl", 600, first=600 * k)
    p = pipeline(tmp_path, """\
        inputs: [{type: jsonl, path: "TMP/in*.jsonl"}]
        steps: [{step: user_steps.QuoteFirst, label: quote}]
        output: {path: OUT}
        """)
    r = invoke(p)
    assert r.exit_code == 3, r.output
    assert ("run stopped: error budget exceeded: step 'quote' errored on 1,200 of 1,200 documents "
            "(100.0%), over its max_error_fraction of 0.1; most frequent errors: ValueError ×1,200. "
            f"The error records are in {tmp_path}/out/_errors/") in r.output
    assert "to continue where it stopped: corpusforge run" in r.output
    # judged once 1,000 documents were seen: after the second of four units
    s = status(tmp_path)
    assert (s["state"], s["exit_code"], s["units"]) == ("failed", 3, {"total": 4, "done": 2})
    assert s["last_error"]["type"] == "ErrorBudgetExceeded"
    assert s["error_records"] == 1200 == len(error_records(tmp_path / "out"))
    assert not (tmp_path / "out" / "stats.json").exists()


def test_a_small_run_is_judged_when_the_map_phase_ends(tmp_path):
    write_docs(tmp_path / "in.jsonl", 12, bad={3, 8})  # 2 of 12 errors: over 0.1, under 0.2
    body = """\
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        output: {path: OUT}
        """
    r = invoke(pipeline(tmp_path, body))
    assert r.exit_code == 3, r.output
    assert "step 'read' errored on 2 of 12 documents (16.7%)" in r.output
    assert "MalformedJSON ×2" in r.output

    r = invoke(pipeline(tmp_path, body + "max_error_fraction: 0.2\n"), "--resume")
    assert r.exit_code == 0, r.output
    assert f"error records: 2 (2 documents) in {tmp_path}/out/_errors; by kind: MalformedJSON 2" in r.output
    assert status(tmp_path)["state"] == "succeeded"


def test_a_step_has_its_own_budget(tmp_path):
    lines = [{"id": f"d{i}", "text": f"{JA if i % 2 else EN} {'EXPLODE' if i % 3 == 0 else ''}"}
             for i in range(30)]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    body = """\
        inputs: [{{type: jsonl, path: TMP/in.jsonl}}]
        steps:
          - {{step: user_steps.Explode, label: fragile{budget}}}
          - {{step: length, min_chars: 1}}
        output: {{path: OUT}}
        """
    r = invoke(pipeline(tmp_path, body.format(budget="")))
    assert r.exit_code == 3, r.output
    assert "step 'fragile' errored on 10 of 30 documents (33.3%), over its max_error_fraction of 0.1" in r.output
    r = invoke(pipeline(tmp_path, body.format(budget=", max_error_fraction: 0.5")), "--resume")
    assert r.exit_code == 0, r.output
    assert f"error records: 10 (10 documents) in {tmp_path}/out/_errors; by kind: ValueError 10" in r.output


def test_the_summary_says_when_no_error_record_was_written(tmp_path):
    write_docs(tmp_path / "in.jsonl", 8)
    r = invoke(pipeline(tmp_path, """\
        inputs: [{type: jsonl, path: TMP/in.jsonl}]
        output: {path: OUT}
        """))
    assert r.exit_code == 0, r.output
    assert f"error records: 0 (0 documents) in {tmp_path}/out/_errors" in r.output


@pytest.mark.parametrize("where,key,line", [
    ("max_error_fraction: 1.5\n", "max_error_fraction", 4),
    ("", "steps[0].max_error_fraction", 2),
])
def test_a_budget_out_of_range_is_refused_at_its_key(tmp_path, where, key, line):
    step = "{step: length}" if where else "{step: length, max_error_fraction: -0.1}"
    p = pipeline(tmp_path, f"""\
        inputs: [{{type: jsonl, path: TMP/in.jsonl}}]
        steps: [{step}]
        output: {{path: OUT}}
        """ + where)
    write_docs(tmp_path / "in.jsonl", 2)
    r = runner.invoke(app, ["validate", str(p)], env=WIDE)
    assert r.exit_code == 2, r.output
    assert f"p.yaml:{line}: {key}: " in r.output
