"""Steps a user might write, used by the tests through their dotted import path."""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.steps import Filter, FilterConfig, MapStep, StepConfig


class UpperConfig(StepConfig):
    suffix: str = ""


class Upper(MapStep):
    """Upper-case the text (ASCII letters) and append a suffix."""

    Config = UpperConfig

    def process(self, batch: pa.Table) -> pa.Table:
        text = pc.binary_join_element_wise(pc.utf8_upper(batch.column("text")), self.config.suffix, "")
        return batch.set_column(batch.schema.get_field_index("text"), "text", text)


class HasDigitConfig(FilterConfig):
    min_digits: int = 1


class HasDigit(Filter):
    """Keep documents with at least ``min_digits`` ASCII digits."""

    Config = HasDigitConfig

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        return {"n_digits": pc.count_substring_regex(batch.column("text"), r"[0-9]").to_numpy(zero_copy_only=False)}

    def decide(self, batch, signals):
        return self.first_failure([("few_digits", signals["n_digits"] < self.config.min_digits)], batch.num_rows)


class ExplodeConfig(StepConfig):
    marker: str = "EXPLODE"


class Explode(MapStep):
    """Raise on any batch that holds a document containing ``marker``."""

    Config = ExplodeConfig

    def process(self, batch: pa.Table) -> pa.Table:
        if pc.any(pc.match_substring(batch.column("text"), self.config.marker)).as_py():
            raise ValueError("boom: a document this step cannot handle")
        return batch


class SlowConfig(StepConfig):
    seconds: float = 0.2


class Slow(MapStep):
    """Sleep per batch, so that a test can kill a run half-way."""

    Config = SlowConfig

    def process(self, batch: pa.Table) -> pa.Table:
        time.sleep(self.config.seconds)
        return batch


class DieOnceConfig(StepConfig):
    flag_file: str


class DieOnce(MapStep):
    """Kill its own worker process the first time it runs (to test task retries)."""

    Config = DieOnceConfig

    def process(self, batch: pa.Table) -> pa.Table:
        flag = self.config.flag_file
        try:
            fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return batch
        os.close(fd)
        os._exit(1)


class PyTitle(MapStep):
    """Title-case the text through Python strings (what many user steps do)."""

    def process(self, batch: pa.Table) -> pa.Table:
        text = pa.array([t.title() for t in batch.column("text").to_pylist()], pa.string())
        return batch.set_column(batch.schema.get_field_index("text"), "text", text)


class CorruptConfig(StepConfig):
    marker: str = "CORRUPT"


class Corrupt(MapStep):
    """A buggy step: appends a stray 0xFF byte to documents containing ``marker``."""

    Config = CorruptConfig

    def process(self, batch: pa.Table) -> pa.Table:
        raw = pc.cast(batch.column("text"), pa.binary())
        hit = pc.match_substring(batch.column("text"), self.config.marker)
        spoiled = pc.if_else(hit, pc.binary_join_element_wise(raw, pa.scalar(b"\xff"), b""), raw)
        text = pa.chunked_array([c.view(pa.string()) for c in spoiled.chunks])
        return batch.set_column(batch.schema.get_field_index("text"), "text", text)


class Surrogate(MapStep):
    """A buggy step whose error message holds a lone surrogate (a file name decoded with
    ``surrogateescape``, say)."""

    def process(self, batch: pa.Table) -> pa.Table:
        if pc.any(pc.match_substring(batch.column("text"), "SURROGATE")).as_py():
            raise ValueError("cannot open b'\\xff' as " + b"\xff.txt".decode("utf-8", "surrogateescape"))
        return batch
class QuoteFirst(MapStep):
    """Raise with the first document's text in the message (as a parser quoting its input does)."""

    def process(self, batch: pa.Table) -> pa.Table:
        raise ValueError(f"cannot handle {batch.column('text')[0].as_py()!s}")
