"""Connected components of the duplicate graph in one task, over the nodes the edges name."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def component_labels(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(nodes, labels)``: every node of the undirected edges ``src``-``dst`` (sorted, once)
    and its component's smallest node. The graph is compacted to the nodes the edges name
    first, so memory follows the edges, never the largest node number."""
    nodes, ends = np.unique(np.concatenate([src, dst]).astype(np.int64, copy=False), return_inverse=True)
    k, m = len(nodes), len(src)
    if k == 0:
        return nodes, nodes.copy()
    # positions among the nodes, 4 bytes each (fewer than 2**31 nodes in a task's edges): the
    # matrix keeps them as they are instead of making int32 copies
    ends = ends.astype(np.int32)
    graph = coo_matrix((np.ones(m, np.int8), (ends[:m], ends[m:])), shape=(k, k)).tocsr()
    del ends
    _, comp = connected_components(graph, directed=True, connection="weak")
    # nodes are sorted: a component's first position holds its smallest node
    _, first = np.unique(comp, return_index=True)
    return nodes, nodes[first][comp]
