"""Samples of removed documents, taken while the rejects are written, for the run report.

Per removal reason a step keeps the :data:`PER_REASON` documents of smallest id hash: the
choice depends only on the ids, never on batches, workers or the order units end, and two
samples merge by keeping the smallest hashes of both (a run's sample is that of any split
of it). A sample is a small plain dict (text cut to :data:`TEXT_CHARS`), stored in the
step's stats, so the report reads no data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import id_hash
from corpusforge.schema import ID, LANG, REJECT_PREFIX, REMOVED_REASON, SOURCE, TEXT, URL

#: documents kept per reason and step
PER_REASON = 8
#: characters of text kept per sampled document
TEXT_CHARS = 1000
#: the largest duplicate clusters a dedup stage keeps
CLUSTERS = 10

Sample = dict[str, Any]


def take(removed: pa.Table, with_text: bool = True, k: int = PER_REASON) -> dict[str, list[Sample]]:
    """Up to ``k`` samples per reason of ``removed`` (rows with ``REMOVED_REASON``)."""
    if removed.num_rows == 0:
        return {}
    hashes = id_hash(removed.column(ID))
    reasons = pc.dictionary_encode(removed.column(REMOVED_REASON).combine_chunks().cast(pa.string()))
    codes = np.asarray(pc.fill_null(reasons.indices, -1).to_numpy(zero_copy_only=False))
    out: dict[str, list[Sample]] = {}
    for code, reason in enumerate(reasons.dictionary.to_pylist()):
        rows = np.flatnonzero(codes == code)
        if rows.size > k:
            rows = rows[np.argsort(hashes[rows], kind="stable")[:k]]
        out[reason] = sorted((_sample(removed, int(i), int(hashes[i]), with_text) for i in rows),
                             key=lambda s: s["hash"])
    return out


def merge(into: dict[str, list[Sample]], other: dict[str, list[Sample]], k: int = PER_REASON) -> None:
    """``into`` becomes the sample of both (the ``k`` smallest hashes per reason)."""
    for reason, samples in other.items():
        both = {s["hash"]: s for s in [*into.get(reason, []), *samples]}
        into[reason] = [both[h] for h in sorted(both)[:k]]


def largest_clusters(kept: pa.Table, sizes: np.ndarray, k: int = CLUSTERS) -> list[Sample]:
    """The ``k`` largest clusters (size above 1) among ``kept``, the documents that clusters
    keep, with ``sizes`` their clusters' sizes: largest first, ties by the kept document's id,
    so that merging those of any split of the documents (:func:`merge_clusters`) gives the same."""
    rows = np.flatnonzero(sizes > 1)
    if rows.size > k:  # only the sizes that can make the top k (ties at the edge sorted below)
        rows = rows[sizes[rows] >= np.partition(sizes[rows], -k)[-k]]
    if rows.size == 0:
        return []
    sub = kept.take(pa.array(rows))
    order = pc.sort_indices(pa.table({"size": pa.array(-sizes[rows].astype(np.int64)), "id": sub.column(ID)}),
                            sort_keys=[("size", "ascending"), ("id", "ascending")])
    hashes = id_hash(sub.column(ID))
    return [{**_sample(sub, i, int(hashes[i]), True), "size": int(sizes[rows[i]])}
            for i in order.to_pylist()[:k]]


def merge_clusters(into: list[Sample], other: list[Sample], k: int = CLUSTERS) -> list[Sample]:
    """The ``k`` largest clusters of both lists (a cluster is listed once, by its kept id)."""
    both = {c["id"]: c for c in [*into, *other]}
    return sorted(both.values(), key=lambda c: (-c["size"], str(c["id"])))[:k]


def _sample(t: pa.Table, i: int, h: int, with_text: bool) -> Sample:
    def value(column: str) -> Any:
        return _plain(t.column(column)[i].as_py()) if column in t.column_names else None

    text = value(TEXT) if with_text else None
    out: Sample = {"hash": f"{h:016x}", "id": value(ID), "source": value(SOURCE), "url": value(URL),
                   "lang": value(LANG)}
    if isinstance(text, str):
        out["text"] = text[:TEXT_CHARS]
        out["text_chars"] = len(text)
    out["signals"] = {c[len(REJECT_PREFIX):]: v for c in sorted(t.column_names)
                      if c.startswith(REJECT_PREFIX) and (v := value(c)) is not None}
    return out


def _plain(v: Any) -> Any:
    """A value JSON can hold: numbers and strings as they are, anything else as text."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)
