"""``corpusforge filters``: the filter catalogue and the shipped presets, with defaults."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

console = Console()


def catalogue() -> dict:
    """Every filter-library step and every preset, as plain data."""
    from corpusforge.cli.describe import describe
    from corpusforge.resources import available
    from corpusforge.steps.presets import load_preset, preset_path
    from corpusforge.steps.registry import registered_steps

    steps = {}
    for name, cls in registered_steps().items():
        if not cls.__module__.startswith("corpusforge.filters"):
            continue
        steps[name] = describe(cls, "filter" if hasattr(cls, "decide") else "map")
    presets = {}
    for name in available(".yaml"):
        data = load_preset(name)
        presets[name] = {
            "path": str(preset_path(name)),
            "description": data.get("description", ""),
            "steps": data["steps"],
        }
    return {"filters": steps, "presets": presets}


def filters(
    name: Annotated[Optional[str], typer.Argument(help="show one filter or preset")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List every filter and preset with its parameters and defaults."""
    from corpusforge.cli.describe import render

    cat = catalogue()
    if name is not None:
        cat = {
            "filters": {k: v for k, v in cat["filters"].items() if k == name},
            "presets": {k: v for k, v in cat["presets"].items() if k == name},
        }
        if not cat["filters"] and not cat["presets"]:
            console.print(Text(f"no filter or preset named {name!r}", style="red"))
            raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(cat, ensure_ascii=False, indent=2, default=str))
        return
    if cat["filters"]:
        console.print(Text("Filters", style="bold underline"))
    for fname, info in cat["filters"].items():
        render(console, fname, info)
    if cat["presets"]:
        console.print(Text("Presets (use: NAME)", style="bold underline"))
    for pname, info in cat["presets"].items():
        console.print(Text.assemble((pname, "bold magenta"), f"  {info['description']}  ({info['path']})"), soft_wrap=True)
        for step in info["steps"]:
            params = {k: v for k, v in step.items() if k not in ("step", "label")}
            shown = json.dumps(params, ensure_ascii=False) if params else "(defaults)"
            console.print(Text(f"    - {step['step']}: {shown}"), soft_wrap=True)
        console.print()
