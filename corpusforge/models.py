"""Value types shared by every config model: the strict base model, sizes, ranges, field
mappings, and the mark of a field that names a file a step needs (:class:`NeedsFile`).

The bottom layer: input, step and stage models all build on these, so nothing here may
import from the rest of the package.

Every number a pipeline sets has a range, so that a value that would silently remove every
document (a negative threshold, a fraction of 1.5) is refused when the pipeline is validated.
A parameter states its range with one of the types below (``min_frac: Fraction``) or with
``Field(ge=..., le=...)`` for a range of its own; a pair of parameters that bound one quantity
from both sides is declared once on the class (``ordered = (("min_chars", "max_chars"),)``)
and checked by :class:`Model` for every config.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

import annotated_types
from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError


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


#: a share of something, 0 to 1 (a threshold on a fraction of lines, characters, words ...)
Fraction = Annotated[float, Field(ge=0, le=1)]
#: a share that must leave room for a document: a threshold rejecting *at or above* it, where 0
#: would reject every document
PositiveFraction = Annotated[float, Field(gt=0, le=1)]
#: a count or length where 0 is meaningful (no minimum, off)
NonNegativeInt = Annotated[int, Field(ge=0)]
#: a count or length of at least one
PositiveInt = Annotated[int, Field(ge=1)]
#: a ratio, duration or amount that may be 0 but not below
NonNegativeFloat = Annotated[float, Field(ge=0)]
#: a ratio, duration or amount above 0
PositiveFloat = Annotated[float, Field(gt=0)]
#: a random seed; hash kernels take it as an unsigned 64-bit integer
Seed = Annotated[int, Field(ge=0, lt=2**64)]


def refusal(model: str, problems: Iterable[tuple[tuple[str | int, ...], str, Any]]) -> ValidationError:
    """A ``ValidationError`` whose problems ``(location, message, value)`` sit at their own keys.

    Raised inside a model validator, pydantic keeps those locations below the model's own, so
    the pipeline's config error names the key (and its YAML line), not only the model.
    """
    return ValidationError.from_exception_data(model, [
        InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)
        for loc, message, value in problems
    ])


class Model(BaseModel):
    """The base of every config model: unknown keys are refused, values are frozen, and each
    ``(low, high)`` pair named in :attr:`ordered` is checked (``low <= high``) when both are
    set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: pairs of parameters bounding one quantity from below and from above
    ordered: ClassVar[tuple[tuple[str, str], ...]] = ()

    def ordered_value(self, name: str) -> Any:
        """The value of ``name`` the order check compares (a config whose unset bound takes a
        value from elsewhere, such as a variant's, returns that value)."""
        return getattr(self, name)

    @model_validator(mode="after")
    def _check_order(self) -> Model:
        problems = []
        for low, high in self.ordered:
            a, b = self.ordered_value(low), self.ordered_value(high)
            if a is None or b is None or a <= b:
                continue
            # at the key the author wrote: the upper bound, or the lower one when only it is set
            key = low if low in self.model_fields_set and high not in self.model_fields_set else high
            problems.append(((key,), f"{high} ({b}) is below {low} ({a}): no document can "
                                     "satisfy both", getattr(self, key)))
        if problems:
            raise refusal(type(self).__name__, problems)
        return self


def bounds(metadata: Iterable[Any]) -> dict[str, float]:
    """The range constraints among a field's or an ``Annotated`` type's metadata, as
    ``{"ge": 0, "le": 1}`` (keys ``ge``, ``gt``, ``le``, ``lt``)."""
    out: dict[str, float] = {}
    for m in metadata:
        if isinstance(m, FieldInfo):
            out.update(bounds(m.metadata))
        elif isinstance(m, annotated_types.Interval):
            out.update({k: v for k in ("ge", "gt", "le", "lt") if (v := getattr(m, k)) is not None})
        else:
            for kind in ("ge", "gt", "le", "lt"):
                if isinstance(m, getattr(annotated_types, kind.capitalize())):
                    out[kind] = getattr(m, kind)
    return out


#: pydantic's error types for a value outside its range
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def error_message(error: Mapping[str, Any]) -> str:
    """The message of one of pydantic's errors, with the refused value when it is out of range
    (``Input should be greater than or equal to 0, got -1``)."""
    if error["type"] in _RANGE_ERRORS:
        return f"{error['msg']}, got {error['input']!r}"
    return error["msg"]


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
