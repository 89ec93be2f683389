"""Closest-name suggestions for a misspelt name: a step, a stage, a preset, an input type, a key.

``did_you_mean("gopher_qualty", names)`` is `` (did you mean 'gopher_quality'?)`` or ``""``;
:func:`pydantic_message` turns pydantic's errors for an unknown key or an unknown union tag into
messages that name the key and suggest one the model has, at any nesting level.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from corpusforge.models import error_message

#: how alike two names must be to be suggested (difflib's ratio); 0.6 takes one or two typos
CUTOFF = 0.6
#: the accepted keys are listed when none is close, unless there are more than this many
MAX_LISTED = 30


def closest(word: str, choices: Iterable[Any]) -> str | None:
    """The choice most like ``word`` (None when none is close enough)."""
    names = [str(c) for c in choices]
    found = difflib.get_close_matches(str(word), names, n=1, cutoff=CUTOFF)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    found = closest(word, choices)
    return f" (did you mean {found!r}?)" if found is not None else ""


def unknown_key(key: Any, choices: Sequence[str]) -> str:
    """``unknown key 'pathh' (did you mean 'path'?)``; the accepted keys when none is close."""
    hint = did_you_mean(key, choices)
    if hint or not choices:
        return f"unknown key {key!r}{hint}"
    listed = ", ".join(sorted(choices)) if len(choices) <= MAX_LISTED else f"{len(choices)} keys"
    return f"unknown key {key!r} (accepted here: {listed})"


def pydantic_message(model: type[BaseModel], error: Mapping[str, Any],
                     extra_keys: Sequence[str] = ()) -> str:
    """The message for one of pydantic's errors about ``model``: an unknown key names the key and
    suggests the closest field at that place (``extra_keys`` are also accepted at the top level);
    an unknown tag of a union (an input's ``type:``) suggests the closest tag."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "extra_forbidden" and loc:
        keys = fields_at(model, loc[:-1])
        if len(loc) == 1:
            keys = [*keys, *extra_keys]
        return unknown_key(loc[-1], keys)
    if error.get("type") == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        tag = ctx.get("tag")
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        field = str(ctx.get("discriminator", "type")).strip("'")
        return f"unknown {field} {tag!r}{did_you_mean(tag, tags)}; one of: {', '.join(tags)}"
    return error_message(error)


def pydantic_issues(model: type[BaseModel], errors: Sequence[Mapping[str, Any]],
                    extra_keys: Sequence[str] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """``(key path, message)`` for each of pydantic's errors about ``model``.

    The key paths leave out the names pydantic gives the alternatives of a union
    (``function-after[..., TokenizerSpec]``, an input's ``jsonl``), which are no keys; of the
    alternatives of a union that all failed, only the one that got furthest into the value is
    reported (a mapping with a misspelt key is a misspelt TokenizerSpec, not "not a string")."""
    found = [(*_clean(model, tuple(e.get("loc", ()))), pydantic_message(model, e, extra_keys))
             for e in errors]
    # (union's key path, alternative) -> the deepest key path its errors reached
    reach: dict[tuple[tuple[Any, ...], str], int] = {}
    for loc, choices, _ in found:
        for at, member in choices:
            key = (loc[:at], member)
            reach[key] = max(reach.get(key, 0), len(loc))
    best = {}
    for (where, _), depth in reach.items():
        best[where] = max(best.get(where, 0), depth)
    return [(loc, message) for loc, choices, message in found
            if all(reach[(loc[:at], m)] >= best[loc[:at]] for at, m in choices)]


def _clean(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[tuple[int, str]]]:
    """``loc`` without the names of union alternatives, and each one left out: ``(position in
    the key path, name)``."""
    tp: Any = model
    out: list[Any] = []
    choices: list[tuple[int, str]] = []
    for part in loc:
        members = _members(_unwrap(tp)) if tp is not None else []
        named = [m for m in members if _names_member(m, part)]
        if named or (isinstance(part, str) and len(members) > 1 and _is_member_name(part)):
            choices.append((len(out), str(part)))
            tp = named[0] if named else None
            continue
        out.append(part)
        tp = _inside(tp, part) if tp is not None else None
    return tuple(out), choices


def _is_member_name(part: str) -> bool:
    """A name pydantic gives a union alternative that is no model: ``str``, ``list[str]``..."""
    return part in ("str", "int", "float", "bool", "none") or "[" in part


def fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys the model accepts at ``loc`` (a location of a pydantic error), [] when ``loc``
    does not lead to a model."""
    tp: Any = model
    for part in loc:
        tp = _inside(tp, part)
        if tp is None:
            return []
    found = _model(tp)
    if found is None:
        return []
    return [f.alias or name for name, f in found.model_fields.items()]


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    """The alternatives of a union (None left out), or ``[tp]``."""
    if get_origin(tp) in (Union, types.UnionType):
        return [_unwrap(m) for m in get_args(tp) if m is not type(None)]
    return [tp]


def _names_member(member: Any, part: Any) -> bool:
    """Whether ``part`` of a location is the name pydantic gives a union member: a
    discriminated member's tag, or the class name (``function-after[..., TokenizerSpec]``)."""
    if not (isinstance(part, str) and isinstance(member, type) and issubclass(member, BaseModel)):
        return False
    tag = member.model_fields.get("type")
    if tag is not None and part in get_args(tag.annotation):
        return True
    return member.__name__ in re.findall(r"\w+", part)


def _inside(tp: Any, part: Any) -> Any:
    """The type found at ``part`` of a value of type ``tp``; None when there is none."""
    members = _members(_unwrap(tp))
    named = [m for m in members if _names_member(m, part)]
    if named:  # the part names the union member; it is not a key
        return named[0]
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get(part) if isinstance(part, str) else None
            if field is not None:
                return field.annotation
            continue
        origin, args = get_origin(member), get_args(member)
        if origin in (list, tuple, set, frozenset, Sequence) and isinstance(part, int) and args:
            return args[0]
        if origin in (dict, Mapping) and len(args) == 2:
            return args[1]
    return None


def _model(tp: Any) -> type[BaseModel] | None:
    for member in _members(_unwrap(tp)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None
