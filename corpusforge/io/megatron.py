"""Megatron-LM indexed datasets (``.bin`` + ``.idx``): the token files a training run reads.

Layout (all integers little-endian), as read by Megatron-LM's ``IndexedDataset`` and
Megatron-DeepSpeed's ``MMapIndexedDataset`` (which LLM-jp's training used):

``<prefix>.bin``
    every sequence's token ids, concatenated, in the index's dtype; no header, no padding.

``<prefix>.idx``
    ========  ==========================  ===========================================
    bytes     type                        content
    ========  ==========================  ===========================================
    9         bytes                       magic ``b"MMIDIDX\\x00\\x00"``
    8         uint64                      version, ``1``
    1         uint8                       dtype code: 1 uint8, 2 int8, 3 int16, 4 int32,
                                          5 int64, 6 float64, 7 float32, 8 uint16
    8         uint64                      S, the number of sequences
    8         uint64                      D, the number of entries of the document index
    4 * S     int32[S]                    tokens per sequence
    8 * S     int64[S]                    byte offset of each sequence in ``.bin``
    8 * D     int64[D]                    document index: ``0`` then, per document, the
                                          index of the sequence after its last one
    ========  ==========================  ===========================================

corpusforge writes one sequence per document, so ``D == S + 1`` and the document index
is ``0, 1, ..., S``. Token ids are ``uint16`` when the vocabulary has fewer than 65,500
entries (Megatron's own rule), ``int32`` otherwise.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from corpusforge.io.atomic import AtomicFile
from corpusforge.io.storage import filesystem

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES: dict[int, type[np.generic]] = {
    1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32,
    8: np.uint16,
}
_CODE_OF = {np.dtype(v): k for k, v in DTYPE_CODES.items()}

def dtype_for_vocab(vocab_size: int) -> np.dtype:
    """Megatron's choice: uint16 below 65,500 ids, int32 above."""
    return np.dtype(np.uint16 if vocab_size < 65500 else np.int32)


class MegatronWriter:
    """Append documents (flat ids + offsets) and commit ``<prefix>.bin`` / ``.idx`` atomically."""

    def __init__(self, prefix: str | Path, vocab_size: int) -> None:
        self.prefix = str(prefix)
        self.dtype = dtype_for_vocab(vocab_size)
        self.vocab_size = vocab_size
        self._bin = AtomicFile(self.prefix + ".bin")
        self._lengths: list[np.ndarray] = []

    def add(self, offsets: np.ndarray, ids: np.ndarray) -> None:
        """Documents ``ids[offsets[i]:offsets[i+1]]`` for every ``i``."""
        offsets = np.asarray(offsets, dtype=np.int64)
        ids = np.asarray(ids)
        if ids.size and int(ids.max()) >= self.vocab_size:
            raise ValueError(f"token id {int(ids.max())} is outside the vocabulary ({self.vocab_size})")
        self._bin.file.write(ids.astype(self.dtype, copy=False).tobytes())
        self._lengths.append(np.diff(offsets).astype(np.int32))

    def commit(self) -> tuple[str, str]:
        """Close the files and rename them into place; returns the two paths."""
        self._bin.close()
        idx = AtomicFile(self.prefix + ".idx")
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int32)
        pointers = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths) > 1:
            np.cumsum(lengths[:-1].astype(np.int64) * self.dtype.itemsize, out=pointers[1:])
        doc_index = np.arange(len(lengths) + 1, dtype=np.int64)
        with idx.file as f:
            f.write(MAGIC)
            f.write(struct.pack("<Q", VERSION))
            f.write(struct.pack("<B", _CODE_OF[self.dtype]))
            f.write(struct.pack("<Q", len(lengths)))
            f.write(struct.pack("<Q", len(doc_index)))
            f.write(lengths.astype("<i4").tobytes())
            f.write(pointers.astype("<i8").tobytes())
            f.write(doc_index.astype("<i8").tobytes())
        # the index last: a reader that finds the .idx finds its .bin
        return self._bin.commit(), idx.commit()


class MegatronDataset:
    """Read an indexed dataset on any filesystem: ``len(ds)`` sequences, ``ds[i]`` its tokens.

    The index is read whole (about 20 bytes per document); ``ds[i]`` reads that sequence's
    bytes of ``.bin`` only (a ranged read on an object store).
    """

    def __init__(self, prefix: str | Path) -> None:
        prefix = str(prefix).removesuffix(".bin").removesuffix(".idx")
        self.fs, self._prefix = filesystem(prefix)
        idx = self.fs.cat_file(self._prefix + ".idx")
        head = idx[:9 + 8 + 1 + 8 + 8]
        if head[:9] != MAGIC:
            raise ValueError(f"{prefix}.idx is not a Megatron index (bad magic {head[:9]!r})")
        version, code, n_seq, n_doc = struct.unpack("<QBQQ", head[9:])
        if version != VERSION:
            raise ValueError(f"{prefix}.idx: unsupported index version {version}")
        self.dtype = np.dtype(DTYPE_CODES[code])
        at = len(head)
        self.lengths = np.frombuffer(idx, dtype="<i4", count=n_seq, offset=at)
        at += 4 * n_seq
        self.pointers = np.frombuffer(idx, dtype="<i8", count=n_seq, offset=at)
        at += 8 * n_seq
        self.document_index = np.frombuffer(idx, dtype="<i8", count=n_doc, offset=at)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        n = int(self.lengths[i])
        if n == 0:
            return np.zeros(0, self.dtype)
        start = int(self.pointers[i])
        data = self.fs.cat_file(self._prefix + ".bin", start=start, end=start + n * self.dtype.itemsize)
        return np.frombuffer(data, self.dtype)

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum(dtype=np.int64))

    @property
    def n_documents(self) -> int:
        return len(self.document_index) - 1
