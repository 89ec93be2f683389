"""Applying a mix plan to one batch: validation rows, repeated train rows, removed rows.

Everything is a column operation: the subset of a row is a dictionary index, its plan
parameters are gathered from small per-subset arrays, repeats are ``np.repeat`` of row
indices, and the shuffle key is a hash of (id, copy number).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import GOLDEN, id_hash, mix64
from corpusforge.mix.buckets import NB_DEFAULT, buckets
from corpusforge.mix.config import MixConfig
from corpusforge.schema import ID, LANG, NO_LANG, REMOVED_REASON, SOURCE

EPOCH, KEY, SUBSET = "epoch", "__key", "__subset"
NO_TARGET, DOWNSAMPLED = "no_target", "downsampled"
_SEP = "\x1f"


def languages(table: pa.Table, cfg: MixConfig) -> pa.Array:
    """Each row's language: the source's configured ``lang``, else the ``lang`` column, else ``und``."""
    n = table.num_rows
    lang = table.column(LANG).cast(pa.string()) if LANG in table.column_names else pa.nulls(n, pa.string())
    source = table.column(SOURCE)
    for name, s in cfg.sources.items():
        if s.lang is not None:
            lang = pc.if_else(pc.equal(source, name), pa.scalar(s.lang), lang)
    return pc.fill_null(lang, NO_LANG)


def subset_keys(table: pa.Table, cfg: MixConfig) -> tuple[pa.Array, pa.Array]:
    """``(lang, "source\\x1flang")`` per row."""
    lang = languages(table, cfg)
    key = pc.binary_join_element_wise(pc.fill_null(table.column(SOURCE), ""), lang, _SEP)
    if isinstance(key, pa.ChunkedArray):
        key = key.combine_chunks()
    if isinstance(lang, pa.ChunkedArray):
        lang = lang.combine_chunks()
    return lang, key


def split_key(key: str) -> tuple[str, str]:
    source, _, lang = key.partition(_SEP)
    return source, lang


def join_key(source: str, lang: str) -> str:
    return f"{source}{_SEP}{lang}"


def mix_buckets(table: pa.Table, cfg: MixConfig) -> np.ndarray:
    return buckets(id_hash(table.column(ID), f"mix:{cfg.seed}"))


def select(table: pa.Table, plans: dict[str, dict], cfg: MixConfig
           ) -> tuple[pa.Table, pa.Table, pa.Table]:
    """``(validation, train copies, removed)`` of one batch.

    ``plans[key]`` holds ``val_from``, ``repeats`` and ``frac_below`` of a subset; a subset
    with no plan (its language has no target) is removed. Train copies carry an ``epoch``
    column (0 for the first copy) and a ``__key`` shuffle key; removed rows a ``reason``.
    """
    lang, key = subset_keys(table, cfg)
    table = _set(_set(table, LANG, lang), SUBSET, key)
    enc = key.dictionary_encode()
    idx = enc.indices.to_numpy(zero_copy_only=False)
    names = enc.dictionary.to_pylist()
    val_from = np.array([plans[k]["val_from"] if k in plans else NB_DEFAULT for k in names], np.int64)
    repeats = np.array([plans[k]["repeats"] if k in plans else 0 for k in names], np.int64)
    frac = np.array([plans[k]["frac_below"] if k in plans else 0 for k in names], np.int64)
    planned = np.array([k in plans for k in names], bool)
    b = mix_buckets(table, cfg)
    is_val = planned[idx] & (b >= val_from[idx])
    copies = np.where(is_val, 0, repeats[idx] + (b < frac[idx]))
    removed_mask = ~is_val & (copies == 0)
    reasons = np.where(planned[idx], DOWNSAMPLED, NO_TARGET)

    removed = table.filter(pa.array(removed_mask)).drop_columns([SUBSET])
    removed = removed.append_column(REMOVED_REASON, pa.array(reasons[removed_mask]))
    validation = table.filter(pa.array(is_val))

    rows = np.repeat(np.arange(table.num_rows), copies)
    first = np.repeat(np.cumsum(copies) - copies, copies)
    epoch = np.arange(len(rows)) - first
    train = table.take(pa.array(rows)).drop_columns([SUBSET])
    train = train.append_column(EPOCH, pa.array(epoch.astype(np.int32)))
    h = id_hash(train.column(ID), f"shuffle:{cfg.seed}")
    with np.errstate(over="ignore"):
        shuffle = mix64(h + epoch.astype(np.uint64) * GOLDEN)
    train = train.append_column(KEY, pa.array(shuffle))
    return validation, train, removed


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, values) if i >= 0 else table.append_column(name, values)
