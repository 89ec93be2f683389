"""The ``dedup`` stage: exact and MinHash-LSH near-duplicate removal across all shards.

Phases, each a set of parallel tasks on the run's executor (resumable per task):

1. ``sign`` (one task per input shard): normalise, hash, shingle and sign the whole
   shard as Arrow columns; write per shard one uint64 key per (key row, document) —
   the LSH band keys, the normalised text hash, the URL hash — plus validity, the
   keep priority and the ids (and the signatures when pairs are verified).
2. ``group`` (one task per key row x hash range): gather that row's keys of every
   shard (and of the persistent index), sort, and turn each run of equal keys into
   edges from its members to its first member (numpy, no Python per key).
3. connected components of the edges — up to ``edges_per_task`` edges in one task (scipy
   on the compacted graph), beyond that in rounds of hash-partitioned tasks (``starcc``) —
   and then the kept document of each cluster by the keep policy, cluster sizes and why each
   removed document was removed, in tasks over ranges of ``docs_per_task`` documents and
   hash partitions of the clusters (``clusters``: phases ``components``, ``members``,
   ``clusters``, ``decide``).
4. ``write`` (one task per shard): kept documents with ``dup_cluster_id`` (the id of
   the document the cluster keeps) and ``dup_cluster_size``; removed ones to the
   rejects sink with ``reject_dup_of`` and ``reject_dup_cluster_size``.
5. ``index`` (with ``index:``): the kept documents' keys and ids become a new segment.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge import samples
from corpusforge.accounting import StepStats, sum_stats
from corpusforge.dedup.clusters import REASONS, decisions, run_phases
from corpusforge.dedup.config import DedupConfig
from corpusforge.dedup.grouped import partition_of, read_range, write_grouped
from corpusforge.dedup.index import DedupIndex, IndexPart
from corpusforge.dedup.keep import priority
from corpusforge.dedup.layout import Layout
from corpusforge.dedup.lsh import band_keys, optimal_params
from corpusforge.dedup.minhash import MinHasher, ShingleSpec, japanese_fraction, text_hashes
from corpusforge.dedup.normalize import normalize_for_hash
from corpusforge.dedup.starcc import run_rounds
from corpusforge.io.arrays import load_array, load_rows, save_array, take_rows
from corpusforge.io.atomic import read_json, write_json
from corpusforge.io.layout import join
from corpusforge.io.sinks import Sinks
from corpusforge.io.tables import num_rows, read_table, write_table
from corpusforge.schema import ID, LANG, REMOVED_REASON, TEXT, URL, text_bytes, token_counts
from corpusforge.stages.base import Stage
from corpusforge.stages.context import StageContext
from corpusforge.stages.registry import register_stage

CLUSTER_ID, CLUSTER_SIZE, DUP_OF = "dup_cluster_id", "dup_cluster_size", "reject_dup_of"
#: a removed duplicate's cluster size, in the rejects
DUP_SIZE = f"reject_{CLUSTER_SIZE}"
#: documents per hash-range partition of a band when ``partitions`` is not given
DOCS_PER_PARTITION = 4_000_000
#: Japanese/Chinese script share above which ``auto`` shingles characters
AUTO_CHAR_FRACTION = 0.25


def _spec_per_doc(table: pa.Table, cfg: DedupConfig) -> tuple[list[ShingleSpec], np.ndarray]:
    """The distinct shingle specs and, per document, the index of its spec."""
    mh = cfg.minhash
    shingles = mh.shingles if mh else {"ja": "char5", "zh": "char5"}
    default = mh.default if mh else "auto"
    lang_col = mh.lang_column if mh else LANG
    specs: list[ShingleSpec] = []

    def spec_id(spec: str) -> int:
        s = ShingleSpec.parse(spec)
        if s not in specs:
            specs.append(s)
        return specs.index(s)

    n = table.num_rows
    ids = np.full(n, -1, dtype=np.int64)
    if lang_col in table.column_names and shingles:
        langs = list(shingles)
        pos = pc.index_in(pc.cast(table.column(lang_col), pa.string()), pa.array(langs, pa.string()))
        pos_np = np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        lut = np.array([spec_id(shingles[lang]) for lang in langs], dtype=np.int64)
        hit = pos_np >= 0
        ids[hit] = lut[pos_np[hit]]
    todo = ids < 0
    if todo.any():
        if default == "auto":
            frac = japanese_fraction(table.column(TEXT).filter(pa.array(todo)))
            char_id, word_id = spec_id("char5"), spec_id("word5")
            ids[todo] = np.where(frac >= AUTO_CHAR_FRACTION, char_id, word_id)
        else:
            ids[todo] = spec_id(default)
    return specs, ids


@dataclass(frozen=True)
class SignTask:
    layout: Layout
    shard: int


@dataclass(frozen=True)
class GroupTask:
    layout: Layout
    #: the key row (band, text or url) and the hash-range partition of it
    row: int
    part: int
    parts: int


@dataclass(frozen=True)
class WriteTask:
    layout: Layout
    shard: int
    sinks: Sinks


@dataclass(frozen=True)
class IndexTask:
    layout: Layout
    shard: int
    index_path: str
    segment: str


def _sign_task(task: SignTask) -> dict:
    lay, i = task.layout, task.shard
    cfg = lay.cfg
    wanted = {ID, TEXT, URL}
    if cfg.minhash:
        wanted.add(cfg.minhash.lang_column)
    if cfg.policy_column:
        wanted.add(cfg.policy_column)
    table = read_table(lay.files[i], sorted(wanted))
    n = table.num_rows
    texts = table.column(TEXT)
    specs, spec_ids = _spec_per_doc(table, cfg)
    keys = np.zeros((len(lay.kinds), n), np.uint64)
    valid = np.ones((len(lay.kinds), n), bool)
    text_hash = np.zeros(n, np.uint64)
    counts = np.zeros(n, np.int32)
    sig = None
    if cfg.minhash:
        hasher = MinHasher(cfg.minhash.num_perm, cfg.minhash.seed)
        sig = np.empty((n, cfg.minhash.num_perm), np.uint32)
    exact_opts = cfg.exact.normalize if cfg.exact and "text" in cfg.exact.on else None
    near_opts = cfg.minhash.normalize if cfg.minhash else None
    for s_id, spec in enumerate(specs):
        rows = np.flatnonzero(spec_ids == s_id)
        if len(rows) == 0:
            continue
        sub_texts = texts.take(pa.array(rows))
        norm = None
        if exact_opts is not None:
            norm = normalize_for_hash(sub_texts, spec.mode, exact_opts)  # type: ignore[arg-type]
            text_hash[rows] = text_hashes(norm)
        if sig is not None:
            if norm is None or near_opts != exact_opts:
                norm = normalize_for_hash(sub_texts, spec.mode, near_opts)  # type: ignore[arg-type]
            sub, c = hasher.signatures_and_counts(norm, spec, normalized=True)
            sig[rows], counts[rows] = sub, c
    if sig is not None:
        keys[: lay.bands] = band_keys(sig, lay.bands, lay.rows, cfg.minhash.seed).T
        valid[: lay.bands] = counts > 0
    for r, kind in enumerate(lay.kinds):
        if kind == "text":
            keys[r] = text_hash
        elif kind == "url":
            urls = table.column(URL) if URL in table.column_names else pa.nulls(n, pa.string())
            keys[r] = text_hashes(pc.fill_null(urls, ""), seed=7)
            valid[r] = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(urls), 0), False)
                                  .to_numpy(zero_copy_only=False), dtype=bool)
    save_array(lay.path(f"keys-{i:05d}.npy"), keys)
    save_array(lay.path(f"valid-{i:05d}.npy"), valid)
    write_grouped(lay.path(f"grouped-{i:05d}.npy"), lay.path(f"directory-{i:05d}.npy"), keys, valid)
    save_array(lay.path(f"prio-{i:05d}.npy"), priority(table, cfg.policy, cfg.policy_column))
    write_table(lay.path(f"ids-{i:05d}.parquet"), table.select([ID]))
    if sig is not None and cfg.minhash.verify:
        save_array(lay.path(f"sig-{i:05d}.npy"), sig)
    return {"rows": n, "no_shingles": int((counts == 0).sum()) if sig is not None else 0}


def _grouped_sources(lay: Layout) -> list[tuple[str | None, str | None, IndexPart | None, int]]:
    """(grouped keys, directory, the index part when it has none, first global index) of every
    shard and index part (a part written before grouped keys existed is read whole)."""
    out: list[tuple[str | None, str | None, IndexPart | None, int]] = [
        (lay.path(f"grouped-{i:05d}.npy"), lay.path(f"directory-{i:05d}.npy"), None, int(off))
        for i, off in enumerate(lay.offsets[:-1])]
    out += [(p.grouped, p.directory, None, int(off)) if p.grouped and p.directory else (None, None, p, int(off))
            for p, off in zip(lay.index_parts, lay.index_offsets[:-1])]
    return out


def _gather_sigs(lay: Layout, idx: np.ndarray) -> np.ndarray:
    """Signatures of the documents ``idx`` (this run's only), read from the shards' files."""
    out = np.zeros((len(idx), lay.cfg.minhash.num_perm), np.uint32)  # type: ignore[union-attr]
    return lay.per_source(idx, lambda s, local: take_rows(lay.path(f"sig-{s:05d}.npy"), local), out)


def _run_edges(keys: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges from every document to the first (smallest index) document with the same key."""
    order = np.argsort(keys)
    keys = keys[order]
    same_next = keys[1:] == keys[:-1]
    # keep only keys that occur at least twice (most occur once)
    shared = np.zeros(len(keys), bool)
    shared[1:] |= same_next
    shared[:-1] |= same_next
    sel = np.flatnonzero(shared)
    keys, idx = keys[sel], idx[order[sel]]
    new_run = np.ones(len(keys), bool)
    new_run[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new_run)
    if len(starts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    head = np.minimum.reduceat(idx, starts)[np.cumsum(new_run) - 1]
    member = idx != head
    return idx[member], head[member]


def _group_task(task: GroupTask) -> dict:
    lay, r, p, parts = task.layout, task.row, task.part, task.parts
    key_parts, idx_parts = [], []
    for grouped, directory, whole, first in _grouped_sources(lay):
        if whole is None:
            k, pos = read_range(grouped, directory, r, p, parts)  # type: ignore[arg-type]
        else:
            k = load_rows(whole.keys, r, r + 1)[0]
            sel = load_rows(whole.valid, r, r + 1)[0]
            if parts > 1:
                sel = sel & (partition_of(k, parts) == p)
            pos = np.flatnonzero(sel)
            k = np.asarray(k[pos])
        key_parts.append(k)
        idx_parts.append(pos.astype(np.int64) + first)
    keys = np.concatenate(key_parts) if key_parts else np.zeros(0, np.uint64)
    idx = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
    src, dst = _run_edges(keys, idx)
    mh = lay.cfg.minhash
    if mh is not None and mh.verify and lay.kinds[r] == "band" and len(src):
        # pairs with an index document are kept unverified (the index holds no signatures)
        both = (src < lay.n_docs) & (dst < lay.n_docs)
        est = np.ones(len(src))
        if both.any():
            est[both] = np.mean(_gather_sigs(lay, src[both]) == _gather_sigs(lay, dst[both]), axis=1)
        ok = est >= mh.threshold
        src, dst = src[ok], dst[ok]
    save_array(lay.path(f"edges-r{r:03d}-p{p:04d}.npy"), np.stack([src, dst]))
    return {"edges": int(len(src))}


def _edge_files(lay: Layout, parts: int) -> list[str]:
    return [lay.path(f"edges-r{r:03d}-p{p:04d}.npy") for r in range(len(lay.kinds)) for p in range(parts)]


def _write_task(task: WriteTask) -> StepStats:
    lay, i, sinks = task.layout, task.shard, task.sinks
    table = read_table(lay.files[i])
    size, reason, dup_of = decisions(lay, int(lay.offsets[i]), table.num_rows)
    n, keep = table.num_rows, reason == 0
    kept = table.filter(pa.array(keep))
    # a second dedup stage replaces the first one's cluster columns (a file may not hold two)
    kept = kept.drop_columns([c for c in (CLUSTER_ID, CLUSTER_SIZE) if c in kept.column_names])
    kept = kept.append_column(CLUSTER_ID, kept.column(ID)).append_column(
        CLUSTER_SIZE, pa.array(size[keep], pa.int32()))
    writer = sinks.writer(i)
    writer.write(kept)
    writer.commit()
    st = StepStats("", docs_in=n, docs_out=int(keep.sum()), bytes_in=text_bytes(table),
                   bytes_out=text_bytes(kept))
    tokens = token_counts(kept)
    if tokens is not None:
        st.add_tokens(tokens)
    # every document by the size of its cluster: the kept ones are the clusters, one each
    st.add_signals({CLUSTER_SIZE: size.astype(np.float64)}, keep, {})
    # the largest clusters kept here (a cluster kept by the index's earlier run has no kept
    # document in this run, and is not listed)
    st.clusters = samples.largest_clusters(kept, size[keep])
    if not keep.all():
        gone = ~keep
        codes = reason[gone]
        removed = table.filter(pa.array(gone))
        names = pa.array([REASONS[c] for c in (1, 2, 3)], pa.string())
        why = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32) - 1), names).cast(pa.string())
        # the signals of the decision: the kept document it duplicates, and its cluster's size
        removed = (removed.append_column(REMOVED_REASON, why).append_column(DUP_OF, dup_of)
                   .append_column(DUP_SIZE, pa.array(size[gone], pa.int32())))
        for code, count in zip(*np.unique(codes, return_counts=True)):
            st.remove(REASONS[int(code)], int(count))
        rejects = sinks.rejects_writer(i)
        if rejects is not None:
            rejects.write(sinks.reject_rows(removed))
            rejects.commit()
            samples.merge(st.samples, samples.take(removed, sinks.rejects_text))
    return st


