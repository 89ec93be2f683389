"""Safe YAML loading that remembers the line of every key, so config errors can name it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class ConfigIssue:
    path: Path_
    message: str
    line: int | None = None

    def dotted(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out or "<root>"


class ConfigError(ValueError):
    """A pipeline config was refused; every issue names its key path and YAML line."""

    def __init__(self, issues: list[ConfigIssue], file: str | None = None) -> None:
        self.issues = issues
        self.file = file
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<config>"
        lines = [
            f"{where}:{i.line if i.line is not None else '?'}: {i.dotted()}: {i.message}"
            for i in self.issues
        ]
        return "invalid pipeline config\n" + "\n".join(lines)


@dataclass
class YamlDoc:
    """Parsed YAML data plus a map from key paths to 1-based line numbers."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    file: str | None = None

    def line_of(self, path: Path_) -> int | None:
        # fall back to the nearest enclosing key that has a line
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def issue(self, path: Path_, message: str) -> ConfigIssue:
        return ConfigIssue(tuple(path), message, self.line_of(path))


def load_yaml(text: str, file: str | None = None) -> YamlDoc:
    """Load YAML with the safe loader; duplicate keys are refused."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigIssue((), f"not valid YAML: {e}", line)], file) from None
    doc = YamlDoc(data, {(): 1}, file)
    issues: list[ConfigIssue] = []
    if root is not None:
        _walk(root, (), doc.lines, issues)
    if issues:
        raise ConfigError(issues, file)
    return doc


def load_yaml_file(path: str | Path) -> YamlDoc:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([ConfigIssue((), f"cannot read pipeline file: {e}")], str(p)) from None
    return load_yaml(text, str(p))


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], issues: list[ConfigIssue]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            if key in seen:
                issues.append(ConfigIssue(child, "duplicate key", key_node.start_mark.line + 1))
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, issues)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines, issues)
