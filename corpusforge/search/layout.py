"""Where a run's search indexes live: ``<out>/_search/``, one folder per output shard.

::

    _search/shards/<key>/          one output shard (``key``: a hash of its path in the output)
        store.json                 written last: the shard's documents are stored
        text.bin starts.npy meta.parquet   texts (UTF-8, 0xFF after each), offsets, columns
        exact.json sa.npy          the suffix array of text.bin
        bm25.json bm25/            the tantivy index
        dense.json dense.npy dense.faiss   vectors and their ANN index
    _search/model/                 the dense model built from the corpus (when no model is given)

A kind is built for a shard when its ``<kind>.json`` marker exists: markers are written (with
the atomic-write helper) after every file of the kind, so a killed build leaves no half index,
and a run that gained shards (a nightly snapshot) builds only the new ones.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import orjson

from corpusforge.io.atomic import write_bytes
from corpusforge.io.layout import join
from corpusforge.io.storage import filesystem, is_local

SEARCH_DIR = "_search"
KINDS = ("exact", "bm25", "dense")
#: a shard key: nothing else is ever joined to an index path from a request
KEY = re.compile(r"^[0-9a-f]{16}$")


def search_root(out: str) -> str:
    return join(out, SEARCH_DIR)


def shard_key(out: str, shard: str) -> str:
    """A stable name for an output shard: the hash of its path relative to the output."""
    relative = shard[len(out.rstrip("/")) + 1:] if shard.startswith(out.rstrip("/")) else shard
    return hashlib.sha1(relative.encode()).hexdigest()[:16]


def shard_dir(out: str, key: str) -> str:
    if not KEY.match(key):
        raise ValueError(f"not a shard key: {key!r}")
    return join(search_root(out), "shards", key)


def model_dir(out: str) -> str:
    return join(search_root(out), "model")


def read_json(path: str) -> dict | None:
    fs, p = filesystem(path)
    try:
        with fs.open(p, "rb") as f:
            return orjson.loads(f.read())
    except FileNotFoundError:
        return None


def write_json(path: str, value: dict) -> None:
    write_bytes(path, orjson.dumps(value, option=orjson.OPT_INDENT_2))


def built_shards(out: str, kind: str) -> list[str]:
    """Keys of the shards whose ``kind`` is built (``store`` for the documents), sorted."""
    fs, root = filesystem(join(search_root(out), "shards"))
    try:
        names = [p.rstrip("/").rpartition("/")[2] for p in fs.ls(root, detail=False)]
    except FileNotFoundError:
        return []
    present = set()
    for key in names:
        if KEY.match(key) and fs.exists(f"{root}/{key}/{kind}.json"):
            present.add(key)
    return sorted(present)


def local_path(path: str) -> str:
    """A local file or folder for ``path``: itself on local disk, else a copy in a cache
    folder (memory maps and tantivy need local files); copied once per path."""
    fs, p = filesystem(path)
    if is_local(fs):
        return p
    cache = Path(os.environ.get("CORPUSFORGE_CACHE", Path.home() / ".cache" / "corpusforge")) / "search"
    target = cache / hashlib.sha1(path.encode()).hexdigest()[:20] / p.rstrip("/").rpartition("/")[2]
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        fs.get(p, str(tmp), recursive=fs.isdir(p))
        tmp.rename(target)
    return str(target)


def upload_dir(local: str, path: str) -> None:
    """Copy a folder built on local disk to ``path`` (nothing to do when it is local)."""
    fs, p = filesystem(path)
    if is_local(fs) and os.path.abspath(local) == os.path.abspath(p):
        return
    fs.put(local, p, recursive=True)