def _index_task(task: IndexTask) -> dict:
    lay, i, index_path, segment = task.layout, task.shard, task.index_path, task.segment
    _, reason, _ = decisions(lay, int(lay.offsets[i]), lay.sizes[i])
    keep = np.flatnonzero(reason == 0)
    part = DedupIndex(index_path).part_paths(segment, i)
    keys = load_array(lay.path(f"keys-{i:05d}.npy"))[:, keep]
    valid = load_array(lay.path(f"valid-{i:05d}.npy"))[:, keep]
    save_array(part.keys, keys)
    save_array(part.valid, valid)
    write_grouped(part.grouped, part.directory, keys, valid)  # type: ignore[arg-type]
    ids = read_table(lay.path(f"ids-{i:05d}.parquet")).take(pa.array(keep))
    write_table(part.ids, ids)
    return {"rows": int(len(keep))}


@register_stage
class Dedup(Stage[DedupConfig]):
    """Exact and MinHash-LSH near-duplicate removal across all shards (global, parallel)."""

    name = "dedup"
    adds = (CLUSTER_ID, CLUSTER_SIZE)

    def needed_columns(self) -> frozenset[str]:
        # the keep policies newest/oldest/highest/lowest compare a column of every document;
        # the language column of per-language shingles is optional (the default spec applies)
        column = self.config.policy_column
        return frozenset({column} if column else ())

    def layout(self, ctx: StageContext) -> tuple[Layout, str | None]:
        """The run's layout, fixed at the stage's first start (so a resume sees the same)."""
        cfg = self.config
        work = ctx.work_dir
        plan_path = join(work, "plan.json")
        plan = read_json(plan_path)
        if plan is None:
            ctx.forget_tasks()  # no scratch: earlier task results (if any) cannot be reused
            sizes = [num_rows(f) for f in ctx.input_files]
            index = DedupIndex(cfg.index) if cfg.index else None
            if index is not None:
                # a fresh start in this output folder: what an earlier run wrote here (and
                # added to the index) is gone, so its documents must not count as seen
                index.drop_output(output_id(ctx.root))
            plan = {
                "files": list(ctx.input_files), "sizes": sizes,
                "index_parts": [p.__dict__ for p in index.parts()] if index else [],
                "segment": index.new_segment_name(ctx.root) if index else None,
            }
            write_json(plan_path, plan)
        bands = rows = 0
        kinds: list[str] = []
        if cfg.minhash:
            mh = cfg.minhash
            bands, rows = (mh.bands, mh.rows) if mh.bands and mh.rows else optimal_params(mh.threshold, mh.num_perm)
            kinds += ["band"] * bands
        if cfg.exact:
            kinds += [k for k in ("text", "url") if k in cfg.exact.on]
        lay = Layout(cfg, work, tuple(plan["files"]), tuple(plan["sizes"]),
                     tuple(IndexPart(**p) for p in plan["index_parts"]), tuple(kinds), bands, rows)
        return lay, plan["segment"]

    def run(self, ctx: StageContext) -> StepStats:
        cfg = self.config
        lay, segment = self.layout(ctx)
        index = DedupIndex(cfg.index) if cfg.index else None
        if index is not None:
            index.check(lay.params())
        files = range(len(lay.files))
        ctx.map_tasks("sign", _sign_task, [SignTask(lay, i) for i in files])
        parts = cfg.partitions or max(1, math.ceil(lay.n_total / DOCS_PER_PARTITION))
        grouped = ctx.map_tasks("group", _group_task,
                                [GroupTask(lay, r, p, parts) for r in range(len(lay.kinds)) for p in range(parts)])
        edges = sum(g["edges"] for g in grouped)
        stars = None
        if edges > cfg.edges_per_task:
            stars = run_rounds(ctx.map_tasks, lay.work, _edge_files(lay, parts), math.ceil(edges / cfg.edges_per_task))
        run_phases(ctx.map_tasks, lay, _edge_files(lay, parts), stars)
        written = ctx.map_tasks("write", _write_task, [WriteTask(lay, i, ctx.sinks) for i in files])
        if index is not None and segment is not None:
            added = ctx.map_tasks("index", _index_task,
                                  [IndexTask(lay, i, index.path, segment) for i in files])
            part_list = [IndexPart(**{**index.part_paths(segment, i).__dict__, "rows": a["rows"]})
                         for i, a in zip(files, added)]
            # listed in index.json by commit(), once the whole run has succeeded
            index.write_pending(segment, part_list, lay.params(), output_id(ctx.root))
        return sum_stats(ctx.name, written)

    def commit(self, ctx: StageContext) -> None:
        if self.config.index:
            DedupIndex(self.config.index).commit(output_id(ctx.root))


def output_id(root: str) -> str:
    """How a segment names the output folder of its run (absolute, for local folders)."""
    return root if "://" in root else os.path.abspath(root)
