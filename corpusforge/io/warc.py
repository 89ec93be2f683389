"""WARC and WET reader: one work unit per file.

Response records become documents with the raw HTML in a binary ``html`` column
(``text`` stays empty until the ``extract_html`` step fills it); WET conversion records
become documents with their text. Metadata columns: ``content_type``, ``charset`` (from
the HTTP header), ``fetch_date`` (WARC-Date) and ``http_status``. Non-HTML and non-200
responses are passed on with their status so the extraction step removes them with a
reason, keeping the count. Request, metadata, warcinfo and revisit records are not
documents and are skipped. A truncated or corrupt record, a lying Content-Length, a broken
gzip member, an oversized page or bytes that are not WARC (a legacy ARC file) become an
error record each, and the file goes on at the next intact record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Literal

import pyarrow as pa
from pydantic import Field

from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.files import expand
from corpusforge.io.http_payload import PayloadTooLarge, parse_response
from corpusforge.io.reader import register_reader
from corpusforge.io.retry import open_retrying
from corpusforge.io.storage import StorageOptions
from corpusforge.io.units import WorkUnit
from corpusforge.io.warc_records import Damage, Record, records
from corpusforge.models import Model, Size
from corpusforge.schema import make_batch

HTML, CHARSET, CONTENT_TYPE, FETCH_DATE, HTTP_STATUS = (
    "html", "charset", "content_type", "fetch_date", "http_status")
#: the metadata columns a WARC batch carries, in order
META_COLUMNS = {
    HTML: pa.binary(), CHARSET: pa.string(), CONTENT_TYPE: pa.string(), FETCH_DATE: pa.string(),
    HTTP_STATUS: pa.int32(),
}
#: the WARC-Type values that are documents, per ``format``
_TYPES = {
    "auto": frozenset({"response", "conversion"}),
    "warc": frozenset({"response"}),
    "wet": frozenset({"conversion"}),
}


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
    #: fsspec options of the files' bucket (credentials, endpoint), as for jsonl inputs
    storage_options: StorageOptions = {}


def plan(cfg: WarcInput, input_index: int) -> list[WorkUnit]:
    return [WorkUnit(0, input_index, path, name) for path, name in expand(cfg.path)]


def read(unit: WorkUnit, cfg: WarcInput, source: str, batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    try:
        stream = open_retrying(unit.path, cfg.retries, cfg.backoff)
    except Exception as e:  # noqa: BLE001 - an unreadable file is one error record
        yield ErrorRecord.from_exception("read", e, file=unit.name, position=0)
        return
    with stream:
        yield from read_stream(stream, unit.name, cfg, source, batch)


class _Acc:
    """Columns of the batch being built."""

    def __init__(self) -> None:
        self.cols: dict[str, list] = {k: [] for k in ("id", "text", "url", "pos", *META_COLUMNS)}
        self.nbytes = 0

    def add(self, **values) -> None:
        for k, v in values.items():
            self.cols[k].append(v)

    def __len__(self) -> int:
        return len(self.cols["id"])

    def flush(self, source: str, file: str) -> pa.Table:
        c = self.cols
        extra = {k: pa.array(c[k], t) for k, t in META_COLUMNS.items()}
        table = make_batch(c["id"], c["text"], source, file, c["pos"], c["url"], extra)
        self.__init__()
        return table


def read_stream(
    stream: IO[bytes], name: str, cfg: WarcInput, source: str, batch: BatchConfig
) -> Iterator[pa.Table | ErrorRecord]:
    """Documents and error records of one WARC/WET stream (plain or gzip), in file order.

    Damage (a cut or corrupt record, a lying Content-Length, a broken gzip member) is one
    error record at the record's position; reading resumes at the next intact record
    (``io/warc_records.py``)."""
    acc = _Acc()
    wanted = _TYPES[cfg.format]
    pos = 0
    try:
        for item in records(stream, cfg.max_doc_bytes, wanted):
            pos = item.pos
            if isinstance(item, Damage):
                yield _damage(item, name)
                continue
            if item.headers.get("warc-type", "").lower() not in wanted:
                continue
            try:
                doc = _document(item, name, cfg)
            except Exception as e:  # noqa: BLE001 - one bad record, the file goes on
                doc = ErrorRecord.from_exception("read", e, file=name, position=pos, id=_record_id(item.headers))
            if isinstance(doc, ErrorRecord):
                yield doc
                continue
            acc.add(**doc)
            acc.nbytes += len(doc[HTML] or b"") + len(doc["text"])
            if len(acc) >= batch.max_docs or acc.nbytes >= cfg.batch_bytes:
                yield acc.flush(source, name)
    except Exception as e:  # noqa: BLE001 - the stream itself failed (I/O): what came before stands
        yield ErrorRecord.from_exception("read", e, file=name, position=pos,
                                         snippet="WARC stream unreadable from here on")
    if len(acc):
        yield acc.flush(source, name)


def _record_id(headers: dict[str, str]) -> str | None:
    return headers.get("warc-record-id", "").strip().strip("<>") or None


def _target_uri(headers: dict[str, str]) -> str | None:
    """The record's URL; wget writes it in the angle brackets of the WARC 1.0 grammar."""
    uri = headers.get("warc-target-uri")
    if uri is not None and uri.startswith("<") and uri.endswith(">"):
        return uri[1:-1]
    return uri


def _damage(d: Damage, name: str) -> ErrorRecord:
    return ErrorRecord("read", d.error, d.message, name, d.pos, id=_record_id(d.headers),
                       snippet=snippet(d.snippet) if d.snippet else None)


def _document(rec: Record, name: str, cfg: WarcInput) -> dict | ErrorRecord:
    headers, block = rec.headers, rec.block or b""
    rid = _record_id(headers)
    if rid is None:
        return ErrorRecord("read", "BadRecord", "record has no WARC-Record-ID", name, rec.pos,
                           snippet=snippet(block[:300]))
    url, date = _target_uri(headers), headers.get("warc-date")
    if headers.get("warc-type", "").lower() == "conversion":
        text = block.decode("utf-8", errors="replace")
        ctype = (headers.get("content-type") or "text/plain").split(";", 1)[0].strip().lower()
        return dict(id=rid, text=text, url=url, pos=rec.pos, html=None, charset="utf-8",
                    content_type=ctype, fetch_date=date, http_status=None)
    try:
        resp = parse_response(block, limit=cfg.max_doc_bytes)
    except PayloadTooLarge as e:
        return ErrorRecord("read", "DocumentTooLarge", f"{e} (max_doc_bytes)", name, rec.pos, id=rid)
    return dict(id=rid, text="", url=url, pos=rec.pos, html=resp.body, charset=resp.charset,
                content_type=resp.content_type, fetch_date=date, http_status=resp.status)


register_reader("warc", WarcInput, plan, read)
