"""The input-type registry: the union the pipeline accepts, registration checks, planning."""

from __future__ import annotations

from typing import Literal

import pytest

from corpusforge.io import demo, jsonl
from corpusforge.io.inputs import INPUT_TAGS, READERS, plan_units
from corpusforge.io.reader import register_reader
from corpusforge.models import Model


def test_builtin_types_in_their_listed_order():
    assert list(READERS) == ["jsonl", "json", "parquet", "hf", "text", "tar", "demo", "warc", "commoncrawl",
                             "mc4", "pile", "stack"]
    assert set(READERS) == INPUT_TAGS
    assert READERS["jsonl"].config is jsonl.JsonlInput and READERS["demo"].read is demo.read


def test_registration_needs_a_matching_type_tag_and_a_free_name():
    class Untagged(Model):
        path: str

    class Tagged(Model):
        type: Literal["jsonl"]

    with pytest.raises(ValueError, match="needs a field `type: Literal"):
        register_reader("untagged", Untagged, jsonl.plan, jsonl.read)
    with pytest.raises(ValueError, match="is taken by corpusforge.io.jsonl.JsonlInput"):
        register_reader("jsonl", Tagged, jsonl.plan, jsonl.read)


def test_units_are_numbered_across_inputs():
    inputs = [demo.DemoInput(type="demo", docs=10, units=2), demo.DemoInput(type="demo", docs=9, units=3)]
    units = plan_units(inputs)
    assert [(u.index, u.input_index, u.start, u.end) for u in units] == [
        (0, 0, 0, 5), (1, 0, 5, 10), (2, 1, 0, 3), (3, 1, 3, 6), (4, 1, 6, 9)]


def test_a_glob_over_links_to_files_finds_them(tmp_path):
    """A mirror made of symbolic links into a shared folder is read like one of files."""
    from corpusforge.io.files import expand

    (tmp_path / "data").mkdir()
    (tmp_path / "mirror").mkdir()
    for name in ("ja.jsonl", "en.jsonl"):
        (tmp_path / "data" / name).write_text('{"text": "吾輩は猫である"}\n', encoding="utf-8")
        (tmp_path / "mirror" / name).symlink_to(tmp_path / "data" / name)
    (tmp_path / "mirror" / "gone.jsonl").symlink_to(tmp_path / "data" / "missing.jsonl")
    found = expand(str(tmp_path / "mirror" / "*.jsonl"))
    assert [name for _, name in found] == ["en.jsonl", "ja.jsonl"]
