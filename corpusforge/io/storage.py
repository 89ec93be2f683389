"""Where a path lives: its fsspec filesystem, opened with the storage options given for it.

Every file a run touches — inputs, documents, scratch, markers, stats, the dedup index,
Megatron files — is opened through :func:`filesystem`. The options (credentials, endpoint:
``key``, ``secret``, ``anon``, ``client_kwargs: {endpoint_url: ...}``) come from the
``storage_options`` of the pipeline's inputs and output and apply to every path of the same
bucket (``s3://bucket``: the protocol and the first part of the path). A bucket nobody gave
options for gets fsspec's defaults: for S3 the usual ``AWS_*`` environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL_S3``, ``AWS_PROFILE``...), ``~/.aws`` and
instance roles.

The table of options is per process; :func:`with_storage` wraps a task so that the table
travels with it and a worker (another process, another machine) opens files as the driver does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from fsspec import AbstractFileSystem, get_filesystem_class
from fsspec.core import split_protocol, url_to_fs

#: fsspec storage options of an input or the output (``key``, ``secret``, ``client_kwargs``...)
StorageOptions = dict[str, Any]

#: object stores: an upload becomes visible whole, when it completes (a write needs no
#: temporary name, and a rename would be a copy)
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs"})
#: the extra of this package that installs a protocol's filesystem
EXTRAS = {"s3": "s3", "s3a": "s3"}
_LOCAL = frozenset({None, "file", "local"})
#: what every object store filesystem is opened with unless the options say otherwise: no
#: listing cache, because other processes (the workers) write into the folders this one lists
_DEFAULTS: StorageOptions = {"use_listings_cache": False}

#: ``protocol://bucket`` -> its options (JSON text: hashable, and copied, never shared)
_table: dict[str, str] = {}


class MissingBackend(ImportError):
    """A path's protocol needs a package that is not installed (s3fs for ``s3://``)."""


def protocol_of(path: str) -> str | None:
    """``s3`` for ``s3://bucket/key``; None for a local path."""
    protocol, _ = split_protocol(path)
    return None if protocol in _LOCAL else protocol


def bucket_of(path: str) -> str | None:
    """``s3://bucket`` for ``s3://bucket/a/b``; None for a local path."""
    protocol = protocol_of(path)
    if protocol is None:
        return None
    _, rest = split_protocol(path)
    return f"{protocol}://{rest.split('/', 1)[0]}"


def register(paths: str | Iterable[str], options: StorageOptions | None) -> None:
    """Use ``options`` for every path of the buckets of ``paths`` (local paths take none)."""
    if not options:
        return
    for path in [paths] if isinstance(paths, str) else paths:
        key = bucket_of(path)
        if key is not None:
            _table[key] = json.dumps(options, sort_keys=True)


def options_for(path: str) -> StorageOptions:
    """The options a path's filesystem is opened with (its bucket's, over the defaults)."""
    protocol = protocol_of(path)
    if protocol is None:
        return {}
    own = _table.get(bucket_of(path) or "")
    base = dict(_DEFAULTS) if protocol in OBJECT_STORES else {}
    return {**base, **(json.loads(own) if own else {})}


def missing_backend(path: str) -> str | None:
    """Why ``path`` cannot be opened here (its filesystem's package is missing), or None."""
    protocol = protocol_of(path)
    if protocol is None:
        return None
    try:
        get_filesystem_class(protocol.split("::")[-1])
    except ImportError as e:
        extra = EXTRAS.get(protocol)
        if extra:
            return f"{protocol}:// paths need s3fs: pip install 'corpusforge[{extra}]'"
        return f"{protocol}:// paths need a package that is not installed ({e})"
    except ValueError:
        return f"unknown protocol {protocol!r} (no fsspec filesystem is registered for it)"
    return None


def filesystem(path: str) -> tuple[AbstractFileSystem, str]:
    """``(filesystem, path without its protocol)``, as :func:`fsspec.core.url_to_fs`, with the
    path's storage options."""
    try:
        return url_to_fs(path, **options_for(path))
    except ImportError as e:
        raise MissingBackend(missing_backend(path) or str(e)) from e


def is_object_store(fs: AbstractFileSystem) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return bool(OBJECT_STORES.intersection(protocols))


def is_local(fs: AbstractFileSystem) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return bool({"file", "local"}.intersection(protocols))


def current() -> tuple[tuple[str, str], ...]:
    """This process's table, to hand to a worker (:func:`install`)."""
    return tuple(sorted(_table.items()))


def install(table: tuple[tuple[str, str], ...]) -> None:
    _table.update(table)


def with_storage(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` as a picklable callable that installs this process's table before it runs."""
    return functools.partial(_call, current(), fn)


def _call(table: tuple[tuple[str, str], ...], fn: Callable[[Any], Any], item: Any) -> Any:
    install(table)
    return fn(item)
