"""Input models for web sources: WARC/WET files, Common Crawl listings, mC4/C4, the Pile, The Stack.

mC4, the Pile and The Stack are thin presets over the JSONL, Parquet and ``datasets``
readers: they only fix the field mapping and the defaults those corpora need.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from corpusforge.models import FieldMapping, Model, Size

if TYPE_CHECKING:
    from corpusforge.config import HFInput, JsonlInput, ParquetInput

#: Common Crawl's public HTTPS endpoint (``s3://commoncrawl/`` works too, with s3fs installed)
CC_BASE_URL = "https://data.commoncrawl.org/"
_CRAWL_ID = re.compile(r"^CC-MAIN-\d{4}-\d{2}$")
_SLICE = re.compile(r"^\s*(\d+)?\s*(?:(-|:)\s*(\d+)?)?\s*$")


class _Mapping(FieldMapping):
    """The same field mapping as the JSONL/Parquet inputs, with per-corpus defaults."""


class WarcInput(Model):
    """WARC (response records) or WET (conversion records) files, one work unit per file."""

    type: Literal["warc"]
    #: a path, URL or glob (fsspec), or a list of them; .gz files are decompressed on the fly
    path: str | list[str]
    source: str | None = None
    #: ``auto`` reads response records (HTML) and conversion records (WET text) alike
    format: Literal["auto", "warc", "wet"] = "auto"
    #: a page larger than this becomes an error record
    max_doc_bytes: Size = 16 * 2**20
    #: a reader batch holds at most this many bytes of raw payload
    batch_bytes: Size = 16 * 2**20
    #: retries of a failed open/read on a transient network error (per file)
    retries: int = Field(5, ge=0)
    #: first backoff in seconds, doubled after every failed attempt
    backoff: float = Field(1.0, ge=0)


def parse_slice(spec: str | int | None) -> tuple[int, int | None]:
    """``0-9`` (inclusive), ``10:20`` (half-open), ``5`` (one file), ``none`` (all) -> [start, end)."""
    if spec is None:
        return 0, None
    if isinstance(spec, int):
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


class MC4Input(_Mapping):
    """mC4 / C4 documents (``text``, ``url``, ``timestamp``).

    With ``path`` set: local or remote ``*.json.gz`` files in mC4's layout, read by the
    JSONL reader. Without it: the ``datasets`` loader ``dataset`` with config ``language``,
    streamed.
    """

    type: Literal["mc4"]
    path: str | list[str] | None = None
    #: ``datasets`` name when ``path`` is not given
    dataset: str = "allenai/c4"
    #: the language config of mC4 (``ja``, ``en`` ...); none for builders without configs
    language: str | None = "ja"
    #: ``data_files`` for the ``datasets`` loader (e.g. ``dataset: json`` over local files)
    data_files: str | list[str] | dict[str, str | list[str]] | None = None
    split: str = "train"
    num_shards: int = Field(1, ge=1)
    id: str | None = None
    metadata: list[str] = ["timestamp"]
    source: str | None = None
    unit_bytes: Size = 64 * 2**20
    max_doc_bytes: Size = 64 * 2**20

    def delegate(self) -> JsonlInput | HFInput:
        from corpusforge.config import HFInput, JsonlInput

        common = dict(text=self.text, id=self.id, url=self.url, metadata=self.metadata,
                      source=self.source, max_doc_bytes=self.max_doc_bytes)
        if self.path is not None:
            return JsonlInput(type="jsonl", path=self.path, unit_bytes=self.unit_bytes, **common)
        return HFInput(type="hf", path=self.dataset, config_name=self.language,
                       data_files=self.data_files, split=self.split,
                       num_shards=self.num_shards, **common)


class PileInput(_Mapping):
    """The Pile: ``*.jsonl.zst`` with ``text`` and ``meta.pile_set_name``."""

    type: Literal["pile"]
    path: str | list[str]
    id: str | None = None
    url: str | None = None
    metadata: list[str] = ["meta.pile_set_name"]
    source: str | None = None
    unit_bytes: Size = 64 * 2**20
    max_doc_bytes: Size = 64 * 2**20

    def delegate(self) -> JsonlInput:
        from corpusforge.config import JsonlInput

        return JsonlInput(type="jsonl", path=self.path, text=self.text, id=self.id, url=self.url,
                          metadata=self.metadata, source=self.source, unit_bytes=self.unit_bytes,
                          max_doc_bytes=self.max_doc_bytes)


#: RedPajama's GitHub extension allow-list, the one the LLM-jp code subset used
STACK_EXTENSIONS = [
    "asm", "bat", "cmd", "c", "h", "cs", "cpp", "hpp", "c++", "h++", "cc", "hh", "C", "H", "cmake",
    "css", "dockerfile", "f90", "f", "f03", "f08", "f77", "f95", "for", "fpp", "go", "hs", "html",
    "java", "js", "jl", "lua", "md", "markdown", "php", "php3", "php4", "php5", "phps", "phpt", "pl",
    "pm", "pod", "perl", "ps1", "psd1", "psm1", "py", "rb", "rs", "sql", "scala", "sh", "bash",
    "command", "zsh", "ts", "tsx", "tex", "vb", "Dockerfile", "makefile", "xml", "rst", "m", "smali",
]


class StackInput(_Mapping):
    """The Stack: Parquet with ``content``, ``path`` and ``lang`` columns; an extension allow-list.

    Files whose extension is not in ``extensions`` are removed by the ``code_route`` step
    (reason ``extension``); the reader keeps every row so that each is accounted for.
    """

    type: Literal["stack"]
    path: str | list[str]
    text: str = "content"
    id: str | None = "hexsha"
    url: str | None = None
    metadata: list[str] = ["max_stars_repo_path", "lang"]
    source: str | None = None
    unit_bytes: Size = 256 * 2**20
    max_doc_bytes: Size = 64 * 2**20

    def delegate(self) -> ParquetInput:
        from corpusforge.config import ParquetInput

        return ParquetInput(type="parquet", path=self.path, text=self.text, id=self.id, url=self.url,
                            metadata=self.metadata, source=self.source, unit_bytes=self.unit_bytes,
                            max_doc_bytes=self.max_doc_bytes)


WEB_INPUT_TAGS = {"warc", "commoncrawl", "mc4", "pile", "stack"}
