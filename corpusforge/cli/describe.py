"""Plain-data descriptions of steps, filters and stages, and their text rendering (CLI listings)."""

from __future__ import annotations

import json

from pydantic.fields import PydanticUndefined
from rich.console import Console
from rich.text import Text


def _default(field) -> object:
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is PydanticUndefined:
        return "required"
    return value.model_dump() if hasattr(value, "model_dump") else value


def _type_name(annotation) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def describe(cls: type, kind: str, config: type | None = None, doc: str | None = None) -> dict:
    """Class path, kind, first docstring line and ``{param: {type, default}}`` of a component
    (its parameters are those of ``cls.Config`` unless ``config`` is given)."""
    model = cls.Config if config is None else config
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "kind": kind,
        "doc": doc if doc is not None else (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
        "params": {p: {"type": _type_name(f.annotation), "default": _default(f)}
                   for p, f in model.model_fields.items() if p != "type" or config is None},
    }


def first_paragraph(text: str | None) -> str:
    """A docstring's first paragraph on one line (module docstrings wrap mid-sentence)."""
    return " ".join((text or "").strip().split("\n\n")[0].split())


def render(console: Console, name: str, info: dict) -> None:
    # Text(...) everywhere: docstrings and defaults are shown literally, never as markup
    console.print(Text.assemble((name, "bold cyan"), f"  [{info['kind']}]  {info['class']}"))
    if info["doc"]:
        console.print(Text(f"  {info['doc']}"))
    for p, spec in info["params"].items():
        default = json.dumps(spec["default"], ensure_ascii=False, default=str)
        console.print(Text(f"    {p}: {spec['type']} = {default}"))
    console.print()
