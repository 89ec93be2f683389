"""Value types shared by every config model: the strict base model, sizes, field mappings.

The bottom layer: input, step and stage models all build on these, so nothing here may
import from the rest of the package.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)


def _size(value: Any, parse: ValidatorFunctionWrapHandler) -> Any:
    """Parse with pydantic's ByteSize, keeping this project's rules and messages."""
    if isinstance(value, bool):  # ByteSize would take YAML `true` for one byte
        raise ValueError("expected a size such as 64MB")
    if isinstance(value, float):  # ByteSize refuses 1.5; a plain number of bytes rounds down
        value = int(value)
    try:
        return parse(value)
    except ValidationError as e:
        if any(err["type"].startswith("byte_size") for err in e.errors()):
            raise ValueError(f"expected a size such as 64MB or 1GiB, got {value!r}") from None
        raise


#: a positive number of bytes: ``64MB``, ``1GiB``, ``500k``, ``500kB`` or a plain integer
Size = Annotated[ByteSize, WrapValidator(_size), Field(gt=0)]

_SIZE = TypeAdapter(Size)


def parse_size(value: Any) -> int:
    """A size as a config field reads it, in bytes (``ValidationError`` when it is not one)."""
    return int(_SIZE.validate_python(value))


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
