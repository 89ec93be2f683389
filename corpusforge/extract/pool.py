"""A long-lived extraction subprocess with a per-page timeout, restarted when it hangs or dies.

A worker that dies in the middle of a page may not have died of that page (it was killed,
ran out of memory on the host, or a page before it left it broken), so the page is sent
again to a fresh worker; only a page that a second worker dies on too is reported, as
``ExtractorCrashed``. A page that times out is not retried: it would cost the timeout
again, and slowness is a property of the page.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection

#: seconds the worker may take to start (imports the extractor: trafilatura and lxml, or resiliparse)
START_TIMEOUT = 60.0


@dataclass
class PageResult:
    text: str | None = None
    codec: str | None = None
    #: exception class name when the page failed (ExtractionTimeout, ExtractorCrashed, ...)
    error: str | None = None
    message: str | None = None
    #: time spent inside the extractor (what the framework cannot make faster)
    seconds: float = 0.0


#: how the worker starts: ``python -m`` would put the working directory first on its import path,
#: so a ``trafilatura.py`` there would run (``-P`` is not in every Python we support); this drops
#: it and runs the worker module (corpusforge itself comes from the PYTHONPATH of _child_env)
_BOOT = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; import runpy; "
         "runpy.run_module('corpusforge.extract.worker', run_name='__main__', alter_sys=True)")


class ExtractorProcess:
    """Sends pages to ``corpusforge.extract.worker`` and collects one result per page."""

    def __init__(self, options: dict, timeout: float, memory_limit: int | None,
                 extractor: str = "trafilatura") -> None:
        self.options, self.timeout, self.memory_limit = options, timeout, memory_limit
        self.extractor = extractor
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        #: process id of the worker once it is ready for pages (None while there is none)
        self.pid: int | None = None

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(),
        )
        self.send = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.recv = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        try:
            self.send.send_bytes(pickle.dumps((self.options, self.memory_limit, self.extractor)))
            ready = self.recv.poll(START_TIMEOUT) and self.recv.recv() == "ready"
        except (EOFError, OSError):  # it died while starting
            ready = False
        if not ready:
            self.close()
            raise RuntimeError("the extraction worker did not start")
        self.pid = self.proc.pid

    def close(self) -> None:
        self.pid = None
        if self.proc is None:
            return
        for conn in (self.send, self.recv):
            conn.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None

    def _kill(self) -> None:
        self.close()
        self.restarts += 1

    def run(self, tasks: list[tuple[bytes, str | None, str | None]]) -> list[PageResult]:
        """One result per task, in order; a page that times out, or that two workers die on,
        fails alone."""
        results: list[PageResult] = [PageResult() for _ in tasks]
        died_on: set[int] = set()  # pages a worker has died on once
        lost_sends = 0
        i = 0
        while i < len(tasks):
            if self.proc is None:
                self._start()
            base = i
            try:
                self.send.send(tasks[base:])
            except (BrokenPipeError, OSError):
                self._kill()
                lost_sends += 1
                if lost_sends > 3:
                    raise RuntimeError("extraction workers die before they are sent a page") from None
                continue
            while i < len(tasks):
                if not self.recv.poll(self.timeout):
                    results[i] = PageResult(error="ExtractionTimeout",
                                            message=f"extraction took longer than {self.timeout}s")
                    self._kill()
                    i += 1
                    break
                try:
                    j, text, codec, err, seconds = self.recv.recv()
                except (EOFError, OSError):
                    code = self.proc.wait() if self.proc else None
                    self._kill()
                    if i not in died_on:  # once more, on a fresh worker
                        died_on.add(i)
                        break
                    results[i] = PageResult(error="ExtractorCrashed",
                                            message=f"two extraction workers died on this page "
                                                    f"(the last with exit code {code})")
                    i += 1
                    break
                if err is None:
                    results[base + j] = PageResult(text=text, codec=codec, seconds=seconds)
                else:
                    name, _, msg = err.partition(": ")
                    results[base + j] = PageResult(error=name, message=msg)
                i = base + j + 1
        return results

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()


def _child_env() -> dict[str, str]:
    # the worker must import this very package, also when it runs from a source tree
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env
