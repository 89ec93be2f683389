"""Value types shared by every config model (sizes, strict models, field mappings).

Kept apart from ``corpusforge.config`` so that input models defined elsewhere
(``corpusforge.io.web_inputs``) can use them without importing the pipeline model.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(value: Any) -> int:
    """``64MB``, ``1GiB``, ``500k`` or a plain integer, in bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 64MB")
    if isinstance(value, int | float):
        return int(value)
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"expected a size such as 64MB or 1GiB, got {value!r}")
    number, unit = float(m.group(1)), (m.group(2) or "").lower()
    base = _UNITS.get(unit[:1], 1)
    if "i" in unit:
        base = {1: 1, 10**3: 2**10, 10**6: 2**20, 10**9: 2**30, 10**12: 2**40}[base]
    return int(number * base)


ByteSize = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMapping(Model):
    """Which keys of a record hold the text, id and url; which others to keep as columns.

    Dotted names reach into nested objects (``meta.pile_set_name``); a kept key
    becomes a string column named after its last part.
    """

    text: str = "text"
    id: str | None = "id"
    url: str | None = "url"
    metadata: list[str] = []


def unique_names(names: list[str]) -> list[str]:
    """Repeated names get ``#2``, ``#3`` ... so that stats and rejects tell them apart."""
    out: list[str] = []
    for base in names:
        name, n = base, 1
        while name in out:
            n += 1
            name = f"{base}#{n}"
        out.append(name)
    return out
