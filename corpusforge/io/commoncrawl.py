"""Common Crawl: a crawl id and a format resolve to the crawl's path listing; a slice of it
is read file by file, each file one work unit, streamed (never landed on disk) with
retries and backoff on transient HTTP errors."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pyarrow as pa

from corpusforge.errors import ErrorRecord
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.retry import open_retrying
from corpusforge.io.units import WorkUnit
from corpusforge.io.web_inputs import CommonCrawlInput, WarcInput, parse_slice


def listing(cfg: CommonCrawlInput) -> list[str]:
    """The crawl's ``<format>.paths.gz``: file paths relative to the base URL."""

    try:
        # opening and reading are retried inside; a permanent error is raised at once
        with open_retrying(cfg.listing_url(), cfg.retries, cfg.backoff) as f:
            data = gzip.decompress(f.read())
    except OSError:
        raise
    except Exception as e:  # noqa: BLE001 - HTTP client errors: the run is refused up front
        raise OSError(f"cannot fetch {cfg.listing_url()}: {type(e).__name__}: {e}") from e
    return [line for line in data.decode("utf-8").splitlines() if line.strip()]


def plan(cfg: CommonCrawlInput, input_index: int) -> list[WorkUnit]:
    start, end = parse_slice(cfg.files)
    paths = listing(cfg)
    if start >= len(paths):
        raise ValueError(f"files {cfg.files!r}: the {cfg.format} listing of {cfg.crawl} has "
                         f"{len(paths)} files")
    base = cfg.base_url.rstrip("/")
    return [WorkUnit(0, input_index, f"{base}/{p}", p) for p in paths[start:end]]


def as_warc_input(cfg: CommonCrawlInput) -> WarcInput:
    return WarcInput(type="warc", path="", source=cfg.source, format=cfg.format,
                     max_doc_bytes=cfg.max_doc_bytes, batch_bytes=cfg.batch_bytes,
                     retries=cfg.retries, backoff=cfg.backoff)


def read(unit: WorkUnit, cfg: CommonCrawlInput, source: str, batch: BatchConfig
         ) -> Iterator[pa.Table | ErrorRecord]:
    return warc.read(unit, as_warc_input(cfg), source, batch)
