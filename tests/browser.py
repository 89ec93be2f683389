"""A real headless Chromium for the tests of pages a person looks at (the run report, the
search page), driven through Playwright.

The browser is Debian's ``chromium`` (``.ci/run`` installs it when it is missing); Playwright's
own browser downloads are never used. Where no browser exists the tests that need one skip,
saying why. Every page a test opens is a local file or a server on 127.0.0.1, and Chromium runs
with its background networking off, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

#: where Debian puts the browser; CHROMIUM overrides it
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

#: no sandbox (tests run as root), no GPU, and no connection of Chromium's own to the network
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions"]


def chromium_or_skip() -> str:
    """The browser's path; skips the calling test where the machine has none."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    return CHROMIUM


@dataclass
class Console:
    """What the page said: console errors and uncaught exceptions, and requests it tried to
    make to anything but the page's own origin (a report must need no network)."""

    errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)


@contextmanager
def open_page(url: str, *, width: int = 1280, height: int = 900) -> Iterator[tuple[object, Console]]:
    """``(page, console)``: ``url`` loaded in a fresh headless Chromium (a new profile each
    time). ``page`` is a Playwright ``Page``."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    console = Console()
    local = ("file://", "http://127.0.0.1", "data:", "about:", "blob:")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console.errors.append(f"uncaught: {e}"))
            page.on("request", lambda r: None if r.url.startswith(local)
                    else console.foreign_requests.append(r.url))
            page.goto(url, wait_until="load")
            yield page, console
        finally:
            browser.close()
