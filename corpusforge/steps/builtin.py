"""Built-in map steps that every pipeline can use."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.schema import TEXT
from corpusforge.steps.base import MapStep, StepConfig
from corpusforge.steps.registry import register


@register
class NoOp(MapStep[StepConfig]):
    """Pass batches through unchanged (for measuring framework overhead)."""

    name = "noop"
    adds = ()

    def process(self, batch: pa.Table) -> pa.Table:
        return batch


class NormalizeConfig(StepConfig):
    #: Unicode normalization form, or none. NFKC folds full-width ASCII and half-width kana.
    unicode: Literal["NFC", "NFKC", "none"] = "NFC"
    #: collapse runs of spaces and tabs inside lines to one space
    collapse_spaces: bool = True
    #: collapse three or more newlines to two (one blank line)
    collapse_blank_lines: bool = True
    #: strip whitespace at both ends of the document
    strip: bool = True


@register
class Normalize(MapStep[NormalizeConfig]):
    """Unicode normalization and whitespace cleanup of the text column, whole-column."""

    name = "normalize"
    adds = ()

    def process(self, batch: pa.Table) -> pa.Table:
        cfg = self.config
        text = batch.column(TEXT)
        if cfg.unicode != "none":
            text = pc.utf8_normalize(text, form=cfg.unicode)
        if cfg.collapse_spaces:
            # \u3000 (ideographic space) is left alone: it is meaningful in Japanese layout.
            text = pc.replace_substring_regex(text, pattern=r"[ \t\r\f\v]+", replacement=" ")
            text = pc.replace_substring_regex(text, pattern=r" ?\n ?", replacement="\n")
        if cfg.collapse_blank_lines:
            text = pc.replace_substring_regex(text, pattern=r"\n{3,}", replacement="\n\n")
        if cfg.strip:
            text = pc.utf8_trim_whitespace(text)
        return batch.set_column(batch.schema.get_field_index(TEXT), TEXT, text)
