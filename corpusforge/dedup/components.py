"""Connected components of the duplicate graph, and the document each cluster keeps."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """A component label (int32) per node of an undirected graph given as edge arrays."""
    if len(src) == 0:
        return np.arange(n, dtype=np.int32)
    data = np.ones(len(src), dtype=np.int8)
    graph = coo_matrix((data, (src, dst)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=True, connection="weak")
    return labels.astype(np.int32, copy=False)


def representatives(labels: np.ndarray, priority: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rep, size)`` per node: the node its cluster keeps (highest priority, then lowest
    index) and the cluster's size."""
    n = len(labels)
    order = np.lexsort((np.arange(n), -priority, labels))
    first = np.ones(n, dtype=bool)
    first[1:] = labels[order[1:]] != labels[order[:-1]]
    rep_of_label = np.empty(int(labels.max()) + 1 if n else 0, dtype=np.int64)
    rep_of_label[labels[order[first]]] = order[first]
    size = np.bincount(labels, minlength=len(rep_of_label)).astype(np.int32)
    return rep_of_label[labels], size[labels]
