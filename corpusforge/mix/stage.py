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

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.accounting import StepStats, sum_stats
from corpusforge.io.atomic import write_json
from corpusforge.io.layout import join
from corpusforge.io.sinks import Sinks
from corpusforge.io.storage import filesystem
from corpusforge.io.tables import read_table, write_table
from corpusforge.mix.config import MixConfig
from corpusforge.mix.export import write_outputs
from corpusforge.mix.plan import NB, MixColumnsError, MixError, MixPlan, plan_mix
from corpusforge.mix.select import EPOCH, KEY, SUBSET, mix_buckets, select, split_key, subset_keys
from corpusforge.schema import ID, LANG, REMOVED_REASON, SOURCE, TOKEN_IDS, text_bytes
from corpusforge.stages.base import Stage
from corpusforge.stages.context import StageContext
from corpusforge.stages.registry import register_stage

MANIFEST = "mix_manifest.json"


@register_stage
class Mix(Stage[MixConfig]):
    """Sample every (source, language) subset to token targets, hold out validation, shuffle, write."""

    name = "mix"
    #: each document's language (from ``sources``, else its own ``lang``, else ``und``) and copy
    adds = (LANG, EPOCH)
    missing_columns_error = MixColumnsError
    own_output_layout = ("the mix stage writes its own layout (train/, validation/ and the "
                         "formats listed in its `outputs:`)")

    def needed_columns(self) -> frozenset[str]:
        # the language column is optional: ``sources`` can name it, or it falls back to ``und``
        return frozenset({self.config.n_tokens_column})

    def run(self, ctx: StageContext) -> StepStats:
        cfg = self.config
        work = ctx.work_dir
        fs, local = filesystem(work)
        if not fs.exists(local):
            ctx.forget_tasks()  # no scratch left: stored task results point at nothing
        fs.makedirs(local, exist_ok=True)
        conf = cfg.model_dump(mode="json")
        inputs = ctx.input_files
        counts = ctx.map_tasks("count", _count_task,
                               [CountTask(f, join(work, "count", f"task-{i:05d}.parquet"), conf)
                                for i, f in enumerate(inputs)])
        hists = _merge_counts([c for c in counts if c], cfg)
        plan = plan_mix(hists, cfg)
        manifest = plan.manifest()
        write_json(join(ctx.sinks.path, MANIFEST), manifest, indent=True)
        plans = {f"{p.source}\x1f{p.lang}": {"val_from": p.val_from, "repeats": p.repeats,
                                              "frac_below": p.frac_below}
                 for p in plan.subsets if p.lang in plan.targets}
        shards = cfg.shards or max(1, len(inputs))
        selected = ctx.map_tasks("select", _select_task,
                                 [SelectTask(f, i, plans, conf, work, shards, ctx.sinks)
                                  for i, f in enumerate(inputs)])
        ctx.map_tasks("write", _write_task, [WriteTask(p, conf, work, ctx.sinks) for p in range(shards)])
        ctx.map_tasks("validation", _validation_task,
                      [ValidationTask(d, conf, work, ctx.sinks) for d in _validation_subsets(work)])
        stats = sum_stats(ctx.name, selected)
        stats.targets = _targets(stats, plan)
        return stats


def _targets(stats: StepStats, plan: MixPlan) -> dict[str, dict]:
    """Per language: its target, the train tokens the select tasks wrote, and whether that is
    within the tolerance (a target few long documents cannot meet is missed, not an error)."""
    got = stats.tokens_by("language")
    out = {}
    for lang, target in plan.targets.items():
        tokens = got.get(lang, 0)
        out[lang] = {"target": target, "tokens": tokens,
                     "met": abs(tokens - target) <= plan.tolerance * target,
                     "validation": sum(s.val_tokens for s in plan.subsets if s.lang == lang)}
    return out


@dataclass(frozen=True)
class CountTask:
    #: an input shard, and where its per-bucket counts go
    path: str
    out: str
    conf: dict


@dataclass(frozen=True)
class SelectTask:
    path: str
    index: int
    #: ``source\x1flang`` -> that subset's sampling plan
    plans: dict
    conf: dict
    work: str
    shards: int
    sinks: Sinks


@dataclass(frozen=True)
class WriteTask:
    shard: int
    conf: dict
    work: str
    sinks: Sinks


@dataclass(frozen=True)
class ValidationTask:
    #: the subset's folder name under ``validation/``
    subset: str
    conf: dict
    work: str
    sinks: Sinks


def _count_task(task: CountTask) -> str | None:
    path, out = task.path, task.out
    cfg = MixConfig(**task.conf)
    table = read_table(path, [ID, SOURCE, LANG, cfg.n_tokens_column])
    if table.num_rows == 0:
        return None
    if cfg.n_tokens_column not in table.column_names:
        raise MixError(f"{path} has no {cfg.n_tokens_column!r} column: add a tokenize step before mix")
    lang, key = subset_keys(table, cfg)
    # a language without a target needs its totals only (for the manifest): one bucket
    targeted = pc.is_in(lang, pa.array(list(cfg.targets), pa.string())).to_numpy(zero_copy_only=False)
    grouped = pa.table({
        SUBSET: key, "bucket": pa.array(np.where(targeted, mix_buckets(table, cfg), 0)),
        "tokens": table.column(cfg.n_tokens_column).cast(pa.int64()),
        "docs": pa.repeat(pa.scalar(1, pa.int64()), table.num_rows),
    }).group_by([SUBSET, "bucket"], use_threads=False).aggregate([("tokens", "sum"), ("docs", "sum")])
    write_table(out, grouped)
    return out


