"""Building a run's indexes: one task per output shard on the run's executor (local
processes or Ray), each reading its shard through the output reader and writing its index
files next to each other; shards already built (their marker present) are skipped, so a run
that gained shards builds only those."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corpusforge.executors import Executor, LocalExecutor
from corpusforge.io.layout import join
from corpusforge.io.output import output_shards, read_output_shard
from corpusforge.io.storage import with_storage
from corpusforge.search.bm25 import build_bm25
from corpusforge.search.dense import build_dense
from corpusforge.search.encoders import StaticEncoder, load_encoder, record_model
from corpusforge.search.exact import build_suffix_array
from corpusforge.search.layout import KINDS, model_dir, read_json, shard_dir, shard_key, write_json
from corpusforge.search.store import Store, write_store


@dataclass(frozen=True)
class ShardTask:
    out: str
    shard: str
    kinds: tuple[str, ...]


def _marker(folder: str, kind: str) -> str:
    return join(folder, f"{kind}.json")


def build_shard(task: ShardTask) -> dict:
    """Build the missing ``kinds`` of one shard; returns what was built, with sizes and times."""
    key = shard_key(task.out, task.shard)
    folder = shard_dir(task.out, key)
    done: dict = {"key": key, "shard": task.shard}
    if read_json(_marker(folder, "store")) is None:
        t = time.perf_counter()
        info = write_store(folder, read_output_shard(task.out, task.shard))
        write_json(_marker(folder, "store"), {**info, "shard": task.shard})
        done["store"] = {**info, "seconds": time.perf_counter() - t}
    builders = {"exact": build_suffix_array, "bm25": build_bm25,
                "dense": lambda f: build_dense(f, load_encoder(model_dir(task.out)))}
    for kind in task.kinds:
        if read_json(_marker(folder, kind)) is None:
            t = time.perf_counter()
            info = builders[kind](folder)
            write_json(_marker(folder, kind), info)
            done[kind] = {**info, "seconds": time.perf_counter() - t}
    return done


def _ensure_model(out: str, keys: Sequence[str], model: str | None) -> None:
    folder = model_dir(out)
    if read_json(join(folder, "model.json")) is not None:
        return  # a run keeps the model its first dense build chose
    if model is not None:
        record_model(folder, model)
        return
    texts: list[str] = []
    for key in keys:  # a sample spread over the shards, in shard order
        store = Store(shard_dir(out, key))
        step = max(1, store.docs * len(keys) // 20000)
        texts.extend(store.doc_text(i) for i in range(0, store.docs, step))
    StaticEncoder.fit(texts).save(folder)


def build_index(out: str, kinds: Sequence[str] = KINDS, executor: Executor | None = None,
                model: str | None = None) -> list[dict]:
    """Build ``kinds`` for every shard of the run in ``out``; returns one entry per shard
    built now (shards already built are left as they are).

    ``model``: a local sentence-transformers folder for dense vectors (default: the static
    model built from the corpus).
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown index kind {unknown[0]!r} (exact, bm25 or dense)")
    if "dense" in kinds and model is not None and not Path(model).is_dir():
        raise FileNotFoundError(f"no sentence-transformers model folder at {model!r} (a model is "
                                "given by a local path; nothing is downloaded)")
    shards = output_shards(out)
    if not shards:
        raise FileNotFoundError(f"no document shards under {out}")
    first = tuple(k for k in kinds if k != "dense")
    own = executor is None
    executor = executor or LocalExecutor(1)
    try:
        results = executor.map(with_storage(build_shard), [ShardTask(out, s, first) for s in shards])
        if "dense" in kinds:
            _ensure_model(out, [r["key"] for r in results], model)
            dense = executor.map(with_storage(build_shard), [ShardTask(out, s, ("dense",)) for s in shards])
            for r, d in zip(results, dense):
                if "dense" in d:
                    r["dense"] = d["dense"]
    finally:
        if own:
            executor.__exit__(None, None, None)
    return results
