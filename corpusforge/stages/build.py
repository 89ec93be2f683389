"""Stages from YAML entries, resolved and validated the way steps are (:mod:`corpusforge.steps.build`)."""

from __future__ import annotations

from typing import Any

from corpusforge.stages.base import Stage
from corpusforge.stages.registry import get_stage_class
from corpusforge.steps.build import Entry, resolve_entry


def resolve_stage(entry: Any) -> Entry[Stage]:
    """A stage entry ``{stage: <name or module.Class>, label: ..., **params}``, validated."""
    return resolve_entry(entry, "stage", get_stage_class)


def build_stage(entry: Any, label: str | None = None) -> Stage:
    """The stage an entry describes, labelled ``label`` (default: the entry's ``label:``)."""
    return resolve_stage(entry).build(label)
