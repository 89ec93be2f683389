"""The HTML extractor's worker killed in the middle of a page: the page is extracted again
by a fresh worker; a page that two workers die on is the one error record."""

from __future__ import annotations

import os
import signal
import threading
import time

import pyarrow as pa
import pytest

from corpusforge.extract import ExtractHtml
from corpusforge.extract.pool import ExtractorProcess
from corpusforge.io.warc import CHARSET, CONTENT_TYPE, HTML, HTTP_STATUS
from corpusforge.schema import make_batch

from conftest import EN, JA

pytestmark = pytest.mark.slow

JA_PAGE = f"<html><body><article><h1>記事</h1>{f'<p>{JA}</p>' * 4}</article></body></html>".encode()
EN_PAGE = f"<html><body><article><h1>News</h1>{f'<p>{EN}</p>' * 4}</article></body></html>".encode()


def big_page(paragraphs: int) -> bytes:
    """A page trafilatura needs seconds for (about 2 s for 40,000 paragraphs, unloaded)."""
    body = "".join(f"<p>段落{i}: {JA} {EN}</p>" for i in range(paragraphs))
    return f"<html><body>{body}</body></html>".encode()


def html_batch(payloads: list[bytes]):
    n = len(payloads)
    cols = {HTML: pa.array(payloads, pa.binary()), CHARSET: pa.array(["utf-8"] * n),
            CONTENT_TYPE: pa.array(["text/html"] * n), HTTP_STATUS: pa.array([200] * n, pa.int32())}
    return make_batch([f"d{i}" for i in range(n)], [""] * n, "web", "f.warc", list(range(n)), None, cols)

#: how long after a worker is ready the killer waits: the big page is then being extracted
KILL_AFTER = 0.8


class Killer(threading.Thread):
    """SIGKILLs the next ``times`` workers that ``ready_pid()`` names, each ``KILL_AFTER``
    seconds after it is first named (ready, and busy with the big page by then)."""

    def __init__(self, ready_pid, times: int) -> None:
        super().__init__(daemon=True)
        self.ready_pid, self.times, self.killed = ready_pid, times, []

    def run(self) -> None:
        deadline = time.monotonic() + 120
        while len(self.killed) < self.times and time.monotonic() < deadline:
            pid = self.ready_pid()
            if pid is None or pid in self.killed:
                time.sleep(0.02)
                continue
            time.sleep(KILL_AFTER)
            os.kill(pid, signal.SIGKILL)
            self.killed.append(pid)


def pages() -> list[tuple[bytes, str, None]]:
    return [(big_page(40000), "utf-8", None), (JA_PAGE, "utf-8", None), (EN_PAGE, "utf-8", None)]


def test_a_page_whose_worker_is_killed_is_extracted_by_a_fresh_worker():
    proc = ExtractorProcess({}, timeout=120, memory_limit=None)
    try:
        proc.run([(JA_PAGE, "utf-8", None)])  # started and ready
        first = proc.proc.pid
        killer = Killer(lambda: first, 1)
        killer.start()
        results = proc.run(pages())
        killer.join()
    finally:
        proc.close()
    assert len(killer.killed) == 1 and proc.restarts == 1
    assert [r.error for r in results] == [None, None, None]
    assert "段落39999" in results[0].text and JA in results[1].text


def test_a_page_two_workers_die_on_is_the_error_record():
    proc = ExtractorProcess({}, timeout=120, memory_limit=None)
    try:
        proc.run([(JA_PAGE, "utf-8", None)])
        killer = Killer(lambda: proc.pid, 2)  # the pid of the worker that is ready, if any
        killer.start()
        results = proc.run(pages())
        killer.join()
    finally:
        proc.close()
    assert len(killer.killed) == 2
    assert [r.error for r in results] == ["ExtractorCrashed", None, None]
    assert "two extraction workers died" in results[0].message
    assert JA in results[1].text


def test_the_step_loses_no_page_when_its_worker_is_killed():
    step = ExtractHtml(timeout=120, memory_limit=None)
    batch = html_batch([html for html, _, _ in pages()])
    step.apply(html_batch([JA_PAGE]))  # its worker is started and ready
    first = step._proc.proc.pid
    killer = Killer(lambda: first, 1)
    killer.start()
    try:
        result = step.apply(batch)
    finally:
        step.close()
    killer.join()
    assert len(killer.killed) == 1
    removed = 0 if result.removed is None else result.removed.num_rows
    assert result.out.num_rows + removed == batch.num_rows == 3
    assert result.out.column("id").to_pylist() == ["d0", "d1", "d2"]


def test_a_worker_killed_between_batches_costs_nothing():
    proc = ExtractorProcess({}, timeout=120, memory_limit=None)
    try:
        proc.run([(JA_PAGE, "utf-8", None)])
        os.kill(proc.proc.pid, signal.SIGKILL)
        proc.proc.wait()
        results = proc.run([(JA_PAGE, "utf-8", None), (EN_PAGE, "utf-8", None)])
    finally:
        proc.close()
    assert [r.error for r in results] == [None, None] and proc.restarts == 1
    assert JA in results[0].text and EN in results[1].text
