"""``extract_html``: HTML payloads to main text with trafilatura (or resiliparse), in an isolated
subprocess.

Rows without an ``html`` payload (WET text, JSONL documents) pass through untouched.
Rows with one are removed with a reason when the response is not a 200 (``http_status``),
not HTML (``content_type``), or has no main text (``no_text``). A page that times out,
kills the worker or raises becomes an error record: the step raises for the batch, the
runner bisects it down to the failing page, and the results already computed for the
other pages are served from a small memo so no page is extracted twice.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from corpusforge.extract.pool import ExtractorProcess, PageResult
from corpusforge.io.warc import CHARSET, CONTENT_TYPE, HTML, HTTP_STATUS
from corpusforge.models import PositiveFloat, Size, refusal
from corpusforge.schema import FILE, ID, POS, REMOVED_REASON, TEXT, URL
from corpusforge.steps.base import Filter, Step, StepConfig, StepResult
from corpusforge.steps.registry import register

HTML_TYPES = ["text/html", "application/xhtml+xml"]
#: an HTTP status code
HttpStatus = Annotated[int, Field(ge=100, le=599)]


class ExtractionError(RuntimeError):
    """One or more pages of the batch failed; the runner isolates them."""


#: keys only trafilatura has: refused, when set, with ``extractor: resiliparse``
TRAFILATURA_ONLY = ("focus", "fast", "deduplicate")
#: trafilatura's own names for ``focus``, refused with the key to write instead
_FAVOR_KEYS = {"favor_precision": "precision", "favor_recall": "recall"}


class ExtractConfig(StepConfig):
    #: the HTML-to-text library: trafilatura (main-text extraction, the default) or resiliparse
    #: (rule-based main content, several times faster)
    extractor: Literal["trafilatura", "resiliparse"] = "trafilatura"
    #: resiliparse: main content only; false keeps all visible text (trafilatura always keeps
    #: the main content only)
    main_content: bool = True
    #: trafilatura's trade-off (its favor_precision / favor_recall). recall, the default, runs
    #: the fallback extractors only on a page whose main extraction is short, and so is faster
    #: than precision (what datatrove and FineWeb use) at an equal or better F1 on the
    #: reference pages; precision keeps less of a page's frame (docs/ingestion.md)
    focus: Literal["recall", "balanced", "precision"] = "recall"
    include_comments: bool = False
    include_tables: bool = True
    #: keep link targets in the text (trafilatura: ``[text](url)``, resiliparse: ``text (url)``)
    include_links: bool = False
    #: trafilatura's fast mode: no fallback extractors
    fast: bool = False
    deduplicate: bool = False
    #: responses with another content type are removed (``content_type``); a missing header passes
    content_types: list[str] = HTML_TYPES
    #: responses with another HTTP status are removed (``http_status``)
    statuses: list[HttpStatus] = [200]
    #: seconds one page may take before it becomes an error record
    timeout: PositiveFloat = 30.0
    #: memory one page may add to the extraction process (an address-space limit; none: no limit)
    memory_limit: Size | None = 4 * 2**30
    #: subprocess: isolated with timeout and memory limit; inline: in this process (no timeout)
    isolation: Literal["subprocess", "inline"] = "subprocess"
    #: drop the raw ``html`` column once the text is extracted
    drop_html: bool = True

    @model_validator(mode="before")
    @classmethod
    def _check_favor_keys(cls, data: object) -> object:
        if isinstance(data, dict) and (old := [k for k in _FAVOR_KEYS if k in data]):
            raise refusal(cls.__name__, [((k,), f"{k} is now focus: {_FAVOR_KEYS[k]} (the default is "
                                          "focus: recall)", data[k]) for k in old])
        return data

    @model_validator(mode="after")
    def _check_extractor(self) -> ExtractConfig:
        if self.extractor == "resiliparse":
            bad = [k for k in TRAFILATURA_ONLY if k in self.model_fields_set]
            why = "is a trafilatura option; resiliparse has no equivalent"
        else:
            bad = ["main_content"] if "main_content" in self.model_fields_set and not self.main_content else []
            why = "false needs extractor: resiliparse (trafilatura always keeps the main content only)"
        if bad:
            raise refusal(type(self).__name__, [((k,), f"{k} {why}", getattr(self, k)) for k in bad])
        return self


@register
class ExtractHtml(Step[ExtractConfig]):
    """Main text of HTML pages (trafilatura or resiliparse), charset from header, meta tag or
    detection."""

    name = "extract_html"
    #: the codec the text was decoded with (the raw ``html`` column is dropped by default)
    adds = (CHARSET,)

    def setup(self) -> None:
        self._proc: ExtractorProcess | None = None
        self._memo: dict[tuple, PageResult] = {}
        #: pages extracted and seconds spent inside the extractor, for benchmarks and reports
        self.pages = 0
        self.extractor_seconds = 0.0

    def _options(self) -> dict:
        """The config in the chosen library's own keyword arguments."""
        c = self.config
        if c.extractor == "resiliparse":
            # resiliparse has no table switch: tables are skipped as elements
            return dict(main_content=c.main_content, comments=c.include_comments, links=c.include_links,
                        skip_elements=None if c.include_tables else ["table"])
        return dict(favor_precision=c.focus == "precision", favor_recall=c.focus == "recall",
                    include_comments=c.include_comments, include_tables=c.include_tables,
                    include_links=c.include_links, fast=c.fast, deduplicate=c.deduplicate)

    def _extract(self, tasks: list[tuple[bytes, str | None, str | None]]) -> list[PageResult]:
        c = self.config
        if c.isolation == "inline":
            from corpusforge.extract.worker import extract_page

            out = []
            for raw, charset, url in tasks:
                try:
                    text, codec, seconds = extract_page(raw, charset, url, self._options(), c.extractor)
                    out.append(PageResult(text=text, codec=codec, seconds=seconds))
                except Exception as e:  # noqa: BLE001 - reported per page like the subprocess does
                    out.append(PageResult(error=type(e).__name__, message=str(e)))
            return out
        if self._proc is None:
            self._proc = ExtractorProcess(self._options(), c.timeout, c.memory_limit, c.extractor)
        return self._proc.run(tasks)

    def apply(self, batch: pa.Table) -> StepResult:
        c = self.config
        n = batch.num_rows
        if HTML not in batch.column_names or n == 0:
            return StepResult(batch)
        html = batch.column(HTML)
        pending = html.is_valid().to_numpy(zero_copy_only=False)
        bad_status = pending & _not_in(batch, HTTP_STATUS, c.statuses)
        bad_type = pending & ~bad_status & _not_in(batch, CONTENT_TYPE, [t.lower() for t in c.content_types])
        todo = np.flatnonzero(pending & ~bad_status & ~bad_type)

        keys = _keys(batch, todo)
        missing = [k for k, key in enumerate(keys) if key not in self._memo]
        if missing:
            charset = _col(batch, CHARSET)
            url = _col(batch, URL)
            rows = todo[missing]
            payloads = html.take(pa.array(rows)).to_pylist()
            tasks = [(raw, charset[i], url[i]) for raw, i in zip(payloads, rows.tolist())]
            for k, res in zip(missing, self._extract(tasks)):
                self._memo[keys[k]] = res
                self.pages += 1
                self.extractor_seconds += res.seconds
        results = [self._memo[key] for key in keys]
        failed = [(key, r) for key, r in zip(keys, results) if r.error is not None]
        if failed:
            key, r = failed[0]
            if batch.num_rows == 1:  # isolated: the runner records it, nothing will ask again
                del self._memo[key]
            raise ExtractionError(f"{len(failed)} page(s) failed; first {key[0]}: {r.error}: {r.message}")
        for key in keys:
            del self._memo[key]

        texts = batch.column(TEXT).to_pylist() if len(todo) else None
        codecs = _col(batch, CHARSET)
        no_text = np.zeros(n, dtype=bool)
        for i, r in zip(todo.tolist(), results):
            texts[i] = r.text
            codecs[i] = r.codec
            no_text[i] = not r.text.strip()
        out = batch
        if len(todo):
            out = out.set_column(out.schema.get_field_index(TEXT), TEXT, pa.array(texts, pa.string()))
            cs = pa.array(codecs, pa.string())
            ci = out.schema.get_field_index(CHARSET)
            out = out.set_column(ci, CHARSET, cs) if ci >= 0 else out.append_column(CHARSET, cs)
        if c.drop_html:
            out = out.drop_columns([HTML])
        keep, reason = Filter.first_failure(
            [("http_status", bad_status), ("content_type", bad_type), ("no_text", no_text)], n)
        if keep.all():
            return StepResult(out)
        mask = pa.array(keep)
        removed = out.filter(pc.invert(mask)).append_column(REMOVED_REASON, reason.filter(pc.invert(mask)))
        return StepResult(out.filter(mask), removed)

    def close(self) -> None:
        if getattr(self, "_proc", None) is not None:
            self._proc.close()
            self._proc = None


def _col(batch: pa.Table, name: str) -> list:
    return batch.column(name).to_pylist() if name in batch.column_names else [None] * batch.num_rows


def _not_in(batch: pa.Table, name: str, allowed: list) -> np.ndarray:
    """True where the column holds a value outside ``allowed``; a null (unknown) passes."""
    if name not in batch.column_names:
        return np.zeros(batch.num_rows, dtype=bool)
    col = batch.column(name)
    outside = pc.invert(pc.is_in(col, value_set=pa.array(allowed, col.type)))
    return pc.and_(outside, pc.is_valid(col)).to_numpy(zero_copy_only=False)


def _keys(batch: pa.Table, rows: np.ndarray) -> list[tuple]:
    """A page's identity for the memo: id plus provenance (ids alone may repeat)."""
    if not len(rows):
        return []
    idx = pa.array(rows)
    cols = [batch.column(c).take(idx).to_pylist() if c in batch.column_names else [None] * len(rows)
            for c in (ID, FILE, POS)]
    return list(zip(*cols))
