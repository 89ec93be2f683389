"""The top-level ``tokenizer:``, ``mix:``, ``outputs:`` and ``validation:`` keys of a pipeline.

They are shorthand, as the LLM-jp recipe writes it::

    tokenizer: {sentencepiece: path/to/model}
    mix: {targets: {ja: 145e9, en: 145e9, code: 10e9}, max_epochs: 4}
    outputs: [parquet, megatron, jsonl]
    validation: {tokens_per_subset: 10e6}

``tokenizer:`` appends a ``tokenize`` step (unless the steps already tokenize) and ``mix:``
appends the ``mix`` stage with the other three keys folded in. Errors name the YAML key and line.
"""

from __future__ import annotations

from typing import Any

from corpusforge.steps.build import EntryError, resolve_step
from corpusforge.yamlsource import ConfigIssue, YamlDoc

KEYS = ("tokenizer", "mix", "outputs", "validation")
TOKENIZE = "tokenize"
MIX = "mix"


def expand(data: dict[str, Any], doc: YamlDoc, issues: list[ConfigIssue]) -> None:
    """Move the shorthand keys of ``data`` into its (already parsed) ``steps`` and ``stages``."""
    from corpusforge.stages.build import resolve_stage
    from corpusforge.steps.registry import get_step_class

    raw = {k: data.pop(k) for k in KEYS if k in data}
    tokenizer = raw.get("tokenizer")
    if tokenizer is not None:
        try:
            tokenize = resolve_step({"step": TOKENIZE, "tokenizer": tokenizer})
        except EntryError as e:
            # the tokenizer is a union (a path or a mapping): pydantic's locations name its
            # alternatives, not keys, so every message is reported at `tokenizer`
            for msg in dict.fromkeys(i.message for i in e.issues):
                issues.append(doc.issue(("tokenizer",), msg))
            return
        # however the step is named (registered name or any import path), it is the same class
        tokenizes = any(s and get_step_class(str(s["step"])) is tokenize.cls for s in data["steps"])
        if not tokenizes:
            data["steps"].append({"step": TOKENIZE, "label": "tokenize", "params": {"tokenizer": tokenizer}})
    if "mix" not in raw:
        for key in ("outputs", "validation"):
            if key in raw:
                issues.append(doc.issue((key,), f"`{key}:` belongs to a token mix: add a `mix:` block"))
        return
    mix = raw["mix"]
    if not isinstance(mix, dict):
        issues.append(doc.issue(("mix",), "`mix` is a mapping (targets, max_epochs, sources ...)"))
        return
    for key in ("stage", "label"):
        if key in mix:  # the shorthand is always the `mix` stage, labelled `mix`
            issues.append(doc.issue(("mix", key), f"`{key}:` is not a mix parameter"))
            return
    params = dict(mix)
    for key in ("outputs", "validation", "tokenizer"):
        if key in raw:
            params.setdefault(key, raw[key])
    try:
        resolve_stage({"stage": MIX, **params})
    except EntryError as e:
        for i in e.issues:
            loc = i.path
            # a key folded in from the top level (outputs:, validation:, tokenizer:) is its own
            where = loc if loc and loc[0] in raw and loc[0] not in mix else ("mix", *loc)
            issues.append(doc.issue(where, i.message))
        return
    data["stages"].append({"stage": MIX, "label": "mix", "params": params})
