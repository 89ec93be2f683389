"""Common Crawl: a crawl id and a format resolve to the crawl's path listing; a slice of it
is read file by file, each file one work unit, streamed (never landed on disk) with
retries and backoff on transient HTTP errors."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from typing import Literal

import pyarrow as pa
from pydantic import Field, field_validator

from corpusforge.errors import ErrorRecord
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.reader import register_reader
from corpusforge.io.retry import open_retrying
from corpusforge.io.units import WorkUnit
from corpusforge.models import Model, Size

#: Common Crawl's public HTTPS endpoint (``s3://commoncrawl/`` works too, with s3fs installed)
CC_BASE_URL = "https://data.commoncrawl.org/"
_CRAWL_ID = re.compile(r"^CC-MAIN-\d{4}-\d{2}$")
_SLICE = re.compile(r"^\s*(\d+)?\s*(?:(-|:)\s*(\d+)?)?\s*$")


def parse_slice(spec: str | int | None) -> tuple[int, int | None]:
    """``0-9`` (inclusive), ``10:20`` (half-open), ``5`` (one file), ``none`` (all) -> [start, end)."""
    if spec is None:
        return 0, None
    if isinstance(spec, int):
        if spec < 0:  # the string forms cannot say it either
            raise ValueError(f"expected a file number of 0 or more, got {spec}")
        return spec, spec + 1
    m = _SLICE.match(str(spec))
    if not m or (m.group(1) is None and m.group(3) is None):
        raise ValueError(f"expected a slice such as 0-9, 10:20 or 5, got {spec!r}")
    start = int(m.group(1) or 0)
    if m.group(2) is None:
        return start, start + 1
    if m.group(3) is None:
        return start, None
    end = int(m.group(3)) + (1 if m.group(2) == "-" else 0)
    if end <= start:
        raise ValueError(f"empty slice {spec!r}")
    return start, end


class CommonCrawlInput(Model):
    """A slice of a Common Crawl snapshot's WARC or WET path listing."""

    type: Literal["commoncrawl"]
    #: crawl id, e.g. CC-MAIN-2023-50
    crawl: str
    format: Literal["warc", "wet"] = "warc"
    #: which files of the listing: ``0-9`` (inclusive), ``10:20`` (half-open), ``5``; all when omitted
    files: str | int | None = "0"
    #: where ``crawl-data/<crawl>/<format>.paths.gz`` and the files live
    base_url: str = CC_BASE_URL
    source: str | None = None
    max_doc_bytes: Size = 16 * 2**20
    batch_bytes: Size = 16 * 2**20
    retries: int = Field(5, ge=0)
    backoff: float = Field(1.0, ge=0)

    @field_validator("crawl")
    @classmethod
    def _crawl_id(cls, v: str) -> str:
        if not _CRAWL_ID.match(v):
            raise ValueError(f"expected a crawl id such as CC-MAIN-2023-50, got {v!r}")
        return v

    @field_validator("files")
    @classmethod
    def _files(cls, v: str | int | None) -> str | int | None:
        parse_slice(v)
        return v

    def listing_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/crawl-data/{self.crawl}/{self.format}.paths.gz"


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


def as_warc_input(cfg: CommonCrawlInput) -> warc.WarcInput:
    return warc.WarcInput(type="warc", path="", source=cfg.source, format=cfg.format,
                          max_doc_bytes=cfg.max_doc_bytes, batch_bytes=cfg.batch_bytes,
                          retries=cfg.retries, backoff=cfg.backoff)


def read(unit: WorkUnit, cfg: CommonCrawlInput, source: str, batch: BatchConfig
         ) -> Iterator[pa.Table | ErrorRecord]:
    return warc.read(unit, as_warc_input(cfg), source, batch)


register_reader("commoncrawl", CommonCrawlInput, plan, read)
