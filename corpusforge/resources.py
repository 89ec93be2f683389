"""Shipped resources: filter presets (``use: ja-web``) and word lists (``words: ja/adult``).

A name is looked up, in order, in the package data shipped in the wheel
(``corpusforge/_presets/``, built from the top-level ``filters/`` folder), in the source
tree's ``filters/``, and finally as a path to a file.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DATA = Path(__file__).resolve().parent / "_presets"
_SOURCE_TREE = Path(__file__).resolve().parents[1] / "filters"


class PresetError(LookupError):
    """A ``use:`` entry was refused; ``path`` is where inside the entry (``("use",)``, or the
    override that was refused: ``("overrides", "ja_quality", "max_zlib_ratio")``)."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ("use",)) -> None:
        super().__init__(message)
        self.path = path


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


def load_words(ref: str) -> list[str]:
    """A word list: ``ja/adult`` (shipped) or a path. One entry per line, ``#`` comments."""
    path = find_resource(ref, ".txt", "wordlists")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            out.append(word)
    return out
