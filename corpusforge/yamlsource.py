"""Safe YAML loading that remembers the line of every key, so config errors can name it.

A pipeline file may come from anyone, so loading it is bounded: the file's size, its nesting
depth and the nodes its aliases stand for are checked on the parser's events, in time linear in
the file, before anything is built from it (a few hundred bytes of nested aliases stand for a
billion nodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

#: nodes all the aliases of a file may stand for, together: far above any reuse of a shared
#: block of parameters, far below what exhausts time or memory
MAX_ALIAS_NODES = 10_000
#: nesting deeper than this is refused (composing a document recurses once per level)
MAX_DEPTH = 100
#: a pipeline file larger than this is refused (it also stops a read of /dev/zero)
MAX_FILE_BYTES = 4 * 2**20


#: what errors call a pipeline given as YAML text rather than read from a file
TEXT_NAME = "<pipeline text>"
#: what errors call a pipeline built in code, which has no file and no lines
CODE_NAME = "<pipeline>"


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

    def __reduce__(self) -> tuple:
        # rebuilt from its issues when it travels from a worker to the driver
        return type(self), (self.issues, self.file)

    def render(self) -> str:
        # no file: a pipeline built in code (one given as text is named TEXT_NAME)
        where = self.file or CODE_NAME
        lines = [
            f"{where}{f':{i.line}' if i.line is not None else ''}: {i.dotted()}: {i.message}"
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
        """The line of ``path``, else of the nearest enclosing key that has one.

        A key the YAML does not have is passed over when what follows it is there: a config
        model that expands a shorthand (a route branch written as its list of steps, ``ja:
        [...]`` for ``ja: {steps: [...]}``) reports locations with the key it added.
        """
        found: Path_ = ()
        rest = list(path)
        while rest:
            if (*found, rest[0]) in self.lines:
                found = (*found, rest.pop(0))
            elif len(rest) > 1 and (*found, rest[1]) in self.lines:
                rest.pop(0)
            else:
                break
        return self.lines.get(found)

    def issue(self, path: Path_, message: str) -> ConfigIssue:
        return ConfigIssue(tuple(path), message, self.line_of(path))


#: libyaml's parser when PyYAML was built with it (ten times faster), else the Python one
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, with a value that cannot be built (a date such as 2024-13-45, an integer
    of more digits than Python converts) reported at its line instead of raised bare."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as e:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {e}", node.start_mark) from None


def load_yaml(text: str, file: str | None = TEXT_NAME) -> YamlDoc:
    """Load YAML with the safe loader; duplicate keys, alias bombs and deep nesting are refused.

    ``file`` is what errors call the text: its file's path, or ``TEXT_NAME``."""
    lines: dict[Path_, int] = {(): 1}
    issues: list[ConfigIssue] = []
    try:
        _check_expansion(text, file)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is not None:
                # before constructing: that merges `<<:` keys into the mapping nodes themselves
                _walk(root, (), lines, issues)
            if issues:
                raise ConfigError(issues, file)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        message, line = _yaml_problem(e, text)
        raise ConfigError([ConfigIssue((), f"not valid YAML: {message}", line)], file) from None
    return YamlDoc(data, lines, file)


def _yaml_problem(e: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    """What a YAML error says and the line it happened at, without the parser's own
    ``in "<unicode string>"`` (the error names the file itself)."""
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        message = e.problem or e.context or type(e).__name__
        if e.problem_mark is not None:
            message += f" (column {e.problem_mark.column + 1})"
        if e.problem and e.context:
            cm = e.context_mark
            message += f", {e.context}" + (f" at line {cm.line + 1}, column {cm.column + 1}" if cm else "")
        return message, (mark.line + 1 if mark is not None else None)
    if isinstance(e, yaml.reader.ReaderError):
        char = e.character
        shown = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return f"unacceptable character {shown}: {e.reason}", text.count("\n", 0, e.position) + 1
    return type(e).__name__, None


def load_yaml_file(path: str | Path) -> YamlDoc:
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ConfigError([ConfigIssue((), f"cannot read pipeline file: {e}")], str(p)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([ConfigIssue((), f"a pipeline file is at most {MAX_FILE_BYTES // 2**20} MiB")],
                          str(p))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError([ConfigIssue((), f"not UTF-8 text (byte {e.start})", line)], str(p)) from None
    return load_yaml(text, str(p))


def _check_expansion(text: str, file: str | None) -> None:
    """Refuse a recursive alias, aliases standing for more than ``MAX_ALIAS_NODES`` nodes in all,
    or nesting deeper than ``MAX_DEPTH``, at the line where it happens (nothing is built yet)."""
    #: the nodes each anchor stands for, aliases inside it expanded
    size: dict[str, int] = {}
    #: the collections being read: [anchor, nodes so far]
    open_: list[list[Any]] = []
    expanded = 0

    def refuse(event: yaml.Event, message: str) -> None:
        raise ConfigError([ConfigIssue((), message, event.start_mark.line + 1)], file)

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_):
                refuse(event, f"alias *{event.anchor} refers to a node that contains it")
            n = size.get(event.anchor, 0)  # an undefined alias is the composer's error
            expanded += n
            if expanded > MAX_ALIAS_NODES:
                refuse(event, f"aliases stand for more than {MAX_ALIAS_NODES:,} nodes in all; "
                              "write the repeated values out, or alias smaller blocks")
            if open_:
                open_[-1][1] += n
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                size[event.anchor] = 1
            if open_:
                open_[-1][1] += 1
        elif isinstance(event, yaml.CollectionStartEvent):
            open_.append([event.anchor, 1])
            if len(open_) > MAX_DEPTH:
                refuse(event, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, n = open_.pop()
            if anchor is not None:
                size[anchor] = n
            if open_:
                open_[-1][1] += n


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], issues: list[ConfigIssue]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                # `? [a, b]` or `{a: 1}: ...`: no config key is a list or a mapping
                issues.append(ConfigIssue(path, "a key is a plain value, not a list or a mapping",
                                          key_node.start_mark.line + 1))
                continue
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
