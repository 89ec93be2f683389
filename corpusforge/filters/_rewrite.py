"""A filter that also rewrites the text of the documents it keeps (C4 cleanup, line extraction)."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import pyarrow as pa

from corpusforge.schema import TEXT
from corpusforge.steps.base import Filter, FilterConfigT, _set_column


class RewriteFilter(Filter[FilterConfigT]):
    """``evaluate`` returns the rewritten text with the signals; kept rows go on rewritten.

    Removed rows also carry the rewritten text (the rejects sink shows what was left).
    """

    @abstractmethod
    def rewrite(self, batch: pa.Table) -> tuple[pa.Array, dict[str, np.ndarray]]:
        """The new text column and the signal columns."""

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        return self.rewrite(batch)[1]

    def evaluate(self, batch: pa.Table) -> tuple[pa.Table, np.ndarray, pa.Array]:
        text, sig = self.rewrite(batch)
        keep, reason = self.decide(batch, sig)
        out = batch.set_column(batch.schema.get_field_index(TEXT), TEXT, text)
        for name, values in sig.items():
            out = _set_column(out, name, pa.array(values))
        return out, np.asarray(keep, dtype=bool), reason
