"""Value types shared by every config model: the strict base model, sizes, field mappings,
and the mark of a field that names a file a step needs (:class:`NeedsFile`).

The bottom layer: input, step and stage models all build on these, so nothing here may
import from the rest of the package.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

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


@dataclass(frozen=True)
class NeedsFile:
    """Marks a config field as a file a step or stage needs: ``Annotated[str, NeedsFile(...)]``.

    The config layer checks every marked value when a pipeline is validated, before any work
    and without loading the file (:func:`corpusforge.resources.file_problem`): a missing or
    unreadable file is a config error at the field's YAML line, not an error at run time.
    """

    #: what messages call the file (``word list``, ``fastText model``)
    what: str
    #: the folder of shipped resources a bare name is looked up in first (``wordlists``)
    shipped: str = ""
    #: the file suffix of shipped names (``.txt``)
    suffix: str = ""
    #: a folder is accepted when it holds a file matching one of these patterns
    folder_holds: tuple[str, ...] = ()
    #: the loader reads URLs (``s3://...``, through fsspec); otherwise a URL is refused
    remote: bool = False


@dataclass(frozen=True)
class FileRef:
    """A value of a :class:`NeedsFile` field: where it is in the config, and the file it names."""

    key: tuple[str | int, ...]
    value: str
    need: NeedsFile


def needed_files(config: BaseModel) -> list[FileRef]:
    """Every file the config names in a :class:`NeedsFile` field, defaults included, at any depth
    (nested models, lists, mappings, unions)."""
    out: list[FileRef] = []
    for name, field in type(config).model_fields.items():
        _collect(field.annotation, field.metadata, getattr(config, name), (name,), out)
    return out


def _collect(tp: Any, metadata: Any, value: Any, key: tuple, out: list[FileRef]) -> None:
    need = next((m for m in metadata if isinstance(m, NeedsFile)), None)
    if need is not None:
        if isinstance(value, str):
            out.append(FileRef(key, value, need))
        return
    if value is None:
        return
    if isinstance(value, BaseModel):
        out += [FileRef((*key, *ref.key), ref.value, ref.need) for ref in needed_files(value)]
        return
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        _collect(args[0], args[1:], value, key, out)
    elif origin in (Union, types.UnionType):
        for member in args:  # the member the value was validated as
            base = get_args(member)[0] if get_origin(member) is Annotated else member
            cls = get_origin(base) or base
            if isinstance(cls, type) and isinstance(value, cls):
                _collect(member, (), value, key, out)
                return
    elif isinstance(value, (list, tuple)) and args:
        for i, item in enumerate(value):
            item_type = args[0] if origin is not tuple or args[-1] is Ellipsis else args[min(i, len(args) - 1)]
            _collect(item_type, (), item, (*key, i), out)
    elif isinstance(value, dict) and len(args) == 2:
        for k, item in value.items():
            _collect(args[1], (), item, (*key, k), out)


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
