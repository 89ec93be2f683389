"""The extraction subprocess: decode + extract (trafilatura or resiliparse), one page at a time,
results streamed back.

Run as ``python -m corpusforge.extract.worker``: requests arrive pickled on stdin,
results leave on stdout, so the parent can kill a page that hangs and start a fresh
worker. The address-space limit turns a page that blows up memory into a MemoryError
here (reported for that page) or, at worst, into this process dying, never the parent.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from multiprocessing.connection import Connection


def extract_page(raw: bytes, charset: str | None, url: str | None, options: dict,
                 extractor: str = "trafilatura") -> tuple[str, str, float]:
    """``(text, codec, seconds inside the extractor)`` of one page; empty text when the
    extractor finds no text."""
    from corpusforge.extract.charset import decode_html
    from corpusforge.extract.engines import engine

    extract = engine(extractor)
    html, codec, _ = decode_html(raw, charset)
    t0 = time.perf_counter()
    text = extract(html, url, options)
    return text, codec, time.perf_counter() - t0


def serve(inp: Connection, out: Connection, options: dict, extractor: str) -> None:
    """Answer ``[(raw, charset, url), ...]`` with ``(i, text, codec, error, seconds)`` per page."""
    while True:
        try:
            tasks = inp.recv()
        except EOFError:
            return
        if tasks is None:
            return
        for i, (raw, charset, url) in enumerate(tasks):
            try:
                text, codec, seconds = extract_page(raw, charset, url, options, extractor)
                out.send((i, text, codec, None, seconds))
            except MemoryError:
                out.send((i, None, None, "MemoryError: page exceeded the extractor's memory limit", 0.0))
            except Exception as e:  # noqa: BLE001 - reported for this page; the worker goes on
                out.send((i, None, None, f"{type(e).__name__}: {e}"[:2000], 0.0))


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    import pickle

    from corpusforge.executors.parent_death import exit_with_parent

    # a worker killed with its driver leaves no extractor behind, even one deep in a page
    exit_with_parent(os.getppid())
    # our stdout is the result channel: keep stray prints of libraries off it
    inp, out = Connection(os.dup(0), writable=False), Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    options, memory_limit, extractor = pickle.loads(inp.recv_bytes())
    from corpusforge.extract.engines import engine

    engine(extractor)  # its import is paid once at start, not on the first page

    # the imported modules' objects never die: keep them out of every garbage collection
    gc.freeze()
    if memory_limit:
        import resource

        # the limit is what a page may add to the loaded extractor's address space
        cap = _address_space() + memory_limit
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    out.send("ready")
    serve(inp, out, options, extractor)


if __name__ == "__main__":
    main()
