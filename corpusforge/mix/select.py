"""Applying a mix plan to one batch: validation rows, repeated train rows, removed rows.

Everything is a column operation: the subset of a row is a dictionary index, its plan
parameters are gathered from small per-subset arrays, repeats are ``np.repeat`` of row
indices, and the shuffle key is a hash of (id, copy number).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import GOLDEN, id_hash, mix64
from corpusforge.mix.buckets import NB_DEFAULT, buckets
from corpusforge.mix.config import MixConfig
from corpusforge.schema import ID, LANG, NO_LANG, REMOVED_REASON, SOURCE, TOKEN_IDS, token_counts

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


@dataclass(frozen=True)
class TrainCopies:
    """The train copies of a batch, as row numbers into it: made into tables one output shard
    at a time, so a batch upsampled ``k`` times never holds ``k`` copies of its text."""

    #: the batch (with its mix language, without the subset column)
    table: pa.Table
    #: per copy: its row in ``table``, its copy number (0 for the first) and its shuffle key
    rows: np.ndarray
    epoch: np.ndarray
    key: np.ndarray

    @property
    def num_rows(self) -> int:
        return len(self.rows)

    def take(self, which: np.ndarray) -> pa.Table:
        """The copies ``which`` (positions in ``rows``), with ``epoch`` and ``__key`` columns."""
        t = self.table.take(pa.array(self.rows[which]))
        t = t.append_column(EPOCH, pa.array(self.epoch[which].astype(np.int32)))
        return t.append_column(KEY, pa.array(self.key[which]))

    def by_shard(self, shards: int) -> Iterator[tuple[int, pa.Table]]:
        """``(output shard, its copies in copy order)`` for every shard that gets one."""
        shard = (self.key >> np.uint64(32)) % np.uint64(shards)
        order = np.argsort(shard, kind="stable")
        for part in np.split(order, np.flatnonzero(np.diff(shard[order])) + 1):
            if len(part):
                yield int(shard[part[0]]), self.take(part)

    def tokens(self, n_tokens: str) -> dict[str, dict[str, int]]:
        """Tokens per source and language of the copies (repeats counted)."""
        copies = np.bincount(self.rows, minlength=self.table.num_rows).astype(np.int64)
        some = pa.array(copies > 0)  # a group without copies is not counted (not even as 0)
        t = self.table.select([SOURCE, LANG, n_tokens]).filter(some)
        n = pc.multiply(t.column(n_tokens).cast(pa.int64()), pa.array(copies[copies > 0]))
        return token_counts(t.set_column(2, n_tokens, n), n_tokens) or {}


def select(table: pa.Table, plans: dict[str, dict], cfg: MixConfig
           ) -> tuple[pa.Table, TrainCopies, pa.Table]:
    """``(validation, train copies, removed)`` of one batch.

    ``plans[key]`` holds ``val_from``, ``repeats`` and ``frac_below`` of a subset; a subset
    with no plan (its language has no target) is removed. Train copies carry an ``epoch``
    column (0 for the first copy) and a ``__key`` shuffle key; removed rows a ``reason`` (and
    no ``token_ids``).
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

    # without their token ids, which no reject keeps: often most of a shard's bytes
    removed = table.drop_columns([c for c in (SUBSET, TOKEN_IDS) if c in table.column_names])
    removed = removed.filter(pa.array(removed_mask))
    removed = removed.append_column(REMOVED_REASON, pa.array(reasons[removed_mask]))
    validation = table.filter(pa.array(is_val))

    rows = np.repeat(np.arange(table.num_rows), copies)
    first = np.repeat(np.cumsum(copies) - copies, copies)
    epoch = np.arange(len(rows)) - first
    h = id_hash(table.column(ID), f"shuffle:{cfg.seed}")[rows]
    with np.errstate(over="ignore"):
        shuffle = mix64(h + epoch.astype(np.uint64) * GOLDEN)
    return validation, TrainCopies(table.drop_columns([SUBSET]), rows, epoch, shuffle), removed


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, values) if i >= 0 else table.append_column(name, values)
