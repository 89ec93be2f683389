"""The search page of ``corpusforge serve`` in headless Chromium: search hits, the trace view
highlighting planted spans, a hostile document shown as text; the server refusing path tricks."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from corpusforge.search.server import make_server

from browser import open_page
from search_corpus import HOSTILE, HOSTILE_ID


@pytest.fixture
def served(search_run):
    out, docs = search_run
    server = make_server(out, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", docs
    finally:
        server.shutdown()
        server.server_close()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def search_for(page, query: str, kind: str) -> list[str]:
    page.fill("#q", query)
    page.select_option("#kind", kind)
    page.click("#go")
    page.wait_for_selector("#results li.hit")
    return page.locator("#results li.hit").all_inner_texts()


def test_search_trace_and_a_hostile_document_in_the_browser(served):
    base, docs = served
    with open_page(base + "/") as (page, console):
        hits = search_for(page, "部長はうなぎです", "exact")
        assert len(hits) == 1 and "ja-unagi" in hits[0]
        assert page.locator("#results mark").first.inner_text() == "部長はうなぎです"
        assert "2 occurrences in 1 documents" in page.inner_text("#summary")
        english = docs[100]
        assert english["lang"] == "en"
        words = " ".join(english["text"].split()[5:25])
        assert english["id"] in search_for(page, words, "bm25")[0]
        assert english["id"] in search_for(page, words, "dense")[0]

        # trace: two planted spans, one Japanese and one English, amid new text
        ja, en = docs[7]["text"][20:60], english["text"][30:90]
        page.goto(base + "/#/trace")
        page.fill("#trace-text", f"ゑゐゑゐ{ja}ゑゐゑゐ qxjz {en} qxjz")
        page.fill("#min-chars", "20")
        page.click("#trace-go")
        page.wait_for_selector("#trace-out mark")
        marks = page.locator("#trace-out mark").all_inner_texts()
        assert any(ja in m for m in marks) and any(en in m for m in marks) and len(marks) == 2
        # a highlighted span links to a document holding it
        page.locator("#trace-out a").first.click()
        page.wait_for_selector("#doc-text mark")
        assert ja in page.inner_text("#doc-text mark")

        # the hostile document: found, opened, shown as text, nothing run
        page.goto(base + "/")
        hits = search_for(page, "window.__pwned", "exact")
        assert HOSTILE_ID in hits[0]
        page.locator("#results a.doc-link").first.click()
        page.wait_for_selector("#doc-text:not(:empty)")
        assert page.inner_text("#doc-text") == HOSTILE
        assert page.locator("#doc-text script, #doc-text img, #results script, #results img").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert HOSTILE_ID in page.inner_text("#doc-meta")
        assert console.errors == [] and console.foreign_requests == []


def test_the_server_refuses_path_tricks_and_serves_only_its_api(served):
    base, _ = served
    for path in ("/api/doc?shard=../../etc/passwd&row=0", "/api/doc?shard=..%2F..&row=0",
                 "/api/doc?shard=0123456789abcdef&row=x"):
        assert _status(base + path) == 400
    for path in ("/../../etc/passwd", "/page/index.html", "/api/doc?shard=0123456789abcdef&row=0",
                 "/%2e%2e/%2e%2e/etc/passwd"):
        assert _status(base + path) == 404
    with urllib.request.urlopen(base + "/api/search?q=%E7%8C%AB&kind=exact&k=3") as r:
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        hits = json.loads(r.read())["hits"]
    assert len(hits) == 3 and all("猫" in h["snippet"] for h in hits)
    shard, row = hits[0]["shard"], hits[0]["row"]
    assert _status(f"{base}/api/doc?shard={shard}&row={row}") == 200
    assert _status(f"{base}/api/doc?shard={shard}&row=100000") == 404
