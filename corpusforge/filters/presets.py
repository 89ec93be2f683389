"""Filter presets and word lists: ``use: ja-web`` in a pipeline, ``words: ja/adult`` in a filter.

A name is looked up, in order, in the package data shipped in the wheel
(``corpusforge/_presets/``, built from the top-level ``filters/`` folder), in the source
tree's ``filters/``, and finally as a path to a file.
"""

from __future__ import annotations

from pathlib import Path

from corpusforge.steps.base import Step
from corpusforge.steps.build import EntryError, build_step, resolve_step

_PACKAGE_DATA = Path(__file__).resolve().parents[1] / "_presets"
_SOURCE_TREE = Path(__file__).resolve().parents[2] / "filters"


class PresetError(LookupError):
    pass


def resource_roots() -> list[Path]:
    return [p for p in (_PACKAGE_DATA, _SOURCE_TREE) if p.is_dir()]


def find_resource(name: str, suffix: str, kind: str = "") -> Path:
    """Resolve a shipped resource (``ja-web`` -> ``filters/ja-web.yaml``) or a file path."""
    stem = name[: -len(suffix)] if name.endswith(suffix) else name  # `ja-web` or `ja-web.yaml`
    rel = Path(kind) / f"{stem}{suffix}" if kind else Path(f"{stem}{suffix}")
    if not Path(name).is_absolute():
        for root in resource_roots():
            candidate = root / rel
            if candidate.is_file():
                return candidate
    path = Path(name).expanduser()
    if path.is_file():
        return path
    shipped = ", ".join(available(suffix, kind)) or "none"
    raise PresetError(f"no {kind or 'preset'} named {name!r} and no such file (shipped: {shipped})")


def available(suffix: str = ".yaml", kind: str = "") -> list[str]:
    """Names of the shipped presets (or word lists, with ``kind='wordlists'``)."""
    names: set[str] = set()
    for root in resource_roots():
        base = root / kind if kind else root
        if base.is_dir():
            pattern = f"**/*{suffix}" if kind else f"*{suffix}"
            names.update(str(p.relative_to(base))[: -len(suffix)] for p in base.glob(pattern))
    return sorted(names)


def preset_path(name: str) -> Path:
    return find_resource(name, ".yaml")


def load_words(ref: str) -> list[str]:
    """A word list: ``ja/adult`` (shipped) or a path. One entry per line, ``#`` comments."""
    path = find_resource(ref, ".txt", "wordlists")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            out.append(word)
    return out


def load_preset(name: str) -> dict:
    """The parsed preset file: ``{description, steps: [{step: ..., params...}, ...]}``."""
    import yaml

    path = preset_path(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
        raise PresetError(f"a `use:` entry takes only `overrides:`, not {sorted(unknown)}")
    name = str(entry["use"])
    overrides = entry.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise PresetError("`overrides` maps a step of the preset to parameters to change")
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
                raise PresetError(f"overrides.{key} must be a mapping of parameters")
            params.update(overrides[key])
            used.add(key)
        try:
            resolve_step({"step": raw["step"], **params})
        except EntryError as e:
            raise PresetError(f"preset {name!r} step {key!r}: {e}") from None
        out.append({"step": raw["step"], "label": f"{short}:{key}", **params})
    missing = set(overrides) - used
    if missing:
        steps = [s.get("label") or s["step"] for s in data["steps"]]
        raise PresetError(f"overrides name steps not in preset {name!r}: {sorted(missing)} (steps: {steps})")
    return out


def build_preset(name: str, **overrides: dict) -> list[Step]:
    """The preset's steps as ready-to-use objects, for library use.

    They carry no pipeline label, as steps used alone do (annotate columns: ``<step>_keep``).
    """
    entries = expand_preset({"use": name, "overrides": overrides})
    return [build_step({k: v for k, v in e.items() if k != "label"}) for e in entries]
