"""What a run must know about its input files before it touches its output folder.

Two promises rest on this: a run never deletes or reads back its own inputs (an output
folder that is, contains, or lies among the input files is refused before anything is
written), and a resume never mixes two versions of an input (each input file's size and
modification time or etag is part of the plan fingerprint).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from corpusforge.io.files import listed
from corpusforge.io.storage import filesystem
from corpusforge.io.units import WorkUnit
from corpusforge.yamlsource import ConfigError, ConfigIssue

#: protocols whose files are published once and never change (Common Crawl over HTTP):
#: not asked for their version, which would cost a request per file
_IMMUTABLE = {"http", "https"}


def _location(path: str) -> tuple[str, str]:
    """``(protocol, absolute path)``; local paths with symlinks resolved."""
    fs, stripped = filesystem(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local"):
        return "file", os.path.realpath(stripped)
    return protocol, stripped.rstrip("/")


def _inside(path: tuple[str, str], folder: tuple[str, str]) -> bool:
    return path[0] == folder[0] and (path[1] == folder[1] or path[1].startswith(folder[1].rstrip("/") + "/"))


def check_no_overlap(output: str, units: list[WorkUnit], lines: dict | None = None,
                     file: str | None = None) -> None:
    """Refuse an output folder that holds any input file (``--overwrite`` would delete it,
    and a run would read its own output back)."""
    out = _location(output)
    for unit in units:
        if unit.path and _inside(_location(unit.path), out):
            key = ("output", "path")
            raise ConfigError([ConfigIssue(key, (
                f"the output folder {output!r} holds the input file {unit.path!r}: a run never "
                "writes where it reads (choose an output folder outside the inputs)"),
                (lines or {}).get(key))], file)


def input_versions(units: list[WorkUnit]) -> dict[str, list]:
    """``path -> [size, version]`` of every input file: as the listing that found it said,
    else stat'ed (in parallel)."""
    paths = sorted({u.path for u in units if u.path})
    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(zip(paths, (list(v) for v in pool.map(file_version, paths))))


def file_version(path: str) -> tuple[int | None, str | None]:
    """``(size, version)`` of an input file, as its listing said; nothing for files that
    never change (no request per file)."""
    fs, _ = filesystem(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in _IMMUTABLE:
        return None, None
    return listed(path)
