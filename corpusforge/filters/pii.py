"""PII masking: e-mail, IPv4/IPv6, Japanese and international phone numbers, card numbers.

Everything but the card rule is one RE2 replacement over the whole column. Card numbers
need a Luhn check, which no regex expresses: candidate documents are found with one
vectorized regex test, and only those few documents are rewritten in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.filters import _text_stats as ts
from corpusforge.schema import TEXT
from corpusforge.steps.base import MapStep, StepConfig
from corpusforge.steps.registry import register

EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b"
_H = r"[0-9A-Fa-f]{1,4}"
#: full form, or compressed with at least two groups before "::" (so C++ a::b is left alone)
IPV6 = rf"\b(?:{_H}:){{7}}{_H}\b|\b(?:{_H}:){{2,6}}:(?:{_H}(?::{_H}){{0,5}})?\b"
#: Japanese numbers: 0X-XXXX-XXXX style, with hyphens, spaces or none; +81 form
PHONE_JA = r"(?:\+81[\- ]?|\b0)(?:\d{1,4}[\- ]?\d{1,4}[\- ]?\d{4})\b"
#: international E.164-like numbers written with a leading +
PHONE_INTL = r"\+[1-9]\d{0,2}[\- ]?(?:\(?\d{1,4}\)?[\- ]?){2,4}\d{2,4}\b"
CARD_CANDIDATE = r"\b(?:\d[ \-]?){12,18}\d\b"
_CARD_RE = re.compile(CARD_CANDIDATE)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class PiiConfig(StepConfig):
    email: str | None = "<EMAIL>"
    ip: str | None = "<IP>"
    phone: str | None = "<PHONE>"
    card: str | None = "<CARD>"
    #: add ``pii_<kind>`` count columns
    count_columns: bool = True


@register
class PiiMask(MapStep[PiiConfig]):
    """Replace e-mail addresses, IPs, phone and (Luhn-valid) card numbers with placeholders."""

    name = "pii_mask"

    def added_columns(self) -> frozenset[str]:
        cfg = self.config
        if not cfg.count_columns:
            return frozenset()
        kinds = {"pii_card": cfg.card, "pii_email": cfg.email, "pii_ip": cfg.ip, "pii_phone": cfg.phone}
        return frozenset(k for k, placeholder in kinds.items() if placeholder is not None)

    def process(self, batch: pa.Table) -> pa.Table:
        cfg = self.config
        text = ts.text_array(batch)
        counts: dict[str, np.ndarray] = {}
        # cards first: their digit runs would otherwise be eaten by the phone patterns
        if cfg.card is not None:
            text, counts["pii_card"] = _mask_cards(text, cfg.card)
        for kind, pattern, repl in (
            ("pii_email", EMAIL, cfg.email),
            ("pii_ip", f"{IPV4}|{IPV6}", cfg.ip),
            ("pii_phone", f"{PHONE_INTL}|{PHONE_JA}", cfg.phone),
        ):
            if repl is None:
                continue
            counts[kind] = ts.count(text, pattern)
            text = pc.replace_substring_regex(text, pattern=pattern, replacement=repl.replace("\\", "\\\\"))
        out = batch.set_column(batch.schema.get_field_index(TEXT), TEXT, text)
        if cfg.count_columns:
            for name, values in counts.items():
                i = out.schema.get_field_index(name)
                arr = pa.array(values, pa.int64())
                out = out.set_column(i, name, arr) if i >= 0 else out.append_column(name, arr)
        return out


def _mask_cards(text: pa.Array, placeholder: str) -> tuple[pa.Array, np.ndarray]:
    n = len(text)
    hits = np.zeros(n, np.int64)
    cand = np.flatnonzero(np.asarray(pc.match_substring_regex(text, CARD_CANDIDATE)
                                     .to_numpy(zero_copy_only=False), bool))
    if len(cand) == 0:
        return text, hits
    values = text.take(pa.array(cand)).to_pylist()
    for j, doc in enumerate(values):  # only documents that contain a 13-19 digit run

        def sub(m: re.Match, j: int = j) -> str:
            digits = re.sub(r"\D", "", m.group())
            if luhn_ok(digits):
                hits[cand[j]] += 1
                return placeholder
            return m.group()

        values[j] = _CARD_RE.sub(sub, doc)
    mask = np.zeros(n, bool)
    mask[cand] = True
    replaced = pc.replace_with_mask(text, pa.array(mask), pa.array(values, text.type))
    return replaced, hits
