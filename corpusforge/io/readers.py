"""Planning work units for a pipeline's inputs and reading them, whatever the input type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pyarrow as pa

from corpusforge.config import Pipeline
from corpusforge.errors import ErrorRecord
from corpusforge.io import commoncrawl, demo, hf, jsonl, parquet, presets, warc
from corpusforge.io.units import WorkUnit
from corpusforge.yamlsource import ConfigError, ConfigIssue

_READERS = {"jsonl": jsonl, "parquet": parquet, "hf": hf, "demo": demo, "warc": warc,
            "commoncrawl": commoncrawl, "mc4": presets, "pile": presets, "stack": presets}


def plan(pipeline: Pipeline, lines: dict | None = None, file: str | None = None) -> list[WorkUnit]:
    """All work units of a run, numbered in input order.

    An input that matches no file refuses the run before any work starts.
    """
    units: list[WorkUnit] = []
    issues: list[ConfigIssue] = []
    lines = lines or {}

    def issue(i: int, message: str) -> ConfigIssue:
        # the input's `path` line when it has one (commoncrawl inputs name a `crawl` instead)
        key = ("inputs", i, "path") if ("inputs", i, "path") in lines else ("inputs", i)
        return ConfigIssue(key, message, lines.get(key))

    for i, cfg in enumerate(pipeline.inputs):
        try:
            found = _READERS[cfg.type].plan(cfg, i)
        except (OSError, ValueError) as e:
            cause = f" (cause: {type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ else ""
            issues.append(issue(i, f"cannot list input: {type(e).__name__}: {e}{cause}"))
            continue
        if not found:
            issues.append(issue(i, f"no file matches {getattr(cfg, 'path', '')!r}"))
        units.extend(found)
    if issues:
        raise ConfigError(issues, file)
    return [replace(u, index=n) for n, u in enumerate(units)]


def read_unit(cfg, unit: WorkUnit, source: str, batch) -> Iterator[pa.Table | ErrorRecord]:
    return _READERS[cfg.type].read(unit, cfg, source, batch)
