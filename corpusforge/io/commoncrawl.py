"""Common Crawl: a crawl id and a format resolve to the crawl's path listing; a slice of it
is read file by file, each file one work unit, streamed (never landed on disk) with
retries and backoff on transient HTTP errors."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from typing import Literal

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from corpusforge.errors import ErrorRecord
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.reader import register_reader
from corpusforge.io.retry import open_retrying
from corpusforge.io.storage import filesystem
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


#: the list of Common Crawl's snapshots, newest first (for ``crawls: latest`` on its endpoint)
COLLINFO_URL = "https://index.commoncrawl.org/collinfo.json"


class CommonCrawlInput(Model):
    """A slice of the WARC or WET path listing of one or more Common Crawl snapshots."""

    type: Literal["commoncrawl"]
    #: crawl id, e.g. CC-MAIN-2023-50
    crawl: str | None = None
    #: several crawls: a list of ids, or ``latest`` (the newest the endpoint or mirror has)
    crawls: Literal["latest"] | list[str] | None = None
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
    def _crawl_id(cls, v: str | None) -> str | None:
        if v is not None:
            _check_crawl_id(v)
        return v

    @field_validator("crawls")
    @classmethod
    def _crawl_ids(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list):
            if not v:
                raise ValueError("name at least one crawl id, or write `latest`")
            for crawl in v:
                _check_crawl_id(crawl)
        return v

    @model_validator(mode="after")
    def _one_of(self) -> CommonCrawlInput:
        if (self.crawl is None) == (self.crawls is None):
            raise ValueError("give `crawl: <id>` or `crawls: [<id>, ...] | latest`, not both or neither")
        return self

    @field_validator("files")
    @classmethod
    def _files(cls, v: str | int | None) -> str | int | None:
        parse_slice(v)
        return v

    def listing_url(self, crawl: str | None = None) -> str:
        return f"{self.base_url.rstrip('/')}/crawl-data/{crawl or self.crawl}/{self.format}.paths.gz"


def _check_crawl_id(v: str) -> None:
    if not _CRAWL_ID.match(v):
        raise ValueError(f"expected a crawl id such as CC-MAIN-2023-50, got {v!r}")


def _fetch(url: str, cfg: CommonCrawlInput) -> bytes:
    try:
        # opening and reading are retried inside; a permanent error is raised at once
        with open_retrying(url, cfg.retries, cfg.backoff) as f:
            return f.read()
    except OSError:
        raise
    except Exception as e:  # noqa: BLE001 - HTTP client errors: the run is refused up front
        raise OSError(f"cannot fetch {url}: {type(e).__name__}: {e}") from e


def listing(cfg: CommonCrawlInput, crawl: str | None = None) -> list[str]:
    """A crawl's ``<format>.paths.gz``: file paths relative to the base URL."""
    data = gzip.decompress(_fetch(cfg.listing_url(crawl), cfg))
    return [line for line in data.decode("utf-8").splitlines() if line.strip()]


def crawl_ids(cfg: CommonCrawlInput) -> list[str]:
    """The crawls the input reads: its ``crawl``, its list, or the newest one there is."""
    if cfg.crawl is not None:
        return [cfg.crawl]
    if isinstance(cfg.crawls, list):
        return list(cfg.crawls)
    return [latest_crawl(cfg)]


def latest_crawl(cfg: CommonCrawlInput) -> str:
    """The newest crawl: from Common Crawl's list of crawls on its own endpoint; in a mirror
    (a folder or bucket with ``crawl-data/``), the newest id among its crawl folders."""
    if cfg.base_url.rstrip("/") == CC_BASE_URL.rstrip("/"):
        ids = [c["id"] for c in json.loads(_fetch(COLLINFO_URL, cfg)) if _CRAWL_ID.match(c.get("id", ""))]
    else:
        fs, root = filesystem(f"{cfg.base_url.rstrip('/')}/crawl-data")
        ids = [p.rstrip("/").rpartition("/")[2] for p in fs.ls(root, detail=False)]
        ids = [i for i in ids if _CRAWL_ID.match(i)]
    if not ids:
        raise OSError(f"no crawl found at {cfg.base_url} (crawl-data/CC-MAIN-YYYY-WW/)")
    # ids are CC-MAIN-<year>-<week>: their text order is their time order
    return max(ids)


def plan(cfg: CommonCrawlInput, input_index: int) -> list[WorkUnit]:
    start, end = parse_slice(cfg.files)
    base = cfg.base_url.rstrip("/")
    units = []
    for crawl in crawl_ids(cfg):
        paths = listing(cfg, crawl)
        if start >= len(paths):
            raise ValueError(f"files {cfg.files!r}: the {cfg.format} listing of {crawl} has "
                             f"{len(paths)} files")
        units += [WorkUnit(0, input_index, f"{base}/{p}", p) for p in paths[start:end]]
    return units


def as_warc_input(cfg: CommonCrawlInput) -> warc.WarcInput:
    return warc.WarcInput(type="warc", path="", source=cfg.source, format=cfg.format,
                          max_doc_bytes=cfg.max_doc_bytes, batch_bytes=cfg.batch_bytes,
                          retries=cfg.retries, backoff=cfg.backoff)


def read(unit: WorkUnit, cfg: CommonCrawlInput, source: str, batch: BatchConfig
         ) -> Iterator[pa.Table | ErrorRecord]:
    return warc.read(unit, as_warc_input(cfg), source, batch)


register_reader("commoncrawl", CommonCrawlInput, plan, read)
