"""WARC and WET reader on fastwarc: one work unit per file.

Response records become documents with the raw HTML in a binary ``html`` column
(``text`` stays empty until the ``extract_html`` step fills it); WET conversion records
become documents with their text. Metadata columns: ``content_type``, ``charset`` (from
the HTTP header), ``fetch_date`` (WARC-Date) and ``http_status``. Non-HTML and non-200
responses are passed on with their status so the extraction step removes them with a
reason, keeping the count. Request, metadata, warcinfo and revisit records are not
documents and are skipped. A truncated record, an oversized page or a broken file (bad
header, truncated gzip, a legacy ARC file) becomes an error record and the unit goes on
or ends there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Literal

import pyarrow as pa
from fastwarc.warc import ArchiveIterator, WarcRecordType
from pydantic import Field

from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.files import expand
from corpusforge.io.http_payload import parse_response
from corpusforge.io.reader import register_reader
from corpusforge.io.retry import open_retrying
from corpusforge.io.units import WorkUnit
from corpusforge.models import Model, Size
from corpusforge.schema import make_batch

HTML, CHARSET, CONTENT_TYPE, FETCH_DATE, HTTP_STATUS = (
    "html", "charset", "content_type", "fetch_date", "http_status")
#: the metadata columns a WARC batch carries, in order
META_COLUMNS = {
    HTML: pa.binary(), CHARSET: pa.string(), CONTENT_TYPE: pa.string(), FETCH_DATE: pa.string(),
    HTTP_STATUS: pa.int32(),
}
_TYPES = {
    "auto": WarcRecordType.response | WarcRecordType.conversion,
    "warc": WarcRecordType.response,
    "wet": WarcRecordType.conversion,
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
    """Documents and error records of one WARC/WET stream (gzip detected by fastwarc)."""
    acc = _Acc()
    pos = 0
    try:
        it = iter(ArchiveIterator(stream, record_types=_TYPES[cfg.format], parse_http=False))
    except BaseException as e:  # noqa: BLE001
        _reraise_fatal(e)
        yield ErrorRecord.from_exception("read", e, file=name, position=0)
        return
    while True:
        try:
            record = next(it)
        except StopIteration:
            break
        except BaseException as e:  # noqa: BLE001 - a broken file ends here; what came before stands
            _reraise_fatal(e)
            yield ErrorRecord.from_exception("read", e, file=name, position=pos,
                                             snippet="WARC stream unreadable from here on")
            break
        pos = int(record.stream_pos)
        try:
            item = _record(record, name, pos, cfg)
        except BaseException as e:  # noqa: BLE001 - one bad record, the file goes on
            _reraise_fatal(e)
            item = ErrorRecord.from_exception("read", e, file=name, position=pos)
        if isinstance(item, ErrorRecord):
            yield item
            continue
        acc.add(**item)
        acc.nbytes += len(item[HTML] or b"") + len(item["text"])
        if len(acc) >= batch.max_docs or acc.nbytes >= cfg.batch_bytes:
            yield acc.flush(source, name)
    if len(acc):
        yield acc.flush(source, name)


def _reraise_fatal(e: BaseException) -> None:
    # fastwarc's native code reports some failures as a panic, a BaseException: those are
    # bad input like any other; interrupts and exits are not
    if isinstance(e, KeyboardInterrupt | SystemExit | GeneratorExit):
        raise e


def _record(record, name: str, pos: int, cfg: WarcInput) -> dict | ErrorRecord:
    headers = record.headers
    declared = int(record.content_length)
    rid = (headers.get("WARC-Record-ID") or "").strip().strip("<>") or None
    url = headers.get("WARC-Target-URI")
    if declared > cfg.max_doc_bytes:
        record.reader.consume()
        return ErrorRecord("read", "DocumentTooLarge",
                           f"record of {declared} bytes exceeds max_doc_bytes={cfg.max_doc_bytes}",
                           name, pos, id=rid)
    block = record.reader.read()
    if len(block) < declared:
        return ErrorRecord("read", "TruncatedRecord",
                           f"record declares {declared} bytes, the file holds {len(block)}",
                           name, pos, id=rid, snippet=snippet(block[:300]))
    if rid is None:
        return ErrorRecord("read", "BadRecord", "record has no WARC-Record-ID", name, pos,
                           snippet=snippet(block[:300]))
    date = headers.get("WARC-Date")
    if record.record_type == WarcRecordType.conversion:
        text = block.decode("utf-8", errors="replace")
        ctype = (headers.get("Content-Type") or "text/plain").split(";", 1)[0].strip().lower()
        return dict(id=rid, text=text, url=url, pos=pos, html=None, charset="utf-8",
                    content_type=ctype, fetch_date=date, http_status=None)
    resp = parse_response(block)
    return dict(id=rid, text="", url=url, pos=pos, html=resp.body, charset=resp.charset,
                content_type=resp.content_type, fetch_date=date, http_status=resp.status)


register_reader("warc", WarcInput, plan, read)
