"""Length bounds on characters and bytes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.models import NonNegativeInt
from corpusforge.schema import TEXT
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register


class LengthConfig(FilterConfig):
    ordered = (("min_chars", "max_chars"), ("min_bytes", "max_bytes"))

    min_chars: NonNegativeInt = 0
    max_chars: NonNegativeInt | None = None
    min_bytes: NonNegativeInt = 0
    max_bytes: NonNegativeInt | None = None


@register
class LengthFilter(Filter[LengthConfig]):
    """Keep documents whose length in characters and UTF-8 bytes is within bounds."""

    name = "length"
    adds = ("n_chars", "n_bytes")

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        text = batch.column(TEXT)
        return {
            "n_chars": pc.utf8_length(text).to_numpy(zero_copy_only=False),
            "n_bytes": pc.binary_length(text).to_numpy(zero_copy_only=False),
        }

    def decide(self, batch, signals):
        cfg = self.config
        chars, nbytes = signals["n_chars"], signals["n_bytes"]
        big = np.iinfo(np.int64).max
        rules = [
            ("too_short", (chars < cfg.min_chars) | (nbytes < cfg.min_bytes)),
            (
                "too_long",
                (chars > (cfg.max_chars if cfg.max_chars is not None else big))
                | (nbytes > (cfg.max_bytes if cfg.max_bytes is not None else big)),
            ),
        ]
        return self.first_failure(rules, batch.num_rows)