def _merge_counts(files: list[str], cfg: MixConfig) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Tokens and documents per bucket of every subset, added up one count file at a time.

    The driver holds one count file (at most a task's distinct subsets and buckets) and a
    2^20-bucket histogram per subset whose language has a target; a subset without a target
    is only counted (histograms of length 1), so the memory does not grow with the shards nor
    with the languages that language ID finds."""
    out: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for f in files:
        t = read_table(f)
        enc = t.column(SUBSET).combine_chunks().dictionary_encode()
        idx = enc.indices.to_numpy(zero_copy_only=False)
        b = t.column("bucket").to_numpy()
        tok_in = t.column("tokens_sum").to_numpy()
        docs_in = t.column("docs_sum").to_numpy()
        for i, key in enumerate(enc.dictionary.to_pylist()):
            sub = split_key(key)
            rows = idx == i
            n = NB if sub[1] in cfg.targets else 1
            if sub not in out:
                out[sub] = (np.zeros(n, np.int64), np.zeros(n, np.int64))
            tok, docs = out[sub]
            if n == 1:
                tok[0] += tok_in[rows].sum()
                docs[0] += docs_in[rows].sum()
            else:
                # int64 sums in place: exact at any size, no 2^20-bucket array per file; a
                # count file has one row per (subset, bucket), so the indices are distinct
                tok[b[rows]] += tok_in[rows]
                docs[b[rows]] += docs_in[rows]
    return out


def _select_task(task: SelectTask) -> StepStats:
    path, index, work, shards, sinks = task.path, task.index, task.work, task.shards, task.sinks
    cfg = MixConfig(**task.conf)
    table = read_table(path)
    validation, train, removed = select(table, task.plans, cfg)
    rw = sinks.rejects_writer(index)
    if rw is not None and removed.num_rows:
        rw.write(sinks.reject_rows(removed))
        rw.commit()
    # one output shard's copies at a time: the task holds its input shard, not its upsampling
    for p, piece in train.by_shard(shards):
        write_table(join(work, "shuffle", f"shard-{p:05d}", f"task-{index:05d}.parquet"), piece, plain=(TOKEN_IDS,))
    if validation.num_rows:
        vkeys = validation.column(SUBSET)
        for k in pc.unique(vkeys).to_pylist():
            write_table(join(work, "validation", _subset_dir(k), f"task-{index:05d}.parquet"),
                        validation.filter(pc.equal(vkeys, k)), plain=(TOKEN_IDS,))
    # out: distinct documents kept (train, however many copies, plus validation)
    bytes_in = text_bytes(table)
    st = StepStats("", docs_in=table.num_rows, docs_out=table.num_rows - removed.num_rows,
                   bytes_in=bytes_in, bytes_out=bytes_in - text_bytes(removed))
    if removed.num_rows:
        for r in pc.value_counts(removed.column(REMOVED_REASON)).to_pylist():
            st.remove(r["values"], r["counts"])
    # tokens: the train copies (repeats counted), what the targets are about
    st.add_tokens(train.tokens(cfg.n_tokens_column))
    return st


def _validation_subsets(work: str) -> list[str]:
    """The subsets that hold validation rows: their folders under the scratch's ``validation/``."""
    fs, local = filesystem(join(work, "validation"))
    if not fs.exists(local):
        return []
    return sorted(p.rstrip("/").rpartition("/")[2] for p in fs.ls(local, detail=False))


def _pieces(folder: str) -> list[str]:
    fs, local = filesystem(folder)
    if not fs.exists(local):
        return []
    # keep the protocol: workers reopen these paths by URL
    return sorted(fs.unstrip_protocol(p) for p in fs.glob(local + "/task-*.parquet"))


def _write_task(task: WriteTask) -> int:
    shard, work, sinks = task.shard, task.work, task.sinks
    cfg = MixConfig(**task.conf)
    files = _pieces(join(work, "shuffle", f"shard-{shard:05d}"))
    if not files:
        return 0
    table = pa.concat_tables([read_table(f) for f in files], promote_options="permissive")
    order = pc.sort_indices(table.column(KEY))
    write_outputs(table.drop_columns([KEY]), order, sinks.path, "train", shard, cfg.outputs, tokenizer=cfg.tokenizer,
                  append_eod=cfg.append_eod, parquet_ids=cfg.parquet_ids,
                  compression=sinks.compression, max_shard_bytes=sinks.max_shard_bytes)
    return table.num_rows


def _validation_task(task: ValidationTask) -> int:
    subset, work, sinks = task.subset, task.work, task.sinks
    cfg = MixConfig(**task.conf)
    files = _pieces(join(work, "validation", subset))
    table = pa.concat_tables([read_table(f) for f in files], promote_options="permissive")
    order = pc.sort_indices(pa.array(mix_buckets(table, cfg)))
    write_outputs(table.drop_columns([SUBSET]), order, sinks.path, f"validation/{subset}", 0, cfg.outputs,
                  tokenizer=cfg.tokenizer, append_eod=cfg.append_eod, parquet_ids=cfg.parquet_ids,
                  compression=sinks.compression, max_shard_bytes=sinks.max_shard_bytes)
    return table.num_rows


def _subset_dir(key: str) -> str:
    source, lang = split_key(key)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{lang}_{source}")
    return safe or "_"
