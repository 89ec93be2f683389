"""Documents a reader makes one at a time (a file, a paragraph, an archive member), gathered
into batches of the document schema no larger than the ``batch:`` bounds."""

from __future__ import annotations

import pyarrow as pa

from corpusforge.io.batching import BatchConfig
from corpusforge.schema import make_batch


class Gathered:
    """The documents of one file, up to a batch; ``columns`` are the extra string columns
    every document has (``None`` where a document has no value)."""

    def __init__(self, batch: BatchConfig, source: str, file: str, columns: tuple[str, ...] = ()) -> None:
        self.batch, self.source, self.file, self.columns = batch, source, file, columns
        self._reset()

    def _reset(self) -> None:
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.urls: list[str | None] = []
        self.positions: list[int] = []
        self.extra: dict[str, list[str | None]] = {c: [] for c in self.columns}
        self.nbytes = 0

    def add(self, id: str, text: str, position: int, url: str | None = None,
            extra: dict[str, str | None] | None = None) -> pa.Table | None:
        """Add a document; the batch when it is full."""
        self.ids.append(id)
        self.texts.append(text)
        self.urls.append(url)
        self.positions.append(position)
        for c in self.columns:
            self.extra[c].append((extra or {}).get(c))
        self.nbytes += len(text)  # characters: a cheap bound on the bytes that is exact for ASCII
        if len(self.ids) >= self.batch.max_docs or self.nbytes >= self.batch.max_bytes:
            return self.flush()
        return None

    def flush(self) -> pa.Table | None:
        """The documents gathered so far as a batch (None when there are none)."""
        if not self.ids:
            return None
        extra = {c: pa.array(v, pa.string()) for c, v in self.extra.items()}
        table = make_batch(self.ids, self.texts, self.source, self.file, self.positions, self.urls, extra)
        self._reset()
        return table
