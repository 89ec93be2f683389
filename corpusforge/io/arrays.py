"""NumPy ``.npy`` files on any filesystem: written atomically, read whole or in row ranges.

Scratch arrays (dedup keys, edges, cluster labels) live in the run's output folder, which
may be a bucket: a reader asks for the rows it needs as byte ranges (one ranged GET on an
object store, a seek on a disk) instead of mapping the file into memory.
"""

from __future__ import annotations

import io

import numpy as np

from corpusforge.io.atomic import atomic_write
from corpusforge.io.storage import filesystem

#: two wanted row runs closer than this are read as one range (fewer requests)
_GAP_BYTES = 1 << 20
#: bytes read to find a header (NumPy pads it to 64 bytes: 128 for the arrays written here)
_HEAD_BYTES = 256


def save_array(path: str, arr: np.ndarray) -> None:
    with atomic_write(path) as f:
        np.save(f, np.ascontiguousarray(arr))


def load_array(path: str) -> np.ndarray:
    fs, root = filesystem(path)
    return np.load(io.BytesIO(fs.cat_file(root)))


def _header(fs, root: str) -> tuple[int, tuple[int, ...], np.dtype]:
    """``(offset of the data, shape, dtype)`` of a C-ordered ``.npy`` file."""
    head = fs.cat_file(root, start=0, end=_HEAD_BYTES)  # the whole header, nearly always
    length = int.from_bytes(head[8:10], "little") + 10 if head[6] == 1 \
        else int.from_bytes(head[8:12], "little") + 12
    if length > len(head):
        head = fs.cat_file(root, start=0, end=length)
    buf = io.BytesIO(head[:length])
    version = np.lib.format.read_magic(buf)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(buf)
    if fortran:
        raise ValueError(f"{root}: a Fortran-ordered array (scratch arrays are C-ordered)")
    return length, shape, dtype


def load_rows(path: str, start: int, stop: int) -> np.ndarray:
    """``np.load(path)[start:stop]``, reading only those rows."""
    fs, root = filesystem(path)
    offset, shape, dtype = _header(fs, root)
    stop = min(stop, shape[0]) if shape else 0
    row = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    if stop <= start or row == 0:
        return np.zeros((max(0, stop - start), *shape[1:]), dtype)
    data = fs.cat_file(root, start=offset + start * row, end=offset + stop * row)
    return np.frombuffer(data, dtype).reshape(stop - start, *shape[1:])


def take_rows(path: str, rows: np.ndarray) -> np.ndarray:
    """``np.load(path)[rows]``, reading only runs of wanted rows (near runs merged)."""
    fs, root = filesystem(path)
    offset, shape, dtype = _header(fs, root)
    return _take(fs, root, offset, shape[1:], dtype, rows)


def take_cols(path: str, row: int, cols: np.ndarray) -> np.ndarray:
    """``np.load(path)[row, cols]`` of a 2-D array, reading only runs of wanted values."""
    fs, root = filesystem(path)
    offset, shape, dtype = _header(fs, root)
    return _take(fs, root, offset + row * shape[1] * dtype.itemsize, (), dtype, cols)


def _take(fs, root: str, offset: int, tail: tuple[int, ...], dtype: np.dtype, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (each of shape ``tail``) of the data at ``offset``."""
    rows = np.asarray(rows, dtype=np.int64)
    row = dtype.itemsize * int(np.prod(tail, dtype=np.int64))
    out = np.empty((len(rows), *tail), dtype)
    if not len(rows):
        return out
    order = np.argsort(rows, kind="stable")
    wanted = rows[order]
    # a new range where the gap to the previous wanted row is too wide to read through
    breaks = np.flatnonzero(np.diff(wanted) * row > _GAP_BYTES) + 1
    firsts = np.concatenate([[0], breaks])
    lasts = np.concatenate([breaks, [len(wanted)]])
    starts = [offset + int(wanted[a]) * row for a in firsts]
    ends = [offset + (int(wanted[b - 1]) + 1) * row for b in lasts]
    blobs = fs.cat_ranges([root] * len(starts), starts, ends, on_error="raise")
    for a, b, blob in zip(firsts, lasts, blobs):
        chunk = np.frombuffer(blob, dtype).reshape(-1, *tail)
        out[order[a:b]] = chunk[wanted[a:b] - wanted[a]]
    return out
