"""Filter presets: a named chain of steps (``filters/ja-web.yaml``) used as ``use: ja-web``
in a pipeline, a ``per_source`` chain or library code (``build_preset("ja-web")``)."""

from __future__ import annotations

from pathlib import Path

from corpusforge.resources import PresetError, find_resource
from corpusforge.steps.base import Step
from corpusforge.steps.build import EntryError, build_step, resolve_step
from corpusforge.suggest import did_you_mean


def preset_path(name: str) -> Path:
    return find_resource(name, ".yaml")


def load_preset(name: str) -> dict:
    """The parsed preset file: ``{description, steps: [{step: ..., params...}, ...]}``.

    Loaded within the limits of a pipeline file (``use:`` may name any file)."""
    from corpusforge.yamlsource import ConfigError, load_yaml_file

    path = preset_path(name)
    try:
        data = load_yaml_file(path).data
    except ConfigError as e:
        problems = "; ".join(f"line {i.line}: {i.message}" if i.line else i.message for i in e.issues)
        raise PresetError(f"preset {path}: {problems}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise PresetError(f"preset {path} must be a mapping with a `steps:` list")
    return data


def expand_preset(entry: dict) -> list[dict]:
    """Turn ``{use: ja-web, overrides: {ja_quality: {variant: strict}}}`` into step entries.

    Each preset step gets the label ``<preset>:<label or step>`` unless it has one; overrides
    are keyed by the step's label or name inside the preset. Parameters are validated here so
    that an error names the preset and the step.
    """
    unknown = set(entry) - {"use", "overrides"}
    if unknown:
        hint = "".join(did_you_mean(k, ["overrides"]) for k in sorted(unknown, key=str))
        raise PresetError(f"a `use:` entry takes only `overrides:`, not {sorted(unknown, key=str)}{hint}",
                          (sorted(unknown, key=str)[0],))
    name = str(entry["use"])
    overrides = entry.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise PresetError("`overrides` maps a step of the preset to parameters to change",
                          ("overrides",))
    data = load_preset(name)
    short = Path(name).stem
    out: list[dict] = []
    used: set[str] = set()
    for i, raw in enumerate(data["steps"]):
        if not isinstance(raw, dict) or "step" not in raw:
            raise PresetError(f"preset {name!r} step {i} needs a `step:` key")
        key = raw.get("label") or raw["step"]
        params = {k: v for k, v in raw.items() if k not in ("step", "label")}
        if key in overrides:
            if not isinstance(overrides[key], dict):
                raise PresetError(f"overrides.{key} must be a mapping of parameters", ("overrides", key))
            params.update(overrides[key])
            used.add(key)
        try:
            resolve_step({"step": raw["step"], **params})
        except EntryError as e:
            # at the override when the refused key was overridden, else at `use:` (the preset)
            first = e.issues[0].path
            where = (("overrides", key, *first) if first and first[0] in overrides.get(key, {})
                     else ("use",))
            raise PresetError(f"preset {name!r} step {key!r}: {e}", where) from None
        out.append({"step": raw["step"], "label": f"{short}:{key}", **params})
    missing = set(overrides) - used
    if missing:
        steps = [s.get("label") or s["step"] for s in data["steps"]]
        hint = "".join(did_you_mean(k, steps) for k in sorted(missing, key=str))
        raise PresetError(f"overrides name steps not in preset {name!r}: {sorted(missing, key=str)}{hint} "
                          f"(steps: {steps})", ("overrides", sorted(missing, key=str)[0]))
    return out


def build_preset(name: str, **overrides: dict) -> list[Step]:
    """The preset's steps as ready-to-use objects, for library use.

    They carry no pipeline label, as steps used alone do (annotate columns: ``<step>_keep``).
    """
    entries = expand_preset({"use": name, "overrides": overrides})
    return [build_step({k: v for k, v in e.items() if k != "label"}) for e in entries]
