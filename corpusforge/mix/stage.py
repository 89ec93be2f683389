"""The ``mix`` global stage: token budgets per language, validation split, global shuffle, output.

Phases (each a set of parallel, resumable tasks on the run's executor):

1. ``count``: per input shard, tokens and documents per (source, language, hash bucket),
   an Arrow group-by written to the stage's scratch folder.
2. plan (driver): the per-bucket histograms are merged and :func:`~corpusforge.mix.plan.plan_mix`
   turns them into a few integers per subset; the manifest is written.
3. ``select``: per input shard, validation rows and train copies (whole repeats plus a
   fractional sample by id hash); train copies are scattered into ``shards`` buckets by their
   shuffle key (the first half of a distributed shuffle); removed rows go to the rejects.
4. ``write``: per output shard, its pieces are concatenated, sorted by shuffle key and written
   in every requested format; ``validation``: per subset, likewise.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

from corpusforge.accounting import StepStats
from corpusforge.io.writers import TMP_SUFFIX, join
from corpusforge.mix.config import MixConfig
from corpusforge.mix.export import write_outputs
from corpusforge.mix.hashing import BITS
from corpusforge.mix.plan import MixColumnsError, MixError, plan_mix
from corpusforge.mix.select import EPOCH, KEY, SUBSET, mix_buckets, select, split_key, subset_keys
from corpusforge.schema import ID, LANG, REMOVED_REASON, SOURCE, text_bytes
from corpusforge.stages.base import Stage
from corpusforge.stages.context import Sinks, StageContext
from corpusforge.stages.registry import register_stage

MANIFEST = "mix_manifest.json"


@register_stage
class Mix(Stage[MixConfig]):
    """Sample every (source, language) subset to token targets, hold out validation, shuffle, write."""

    name = "mix"
    #: each document's language (from ``sources``, else its own ``lang``, else ``und``) and copy
    adds = (LANG, EPOCH)
    missing_columns_error = MixColumnsError

    def needed_columns(self) -> frozenset[str]:
        # the language column is optional: ``sources`` can name it, or it falls back to ``und``
        return frozenset({self.config.n_tokens_column})

    def run(self, ctx: StageContext) -> StepStats:
        cfg = self.config
        work = ctx.work_dir
        fs, local = url_to_fs(work)
        if not fs.exists(local):
            ctx.forget_tasks()  # no scratch left: stored task results point at nothing
        fs.makedirs(local, exist_ok=True)
        conf = cfg.model_dump(mode="json")
        inputs = ctx.input_files
        counts = ctx.map_tasks("count", _count_task,
                               [(f, join(work, "count", f"task-{i:05d}.parquet"), conf)
                                for i, f in enumerate(inputs)])
        hists = _merge_counts([c for c in counts if c])
        plan = plan_mix(hists, cfg)
        manifest = plan.manifest()
        _write_json(join(ctx.sinks.path, MANIFEST), manifest)
        plans = {f"{p.source}\x1f{p.lang}": {"val_from": p.val_from, "repeats": p.repeats,
                                              "frac_below": p.frac_below}
                 for p in plan.subsets if p.lang in plan.targets}
        shards = cfg.shards or max(1, len(inputs))
        sel = ctx.map_tasks("select", _select_task,
                            [(f, i, plans, conf, work, shards, ctx.sinks) for i, f in enumerate(inputs)])
        st = StepStats(ctx.name)
        for r in sel:
            st.docs_in += r["in"]
            st.docs_out += r["out"]
            st.bytes_in += r.get("bytes_in", 0)
            st.bytes_out += r.get("bytes_out", 0)
            for reason, n in r["removed"].items():
                st.remove(reason, n)
        ctx.map_tasks("write", _write_task, [(p, conf, work, ctx.sinks) for p in range(shards)])
        subsets = sorted({k for r in sel for k in r["val_subsets"]})
        ctx.map_tasks("validation", _validation_task, [(k, conf, work, ctx.sinks) for k in subsets])
        return st


def _read(path: str, columns: list[str] | None = None) -> pa.Table:
    fs, local = url_to_fs(path)
    with fs.open(local, "rb") as f:
        pf = pq.ParquetFile(f)
        cols = None if columns is None else [c for c in columns if c in pf.schema_arrow.names]
        return pf.read(columns=cols)


def _atomic_parquet(table: pa.Table, path: str) -> None:
    fs, local = url_to_fs(path)
    fs.makedirs(local.rpartition("/")[0], exist_ok=True)
    with fs.open(local + TMP_SUFFIX, "wb") as f:
        pq.write_table(table, f, compression="zstd")
    fs.mv(local + TMP_SUFFIX, local)


def _write_json(path: str, data: dict) -> None:
    fs, local = url_to_fs(path)
    fs.makedirs(local.rpartition("/")[0], exist_ok=True)
    with fs.open(local + TMP_SUFFIX, "wb") as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    fs.mv(local + TMP_SUFFIX, local)


def _count_task(item: tuple) -> str | None:
    path, out, conf = item
    cfg = MixConfig(**conf)
    table = _read(path, [ID, SOURCE, LANG, cfg.n_tokens_column])
    if table.num_rows == 0:
        return None
    if cfg.n_tokens_column not in table.column_names:
        raise MixError(f"{path} has no {cfg.n_tokens_column!r} column: add a tokenize step before mix")
    _, key = subset_keys(table, cfg)
    grouped = pa.table({
        SUBSET: key, "bucket": pa.array(mix_buckets(table, cfg)),
        "tokens": table.column(cfg.n_tokens_column).cast(pa.int64()),
        "docs": pa.repeat(pa.scalar(1, pa.int64()), table.num_rows),
    }).group_by([SUBSET, "bucket"], use_threads=False).aggregate([("tokens", "sum"), ("docs", "sum")])
    _atomic_parquet(grouped, out)
    return out


def _merge_counts(files: list[str]) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    if not files:
        return {}
    t = pa.concat_tables([_read(f) for f in files])
    t = t.group_by([SUBSET, "bucket"]).aggregate([("tokens_sum", "sum"), ("docs_sum", "sum")])
    out = {}
    keys = t.column(SUBSET)
    for key in pc.unique(keys).to_pylist():
        part = t.filter(pc.equal(keys, key))
        b = part.column("bucket").to_numpy()
        tok = np.bincount(b, weights=part.column("tokens_sum_sum").to_numpy(), minlength=1 << BITS)
        docs = np.bincount(b, weights=part.column("docs_sum_sum").to_numpy(), minlength=1 << BITS)
        out[split_key(key)] = (tok, docs.astype(np.int64))
    return out


def _select_task(item: tuple) -> dict:
    path, index, plans, conf, work, shards, sinks = item
    sinks: Sinks
    cfg = MixConfig(**conf)
    table = _read(path)
    validation, train, removed = select(table, plans, cfg)
    rw = sinks.rejects_writer(index)
    if rw is not None and removed.num_rows:
        rw.write(sinks.reject_rows(removed))
        rw.commit()
    if train.num_rows:
        shard = (train.column(KEY).to_numpy() >> np.uint64(32)) % np.uint64(shards)
        for p in np.unique(shard):
            piece = train.filter(pa.array(shard == p))
            _atomic_parquet(piece, join(work, "shuffle", f"shard-{int(p):05d}", f"task-{index:05d}.parquet"))
    keys = []
    if validation.num_rows:
        vkeys = validation.column(SUBSET)
        for k in pc.unique(vkeys).to_pylist():
            keys.append(k)
            _atomic_parquet(validation.filter(pc.equal(vkeys, k)),
                            join(work, "validation", _subset_dir(k), f"task-{index:05d}.parquet"))
    reasons = pc.value_counts(removed.column(REMOVED_REASON)).to_pylist() if removed.num_rows else []
    # distinct documents kept (train, however many copies, plus validation)
    bytes_in = text_bytes(table)
    return {"in": table.num_rows, "out": table.num_rows - removed.num_rows,
            "bytes_in": bytes_in, "bytes_out": bytes_in - text_bytes(removed),
            "removed": {r["values"]: r["counts"] for r in reasons}, "val_subsets": keys}


def _pieces(folder: str) -> list[str]:
    fs, local = url_to_fs(folder)
    if not fs.exists(local):
        return []
    # keep the protocol: workers reopen these paths by URL
    return sorted(fs.unstrip_protocol(p) for p in fs.glob(local + "/task-*.parquet"))


def _write_task(item: tuple) -> int:
    shard, conf, work, sinks = item
    cfg = MixConfig(**conf)
    files = _pieces(join(work, "shuffle", f"shard-{shard:05d}"))
    if not files:
        return 0
    table = pa.concat_tables([_read(f) for f in files], promote_options="permissive")
    table = table.sort_by(KEY).drop_columns([KEY])
    write_outputs(table, sinks.path, "train", shard, cfg.outputs, tokenizer=cfg.tokenizer,
                  append_eod=cfg.append_eod, parquet_ids=cfg.parquet_ids,
                  compression=sinks.compression, max_shard_bytes=sinks.max_shard_bytes)
    return table.num_rows


def _validation_task(item: tuple) -> int:
    key, conf, work, sinks = item
    cfg = MixConfig(**conf)
    files = _pieces(join(work, "validation", _subset_dir(key)))
    table = pa.concat_tables([_read(f) for f in files], promote_options="permissive")
    order = pc.sort_indices(pa.array(mix_buckets(table, cfg)))
    table = table.take(order).drop_columns([SUBSET])
    write_outputs(table, sinks.path, f"validation/{_subset_dir(key)}", 0, cfg.outputs,
                  tokenizer=cfg.tokenizer, append_eod=cfg.append_eod, parquet_ids=cfg.parquet_ids,
                  compression=sinks.compression, max_shard_bytes=sinks.max_shard_bytes)
    return table.num_rows


def _subset_dir(key: str) -> str:
    source, lang = split_key(key)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{lang}_{source}")
    return safe or "_"
