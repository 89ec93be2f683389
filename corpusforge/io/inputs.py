"""A pipeline's inputs: every input type, the ``InputConfig`` union, planning and reading.

The built-in input types register themselves when their modules (listed below) are
imported; the union of their config models, told apart by ``type:``, is what the
pipeline's ``inputs:`` accepts. A new input type is one module that calls
:func:`corpusforge.io.reader.register_reader`, plus its line in ``BUILTIN``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Annotated, Union

import pyarrow as pa
from pydantic import Field

from corpusforge.errors import ErrorRecord
from corpusforge.io import (
    commoncrawl,
    corpora,
    demo,
    hf,
    jsonfile,
    jsonl,
    parquet,
    storage,
    tar,
    text,
    warc,
)
from corpusforge.io.batching import BatchConfig
from corpusforge.io.reader import Reader, Skipped, registered_readers
from corpusforge.io.units import WorkUnit
from corpusforge.yamlsource import ConfigError, ConfigIssue

#: the modules of the built-in input types, in the order messages list their tags
BUILTIN = (jsonl, jsonfile, parquet, hf, text, tar, demo, warc, commoncrawl, corpora)


def _in_builtin_order(readers: list[Reader]) -> list[Reader]:
    # registration order depends on which reader module happened to be imported first
    order = {m.__name__: i for i, m in enumerate(BUILTIN)}
    return sorted(readers, key=lambda r: order.get(r.module, len(order)))


READERS: dict[str, Reader] = {r.tag: r for r in _in_builtin_order(registered_readers())}
#: the ``type:`` tags; pydantic puts them into the locations of errors inside a union member
INPUT_TAGS: frozenset[str] = frozenset(READERS)

#: one of the registered config models, chosen by its ``type:`` tag
InputConfig = Annotated[Union[tuple(r.config for r in READERS.values())], Field(discriminator="type")]


def plan_units(
    inputs: Sequence[InputConfig], lines: dict | None = None, file: str | None = None
) -> list[WorkUnit]:
    """All work units of a run, numbered in input order.

    An input that cannot be listed or matches no file refuses the run before any work
    starts: a ConfigError with an issue per input, at the input's line in ``lines``
    (``YamlDoc.lines``) of ``file`` when known.
    """
    register_storage(inputs)
    units: list[WorkUnit] = []
    issues: list[ConfigIssue] = []
    lines = lines or {}

    def issue(i: int, message: str) -> ConfigIssue:
        # the input's `path` line when it has one (commoncrawl inputs name a `crawl` instead)
        key = ("inputs", i, "path") if ("inputs", i, "path") in lines else ("inputs", i)
        return ConfigIssue(key, message, lines.get(key))

    for i, cfg in enumerate(inputs):
        try:
            found = READERS[cfg.type].plan(cfg, i)
        except (OSError, ValueError, storage.MissingBackend) as e:
            cause = f" (cause: {type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ else ""
            issues.append(issue(i, f"cannot list input: {type(e).__name__}: {e}{cause}"))
            continue
        except Exception as e:  # noqa: BLE001 - storage clients' own errors (botocore's
            # NoCredentialsError is no OSError): any listing that fails stops the run here,
            # not as an error record per unit
            hint = ("; the storage needs credentials (its environment variables, a profile or "
                    "an instance role)") if "Credentials" in type(e).__name__ else ""
            issues.append(issue(i, f"cannot list input: {type(e).__name__}: {e}{hint}"))
            continue
        if not found:
            issues.append(issue(i, f"no file matches {getattr(cfg, 'path', '')!r}"))
        undecodable = [u.path for u in found if not _is_utf8_name(u.path)]
        if undecodable:
            # ids, error records and the run's plan name files in UTF-8; such a file would
            # stop the run half-way, so it is refused before anything starts
            shown = ", ".join(os.fsencode(p).decode("utf-8", "backslashreplace") for p in undecodable[:3])
            issues.append(issue(i, f"{len(undecodable)} file name(s) are not valid UTF-8 (rename them): {shown}"))
            continue
        units.extend(found)
    if issues:
        raise ConfigError(issues, file)
    return [replace(u, index=n) for n, u in enumerate(units)]


def register_storage(inputs: Sequence[InputConfig]) -> None:
    """Every input's ``storage_options`` for the buckets of its paths (io/storage.py)."""
    for cfg in inputs:
        options, paths = getattr(cfg, "storage_options", None), getattr(cfg, "path", None)
        if options and paths:
            storage.register(paths, options)


def _is_utf8_name(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of a file name arrive as lone surrogates
        return False
    return True


def read_unit(
    cfg: InputConfig, unit: WorkUnit, source: str, batch: BatchConfig
) -> Iterator[pa.Table | ErrorRecord | Skipped]:
    """The batches, error records and skipped items of one work unit of the input ``cfg``, in order."""
    return READERS[cfg.type].read(unit, cfg, source, batch)
