"""Common Crawl listing and streaming against a local HTTP server on 127.0.0.1.

The server holds a fake crawl tree built here from the shared WARC files, answers
ranged requests like the real endpoint, and injects transient failures (503s and a
connection cut mid-body) so the retries are exercised. All traffic stays on loopback
and every request loop is bounded by the retry count.
"""

from __future__ import annotations

import gzip
import shutil
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.io import commoncrawl
from corpusforge.io.commoncrawl import CommonCrawlInput
from corpusforge.yamlsource import ConfigError

from conftest import read_output, shared_data

CRAWL = "CC-MAIN-2023-50"
SEG = f"crawl-data/{CRAWL}/segments/1700000000000.00/"
WARCS = ["resiliparse__clueweb-quirk.warc.gz", "dolma__sample-0001.warc.gz", "jwarc__cc.warc.gz"]


class CrawlServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        #: path -> how many more requests answer 503
        self.fail: dict[str, int] = {}
        #: path -> how many more GETs send half the body and close
        self.cut: dict[str, int] = {}
        self.requests: list[tuple[str, str, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                path = self.path.split("?", 1)[0].lstrip("/")
                if server.fail.get(path, 0) > 0:
                    server.fail[path] -= 1
                    server.requests.append((self.command, path, 503))
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                file = server.root / path
                if not file.is_file():
                    server.requests.append((self.command, path, 404))
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start, end, status = 0, len(data), 200
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    a, _, b = rng[6:].partition("-")
                    start = int(a or 0)
                    end = min(len(data), int(b) + 1) if b else len(data)
                    status = 206
                body = data[start:end]
                server.requests.append((self.command, path, status))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                self.end_headers()
                if head:
                    return
                if server.cut.get(path, 0) > 0 and len(body) > 100:
                    server.cut[path] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CrawlServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def crawl(tmp_path):
    """A crawl tree: warc.paths.gz naming 3 shared WARC files and one missing file; wet.paths.gz."""
    root = tmp_path / "www"
    warc_dir, wet_dir = root / SEG / "warc", root / SEG / "wet"
    warc_dir.mkdir(parents=True)
    wet_dir.mkdir(parents=True)
    paths = []
    for name in WARCS:
        shutil.copy(shared_data("warc", name), warc_dir / name)
        paths.append(f"{SEG}warc/{name}")
    paths.append(f"{SEG}warc/missing.warc.gz")
    listing = root / "crawl-data" / CRAWL
    (listing / "warc.paths.gz").write_bytes(gzip.compress(("\n".join(paths) + "\n").encode()))
    shutil.copy(shared_data("wet", "ccwhirlwind__whirlwind.warc.wet.gz"), wet_dir / "whirlwind.warc.wet.gz")
    (listing / "wet.paths.gz").write_bytes(gzip.compress(f"{SEG}wet/whirlwind.warc.wet.gz\n".encode()))
    with CrawlServer(root) as server:
        yield server


def cc(server: CrawlServer, **kw) -> CommonCrawlInput:
    return CommonCrawlInput(type="commoncrawl", crawl=CRAWL, base_url=server.url, backoff=0.01, **kw)


def test_listing_and_slices(crawl):
    assert commoncrawl.listing(cc(crawl))[0] == f"{SEG}warc/{WARCS[0]}"
    units = commoncrawl.plan(cc(crawl, files="1-2"), 0)
    assert [u.name for u in units] == [f"{SEG}warc/{WARCS[1]}", f"{SEG}warc/{WARCS[2]}"]
    assert units[0].path == f"{crawl.url}{SEG}warc/{WARCS[1]}"
    assert len(commoncrawl.plan(cc(crawl, files=None), 0)) == 4
    with pytest.raises(ValueError, match="has 4 files"):
        commoncrawl.plan(cc(crawl, files="10-12"), 0)


def test_listing_retries_transient_errors_and_refuses_permanent_ones(crawl):
    listing = f"crawl-data/{CRAWL}/warc.paths.gz"
    crawl.fail[listing] = 2
    assert len(commoncrawl.listing(cc(crawl))) == 4
    assert [s for _, p, s in crawl.requests if p == listing].count(503) == 2
    crawl.fail[listing] = 100
    before = len(crawl.requests)
    with pytest.raises(OSError):
        commoncrawl.listing(cc(crawl, retries=2))
    assert len(crawl.requests) - before <= 3 * 2  # bounded: (retries + 1) x (HEAD + GET)
    bad = CommonCrawlInput(type="commoncrawl", crawl="CC-MAIN-2099-01", base_url=crawl.url, retries=1,
                           backoff=0.01)
    with pytest.raises(OSError):
        commoncrawl.listing(bad)


def run(tmp_path: Path, server: CrawlServer, files: str, fmt: str = "warc", steps: str = ""):
    p = pipeline_from_yaml(textwrap.dedent(f"""
        inputs:
          - type: commoncrawl
            crawl: {CRAWL}
            format: {fmt}
            files: "{files}"
            base_url: {server.url}
            backoff: 0.01
            source: cc
        steps: {steps or '[]'}
        output: {{path: {tmp_path / 'out'}, partition_by: null}}
        executor: {{workers: 1}}
    """))
    return run_pipeline(p)


def test_streamed_run_survives_503s_and_a_cut_connection(tmp_path, crawl):
    first, second = f"{SEG}warc/{WARCS[0]}", f"{SEG}warc/{WARCS[1]}"
    crawl.fail[first] = 2
    crawl.cut[second] = 1
    stats = run(tmp_path, crawl, "0-3").to_dict()
    read = stats["steps"][0]
    # 29 + 15 + 1 documents; the missing file is one error record; nothing else is lost
    assert read["docs_out"] == 45 and read["errored"] == 1
    out = read_output(tmp_path / "out")
    assert out.num_rows == 45 and len(set(out.column("id").to_pylist())) == 45
    assert {s for _, p, s in crawl.requests if p == first} >= {503}
    # the cut body was fetched again from where it broke
    assert sum(1 for m, p, _ in crawl.requests if p == second and m == "GET") >= 2
    errors = (tmp_path / "out" / "_errors").glob("*.jsonl")
    assert any("missing.warc.gz" in f.read_text() for f in errors)
    assert not list(crawl.root.rglob("*.tmp"))  # nothing landed next to the served files


@pytest.mark.slow
def test_commoncrawl_ja_recipe_against_the_local_crawl(tmp_path, crawl):
    steps = "[{step: extract_html, timeout: 60}, {step: langid, keep: [ja], thresholds: {ja: 0.65}}]"
    stats = run(tmp_path, crawl, "0-2", steps=steps).to_dict()
    out = read_output(tmp_path / "out")
    assert out.num_rows == 29 and set(out.column("lang").to_pylist()) == {"ja"}
    texts = out.column("text").to_pylist()
    # the shop's name is in its sidebar and most product texts (not in every page's main text)
    assert sum("ポーター" in t for t in texts) >= 25 and not any("\ufffd" in t for t in texts)
    langid = stats["steps"][2]
    assert langid["docs_in"] == langid["docs_out"] + sum(langid["removed"].values()) + langid["errored"]


def test_wet_listing(tmp_path, crawl):
    run(tmp_path, crawl, "0", fmt="wet")
    out = read_output(tmp_path / "out")
    assert out.num_rows == 1 and out.column("text")[0].as_py().startswith("Escopete")


def test_bad_crawl_config_is_refused(tmp_path, crawl):
    with pytest.raises(ConfigError, match="crawl"):
        pipeline_from_yaml(f"inputs: [{{type: commoncrawl, crawl: 2023-50}}]\noutput: {{path: {tmp_path}}}")
    with pytest.raises(ConfigError, match="files"):
        pipeline_from_yaml(f"inputs: [{{type: commoncrawl, crawl: {CRAWL}, files: a-b}}]\n"
                           f"output: {{path: {tmp_path}}}")


@pytest.mark.slow
def test_the_shipped_commoncrawl_ja_pipeline_runs_against_the_local_crawl(tmp_path, crawl):
    from corpusforge.config import load_pipeline

    from conftest import ROOT

    p, _ = load_pipeline(str(ROOT / "pipelines" / "commoncrawl-ja.yaml"))
    src = p.inputs[0].model_copy(update={"base_url": crawl.url, "files": "0-2", "backoff": 0.01})
    p = p.model_copy(update={"inputs": [src],
                             "output": p.output.model_copy(update={"path": str(tmp_path / "out")}),
                             "executor": p.executor.model_copy(update={"workers": 1})})
    stats = run_pipeline(p).to_dict()
    for step in stats["steps"]:
        assert step["docs_in"] == step["docs_out"] + sum(step["removed"].values()) + step["errored"]
    by = {s["name"]: s for s in stats["steps"]}
    # the crawl's Japanese pages (29 short product pages of one shop) reach the quality chain,
    # which removes them all as too short: no sidebar copies are written
    assert by["langid"]["docs_out"] == 29
    assert by["ja-swallow:swallow"]["removed"] == {"too_few_letters": 29}
    assert stats["docs_written"] == 0
