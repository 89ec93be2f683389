"""Input types for known corpora: mC4 / C4, the Pile and The Stack.

Each is a preset over the JSONL, Parquet or ``datasets`` reader: its model fixes the field
mapping and the defaults the corpus needs and turns itself into that reader's model
(``delegate``), which plans and reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pyarrow as pa
from pydantic import Field

from corpusforge.errors import ErrorRecord
from corpusforge.io.batching import BatchConfig
from corpusforge.io.hf import HFInput
from corpusforge.io.jsonl import JsonlInput
from corpusforge.io.parquet import ParquetInput
from corpusforge.io.reader import reader_for, register_reader
from corpusforge.io.units import WorkUnit
from corpusforge.models import FieldMapping, Size


class MC4Input(FieldMapping):
    """mC4 / C4 documents (``text``, ``url``, ``timestamp``).

    With ``path`` set: local or remote ``*.json.gz`` files in mC4's layout, read by the
    JSONL reader. Without it: the ``datasets`` loader ``dataset`` with config ``language``,
    streamed.
    """

    type: Literal["mc4"]
    path: str | list[str] | None = None
    #: ``datasets`` name when ``path`` is not given
    dataset: str = "allenai/c4"
    #: the language config of mC4 (``ja``, ``en`` ...); none for builders without configs
    language: str | None = "ja"
    #: ``data_files`` for the ``datasets`` loader (e.g. ``dataset: json`` over local files)
    data_files: str | list[str] | dict[str, str | list[str]] | None = None
    split: str = "train"
    num_shards: int = Field(1, ge=1)
    id: str | None = None
    metadata: list[str] = ["timestamp"]
    source: str | None = None
    unit_bytes: Size = 64 * 2**20
    max_doc_bytes: Size = 64 * 2**20

    def delegate(self) -> JsonlInput | HFInput:
        common = dict(text=self.text, id=self.id, url=self.url, metadata=self.metadata,
                      source=self.source, max_doc_bytes=self.max_doc_bytes)
        if self.path is not None:
            return JsonlInput(type="jsonl", path=self.path, unit_bytes=self.unit_bytes, **common)
        return HFInput(type="hf", path=self.dataset, config_name=self.language,
                       data_files=self.data_files, split=self.split,
                       num_shards=self.num_shards, **common)


class PileInput(FieldMapping):
    """The Pile: ``*.jsonl.zst`` with ``text`` and ``meta.pile_set_name``."""

    type: Literal["pile"]
    path: str | list[str]
    id: str | None = None
    url: str | None = None
    metadata: list[str] = ["meta.pile_set_name"]
    source: str | None = None
    unit_bytes: Size = 64 * 2**20
    max_doc_bytes: Size = 64 * 2**20

    def delegate(self) -> JsonlInput:
        return JsonlInput(type="jsonl", path=self.path, text=self.text, id=self.id, url=self.url,
                          metadata=self.metadata, source=self.source, unit_bytes=self.unit_bytes,
                          max_doc_bytes=self.max_doc_bytes)


class StackInput(FieldMapping):
    """The Stack: Parquet with ``content``, ``path`` and ``lang`` columns.

    The reader keeps every row, so that each is accounted for; files outside the extension
    allow-list are removed later by the ``code_route`` step (reason ``extension``).
    """

    type: Literal["stack"]
    path: str | list[str]
    text: str = "content"
    id: str | None = "hexsha"
    url: str | None = None
    metadata: list[str] = ["max_stars_repo_path", "lang"]
    source: str | None = None
    unit_bytes: Size = 256 * 2**20
    max_doc_bytes: Size = 64 * 2**20

    def delegate(self) -> ParquetInput:
        return ParquetInput(type="parquet", path=self.path, text=self.text, id=self.id, url=self.url,
                            metadata=self.metadata, source=self.source, unit_bytes=self.unit_bytes,
                            max_doc_bytes=self.max_doc_bytes)


CorpusInput = MC4Input | PileInput | StackInput


def plan(cfg: CorpusInput, input_index: int) -> list[WorkUnit]:
    inner = cfg.delegate()
    return reader_for(inner.type).plan(inner, input_index)


def read(unit: WorkUnit, cfg: CorpusInput, source: str, batch: BatchConfig
         ) -> Iterator[pa.Table | ErrorRecord]:
    inner = cfg.delegate()
    return reader_for(inner.type).read(unit, inner, source, batch)


register_reader("mc4", MC4Input, plan, read)
register_reader("pile", PileInput, plan, read)
register_reader("stack", StackInput, plan, read)
