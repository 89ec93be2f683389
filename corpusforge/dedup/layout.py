"""What every task of the dedup stage knows about its run: the shards, the persistent index's
parts, the key rows, and where each global document index lives.

A document's global index is its position in the shards in order, then in the index's parts
(``n_docs`` and above): the one number every phase names a document by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from corpusforge.dedup.config import DedupConfig
from corpusforge.dedup.index import IndexPart
from corpusforge.dedup.normalize import Normalization
from corpusforge.io.layout import join
from corpusforge.io.tables import read_table
from corpusforge.schema import ID

NORMALIZATION_VERSION = 1
#: the one normalisation there was before it had options (digits to 0, all else on)
LEGACY_NORMALIZATION = Normalization(digits="zero")


@dataclass(frozen=True)
class Layout:
    """Everything a task needs to know about the run (picklable)."""

    cfg: DedupConfig
    work: str
    files: tuple[str, ...]
    sizes: tuple[int, ...]
    index_parts: tuple[IndexPart, ...]
    #: kind of each key row: ``band`` (one per LSH band), ``text``, ``url``
    kinds: tuple[str, ...]
    bands: int
    rows: int

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes, dtype=np.int64)]).astype(np.int64)

    @property
    def n_docs(self) -> int:
        return int(sum(self.sizes))

    @property
    def index_offsets(self) -> np.ndarray:
        sizes = [p.rows for p in self.index_parts]
        return self.n_docs + np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)

    @property
    def n_total(self) -> int:
        return int(self.index_offsets[-1])

    def path(self, name: str) -> str:
        return join(self.work, name)

    def params(self) -> dict:
        """What must be equal for keys to be comparable with a persistent index."""
        mh = self.cfg.minhash
        return {
            "kinds": list(self.kinds), "bands": self.bands, "rows": self.rows,
            "num_perm": mh.num_perm if mh else None, "seed": mh.seed if mh else None,
            "shingles": dict(sorted(mh.shingles.items())) if mh else None,
            "default": mh.default if mh else None, "normalization": NORMALIZATION_VERSION,
            **self._normalize_params(),
        }

    def _normalize_params(self) -> dict:
        mh, ex = self.cfg.minhash, self.cfg.exact
        exact = ex.normalize if ex and "text" in ex.on else None
        near = mh.normalize if mh else None
        if all(o is None or o == LEGACY_NORMALIZATION for o in (exact, near)):
            return {}  # the keys an index built before the options existed holds
        return {"normalize": {"exact": exact.model_dump() if exact else None,
                              "near": near.model_dump() if near else None}}

    def row_sources(self) -> list[tuple[str, str, int]]:
        """(keys path, valid path, first global index) of every shard and index part."""
        out = [(self.path(f"keys-{i:05d}.npy"), self.path(f"valid-{i:05d}.npy"), int(off))
               for i, off in enumerate(self.offsets[:-1])]
        out += [(p.keys, p.valid, int(off)) for p, off in zip(self.index_parts, self.index_offsets[:-1])]
        return out

    def per_source(self, nodes: np.ndarray, fetch: Callable[[int, np.ndarray], np.ndarray],
                   out: np.ndarray) -> np.ndarray:
        """``out[i] = fetch(source, local index)`` for the shard or index part of each node
        (sources numbered as :meth:`row_sources`: the shards, then the index's parts)."""
        firsts = np.concatenate([self.offsets[:-1], self.index_offsets[:-1]])
        source = np.searchsorted(firsts, nodes, side="right") - 1
        for s in np.unique(source):
            sel = source == s
            out[sel] = fetch(int(s), nodes[sel] - firsts[s])
        return out

    def ids_of(self, idx: np.ndarray) -> pa.Array:
        """Ids of global documents ``idx`` (sorted), from the shards' and the index's id files."""
        paths = [self.path(f"ids-{i:05d}.parquet") for i in range(len(self.files))]
        paths += [p.ids for p in self.index_parts]
        firsts = np.concatenate([self.offsets[:-1], self.index_offsets[:-1]])
        file_no = np.searchsorted(firsts, idx, side="right") - 1 if len(firsts) else np.zeros(0, np.int64)
        chunks = []
        for f in np.unique(file_no):
            local = idx[file_no == f] - firsts[f]
            chunks.append(read_table(paths[f], [ID]).column(ID).take(pa.array(local)))
        if not chunks:
            return pa.array([], pa.string())
        return pa.chunked_array(chunks, pa.string()).combine_chunks()
