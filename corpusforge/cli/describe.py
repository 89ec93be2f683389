"""Plain-data descriptions of steps, filters, stages and inputs, and their text rendering.

A component's parameters are its config model's fields, and those of the models nested in it,
by dotted name (``minhash.threshold``; ``sources.<name>.weight`` for a mapping of models). Each
says its type (a ``Literal``'s allowed values written out), its default, its range
(``0 <= x <= 1``) and its order with the parameter it pairs with (``>= min_chars``).
"""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo, PydanticUndefined
from rich.console import Console
from rich.text import Text

from corpusforge.cli.terminal import literal
from corpusforge.models import bounds

_UNIONS = (Union, types.UnionType)


def _default(field: FieldInfo) -> object:
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is PydanticUndefined:
        return "required"
    return value.model_dump() if hasattr(value, "model_dump") else value


def type_text(annotation: Any) -> str:
    """``int | None``, ``list["text" | "url"]``: constraints left out, a Literal's values shown."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return type_text(args[0])
    if origin in _UNIONS:
        return " | ".join(type_text(a) for a in args)
    if origin is Literal:
        return " | ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin is not None and args:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else type_text(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def choices(annotation: Any) -> list[Any]:
    """The allowed values of a ``Literal`` parameter (also inside ``X | None``); else []."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return choices(args[0])
    if origin is Literal:
        return list(args)
    if origin in _UNIONS:
        return [v for a in args for v in choices(a)]
    return []


def _number(value: float) -> str:
    if isinstance(value, int) and value >= 2**20 and value & (value - 1) == 0:
        return f"2^{value.bit_length() - 1}"
    return repr(value)


def _bounds_text(b: dict[str, float]) -> str:
    low = ("<=", b["ge"]) if "ge" in b else ("<", b["gt"]) if "gt" in b else None
    high = ("<=", b["le"]) if "le" in b else ("<", b["lt"]) if "lt" in b else None
    if low and high:
        return f"{_number(low[1])} {low[0]} x {high[0]} {_number(high[1])}"
    if low:
        return f"{'>=' if low[0] == '<=' else '>'} {_number(low[1])}"
    if high:
        return f"{high[0]} {_number(high[1])}"
    return ""


def range_text(annotation: Any, metadata: tuple[Any, ...] = ()) -> str:
    """The range of a numeric parameter (``0 <= x <= 1``), of each item of a list
    (``each >= 1``), each value of a mapping, or each position of a tuple; "" when none."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return range_text(args[0], (*metadata, *args[1:]))
    if origin in _UNIONS:
        return next((r for a in args if (r := range_text(a, metadata))), "")
    if origin in (list, set, frozenset):
        inner = range_text(args[0])
        return f"each {inner}" if inner else ""
    if origin is dict:
        inner = range_text(args[1])
        return f"each value {inner}" if inner else ""
    if origin is tuple:
        parts = [range_text(a) or "any" for a in args if a is not Ellipsis]
        return f"({', '.join(parts)})" if any(p != "any" for p in parts) else ""
    return _bounds_text(bounds(metadata))


def _order_text(model: type[BaseModel], name: str) -> str:
    pairs = getattr(model, "ordered", ())
    return ", ".join([f"<= {high}" for low, high in pairs if low == name]
                     + [f">= {low}" for low, high in pairs if high == name])


def _nested(annotation: Any, suffix: str = "") -> list[tuple[type[BaseModel], str]]:
    """The config models inside a parameter's type, each with the suffix of their parameters'
    names: ``""`` (``minhash.threshold``), ``".<name>"`` (a mapping's values), ``"[]"`` (a list's
    items)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, suffix)]
    if origin is Annotated:
        return _nested(args[0], suffix)
    if origin in _UNIONS:
        return [m for a in args for m in _nested(a, suffix)]
    if origin in (list, set, frozenset):
        return _nested(args[0], f"{suffix}[]")
    if origin is dict:
        return _nested(args[1], f"{suffix}.<name>")
    return []


def parameters(model: type[BaseModel], prefix: str = "", skip: tuple[str, ...] = (),
               _seen: tuple[type, ...] = ()) -> dict[str, dict]:
    """``{dotted name: {type, default[, choices][, range][, order]}}`` of a config model and the
    models nested in it (``skip``: top-level fields not shown)."""
    out: dict[str, dict] = {}
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        spec: dict[str, Any] = {"type": type_text(field.annotation), "default": _default(field)}
        if allowed := choices(field.annotation):
            spec["choices"] = allowed
        if span := range_text(field.annotation, tuple(field.metadata)):
            spec["range"] = span
        if order := _order_text(model, name):
            spec["order"] = order
        key = prefix + name
        out[key] = spec
        for sub, suffix in _nested(field.annotation):
            if sub not in _seen:
                out.update(parameters(sub, f"{key}{suffix}.", _seen=(*_seen, model, sub)))
    return out


def describe(cls: type, kind: str, config: type | None = None, doc: str | None = None) -> dict:
    """Class path, kind, first docstring line and the :func:`parameters` of a component (those
    of ``cls.Config`` unless ``config`` is given; an input's ``type:`` tag is its name, not a
    parameter)."""
    model = cls.Config if config is None else config
    if doc is None:
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "kind": kind,
        "doc": doc,
        "params": parameters(model, skip=("type",) if config is not None else ()),
    }


def first_paragraph(text: str | None) -> str:
    """A docstring's first paragraph on one line (module docstrings wrap mid-sentence)."""
    return " ".join((text or "").strip().split("\n\n")[0].split())


def param_line(name: str, spec: dict) -> str:
    """``min_chars: int = 0  (>= 0, <= max_chars)``."""
    default = json.dumps(spec["default"], ensure_ascii=False, default=str)
    notes = ", ".join(n for n in (spec.get("range"), spec.get("order")) if n)
    return f"{name}: {spec['type']} = {default}" + (f"  ({notes})" if notes else "")


def render(console: Console, name: str, info: dict) -> None:
    """One component: its name, kind and class, its docstring line, a line per parameter.

    Printed soft-wrapped: a line is never cut or folded to the terminal's width (the terminal
    wraps it), so names, ranges and defaults always appear whole, and a line can be searched for.
    """
    # literal(...) everywhere: docstrings and defaults are shown as written, never as markup
    console.print(Text.assemble(literal(name, "bold cyan"), literal(f"  [{info['kind']}]  {info['class']}")),
                  soft_wrap=True)
    if info["doc"]:
        console.print(literal(f"  {info['doc']}"), soft_wrap=True)
    for p, spec in info["params"].items():
        console.print(literal(f"    {param_line(p, spec)}"), soft_wrap=True)
    console.print()
