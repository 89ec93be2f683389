"""The rows ``corpusforge inspect`` shows: removed documents from ``_rejects/``, kept ones
from the output, and those nearest a step's threshold. Filters run on the Parquet datasets,
so only the rows shown are read into memory (a JSONL output is read whole)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from corpusforge.io.atomic import read_json
from corpusforge.io.layout import REJECTS_DIR, OutputLayout, list_shards
from corpusforge.io.output import open_output, read_output
from corpusforge.schema import KEEP, LANG, REASON, REJECT_PREFIX, STEP


def removed_rows(out: str, step: str | None, reason: str | None, lang: str | None, n: int) -> list[dict]:
    data = _rejects(out)
    expr = _lang(data.schema, lang)
    if step is not None:
        expr = _and(expr, ds.field(STEP) == step)
    if reason is not None:
        # a route's reasons say `<branch>/<label>:<reason>`: the last part names it too
        expr = _and(expr, (ds.field(REASON) == reason) | pc.ends_with(ds.field(REASON), f":{reason}"))
    return data.head(n, filter=expr).to_pylist() if expr is not None else data.head(n).to_pylist()


def kept_rows(out: str, lang: str | None, n: int) -> list[dict]:
    data = _documents(out)
    expr = _lang(data.schema, lang)
    return data.head(n, filter=expr).to_pylist() if expr is not None else data.head(n).to_pylist()


def compare_rows(out: str, step: str, signal: str | None, lang: str | None, n: int
                 ) -> tuple[str, dict[str, float], list[dict], list[dict]]:
    """``(signal, thresholds, kept, removed)``: the documents of ``step`` nearest one of its
    thresholds (from ``stats.json``), each with its signal value as ``__value``."""
    stats = read_json(OutputLayout(out).stats_file) or {}
    hists = next((s.get("histograms", {}) for s in stats.get("steps", []) if s.get("name") == step), {})
    if signal is None:
        signal = next((k for k, h in hists.items() if h.get("thresholds")), None)
        if signal is None:
            raise ValueError(f"step {step!r} has no signal with a threshold in stats.json; name one with --signal")
    threshold = {k: float(v) for k, v in hists.get(signal, {}).get("thresholds", {}).items()}
    docs = _documents(out)
    where = _lang(docs.schema, lang)
    decided = f"{step}_{KEEP}"
    if decided in docs.schema.names and signal in docs.schema.names:
        # annotate mode: the output holds both sides, with the step's decision
        table = docs.to_table(filter=where)
        keep = pc.fill_null(table.column(decided), True)
        return (signal, threshold, _nearest(table.filter(keep), signal, threshold, n),
                _nearest(table.filter(pc.invert(keep)), signal, threshold, n))
    rejects = _rejects(out)
    column = f"{REJECT_PREFIX}{signal}"
    if column not in rejects.schema.names:
        raise ValueError(f"the rejects of {step!r} have no {column!r} column")
    removed = rejects.to_table(filter=_and(_lang(rejects.schema, lang), ds.field(STEP) == step))
    kept = docs.to_table(filter=where) if signal in docs.schema.names else None
    return (signal, threshold, [] if kept is None else _nearest(kept, signal, threshold, n),
            _nearest(removed, column, threshold, n))


def _nearest(table: pa.Table, column: str, thresholds: dict[str, float], n: int) -> list[dict]:
    values = pc.cast(table.column(column), pa.float64())
    distance = values  # no threshold: the smallest values
    if thresholds:
        distance = pc.min_element_wise(*(pc.abs(pc.subtract(values, t)) for t in thresholds.values()))
    order = pc.sort_indices(pc.fill_null(distance, float("inf")))
    rows = table.take(order[:n]).to_pylist()
    for r in rows:
        r["__value"] = r.get(column)
    return rows


def _rejects(out: str) -> ds.Dataset:
    if not list_shards(f"{out.rstrip('/')}/{REJECTS_DIR}"):
        raise ValueError(f"{out} has no removed documents ({REJECTS_DIR}/ is empty or missing)")
    return open_output(out, REJECTS_DIR)


def _documents(out: str) -> ds.Dataset:
    if list_shards(out):
        return open_output(out)
    return ds.dataset(read_output(out))  # a JSONL output


def _lang(schema: pa.Schema, lang: str | None) -> ds.Expression | None:
    if lang is None:
        return None
    for column in (LANG, f"{REJECT_PREFIX}{LANG}"):
        if column in schema.names:
            return ds.field(column) == lang
    raise ValueError(f"these documents have no {LANG!r} column to select a language by")


def _and(a: ds.Expression | None, b: ds.Expression | None) -> ds.Expression | None:
    return b if a is None else a if b is None else a & b
