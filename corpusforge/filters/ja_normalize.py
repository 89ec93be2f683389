"""Japanese normalisation: punctuation style, NFKC, and footer trimming, whole-column."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.filters import _text_stats as ts
from corpusforge.schema import TEXT
from corpusforge.steps.base import MapStep, StepConfig
from corpusforge.steps.registry import register

#: headings after which Wikipedia-style pages carry only apparatus
FOOTER_HEADINGS = [
    "脚注", "注釈", "出典", "参考文献", "関連項目", "外部リンク", "関連文献",
    "References", "External links", "See also", "Notes", "Further reading", "Bibliography",
]


class JapaneseNormalizeConfig(StepConfig):
    #: fold full-width ASCII and half-width kana (NFKC), after the punctuation step
    nfkc: bool = True
    #: rewrite ，． as 、。 in documents where they outnumber 、。 (academic style)
    fix_punctuation: bool = True
    #: cut the text at the first line that is one of these headings (empty list: off)
    footer_headings: list[str] = FOOTER_HEADINGS


@register
class JapaneseNormalize(MapStep[JapaneseNormalizeConfig]):
    """，．→ 、。 where Western-style punctuation dominates, NFKC, footer trimming."""

    name = "ja_normalize"
    adds = ()

    def process(self, batch: pa.Table) -> pa.Table:
        cfg = self.config
        text = ts.text_array(batch)
        if cfg.fix_punctuation:
            western = ts.count(text, "[，．]")
            japanese = ts.count(text, "[、。]")
            swap = pa.array(western > japanese)
            fixed = pc.replace_substring(pc.replace_substring(text, "，", "、"), "．", "。")
            text = pc.if_else(swap, fixed, text)
        if cfg.nfkc:
            text = pc.utf8_normalize(text, form="NFKC")
        if cfg.footer_headings:
            heads = "|".join(re.escape(h) for h in cfg.footer_headings)
            # a heading line (optionally with == == or # marks) and everything after it
            pattern = rf"(?s)(^|\n)[=#\s]*(?:{heads})[=\s]*(\n.*|$)"
            text = pc.replace_substring_regex(text, pattern=pattern, replacement="", max_replacements=1)
        return batch.set_column(batch.schema.get_field_index(TEXT), TEXT, text)

