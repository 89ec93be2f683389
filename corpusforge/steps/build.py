"""Steps from YAML entries: the one place where a step is resolved, validated and built.

An entry is a mapping ``{step: <registered name or module.Class>, label: <str>, **params}``, as
written in a pipeline's ``steps:``, a preset file, ``per_source``'s inner ``steps`` or made by the
``tokenizer:`` shorthand. Problems are raised as one :class:`EntryError` whose issues are located
inside the entry (``("step",)``, ``("min_chars",)`` ...), so each caller can say where the entry
is: a YAML line, a preset step, an inner step. Stages use the same resolution
(:func:`resolve_entry` with the stage registry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from corpusforge.component import Component
from corpusforge.models import unique_names
from corpusforge.steps.base import Step
from corpusforge.steps.registry import UnknownStepError, get_step_class
from corpusforge.suggest import pydantic_issues
from corpusforge.yamlsource import ConfigIssue

C = TypeVar("C", bound=Component)


class EntryError(ValueError):
    """An entry was refused; ``issues`` name the key inside the entry and what is wrong."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(_render(i) for i in issues))

    def __reduce__(self) -> tuple:
        # rebuilt from its issues when it travels from a worker (a step a Ray node cannot
        # import) to the driver; the default would call __init__ with the message
        return type(self), (self.issues,)


def _render(issue: ConfigIssue) -> str:
    # a parameter's problem names the parameter; a problem with the reference or the entry
    # itself reads on its own ("unknown step 'x'; registered steps: ...")
    if not issue.path or issue.path == ("step",) or issue.path == ("stage",):
        return issue.message
    return f"{issue.dotted()}: {issue.message}"


@dataclass(frozen=True)
class Entry(Generic[C]):
    """A validated entry: the class, its config, and the reference and label as written."""

    cls: type[C]
    config: Any
    ref: str
    label: str | None
    #: the parameters as written (what the pipeline model keeps)
    params: dict[str, Any]

    def build(self, label: str | None = None) -> C:
        """The object, labelled ``label`` (default: the entry's own label); a constructor that
        raises is an :class:`EntryError` (the class is someone's own code)."""
        try:
            return self.cls(self.config, label=label if label is not None else self.label)
        except Exception as e:  # noqa: BLE001 - reported where the entry is written
            raise EntryError([ConfigIssue((), f"{self.ref!r} cannot be built: "
                                              f"{type(e).__name__}: {e}")]) from e


def resolve_entry(entry: Any, key: str, get_class: Callable[[str], type[C]]) -> Entry[C]:
    """Check an entry ``{<key>: ref, label: ..., **params}`` against the class it names."""
    if not isinstance(entry, Mapping):
        raise EntryError([ConfigIssue((), f"a {key} is a mapping with a `{key}:` key")])
    if key not in entry:
        raise EntryError([ConfigIssue((), f"missing `{key}:` (the {key}'s registered name or "
                                          "module.Class)")])
    label = entry.get("label")
    if label is not None and not isinstance(label, str):
        raise EntryError([ConfigIssue(("label",), "a label is a string")])
    ref = str(entry[key])
    params = {k: v for k, v in entry.items() if k not in (key, "label")}
    try:
        cls = get_class(ref)
    except UnknownStepError as e:  # stages' unknown-name error is a subclass
        raise EntryError([ConfigIssue((key,), str(e))]) from None
    if not (isinstance(cls.Config, type) and issubclass(cls.Config, BaseModel)):
        raise EntryError([ConfigIssue((key,), f"{ref!r} has no config model (its `Config` is "
                                               "not a pydantic model)")])
    try:
        config = cls.Config(**params)
    except ValidationError as e:
        raise EntryError([ConfigIssue(loc, message)
                          for loc, message in pydantic_issues(cls.Config, e.errors())]) from None
    except Exception as e:  # noqa: BLE001 - a config model's own validator that fails
        raise EntryError([ConfigIssue((), f"the config of {ref!r} failed: "
                                          f"{type(e).__name__}: {e}")]) from None
    return Entry(cls, config, ref, label, params)


def resolve_step(entry: Any) -> Entry[Step]:
    """A step entry, validated: ``resolve_step({"step": "length", "min_chars": 50})``."""
    return resolve_entry(entry, "step", get_step_class)


def build_step(entry: Any, label: str | None = None) -> Step:
    """The step an entry describes, labelled ``label`` (default: the entry's ``label:``)."""
    return resolve_step(entry).build(label)


def chain_labels(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Unique names of a chain's steps: the label, else the reference, with ``#2`` ... on repeats."""
    return unique_names([str(e.get("label") or e["step"]) for e in entries])


def build_chain(entries: Sequence[Mapping[str, Any]]) -> list[Step]:
    """The steps of a chain, each labelled with its unique name (see :func:`chain_labels`)."""
    return [build_step(e, label) for e, label in zip(entries, chain_labels(entries))]
