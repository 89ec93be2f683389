"""Steps a user might write, used by the tests through their dotted import path."""

from __future__ import annotations

import os
import sys
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


class HoldConfig(StepConfig):
    #: where the step says it runs (``running-<node>-<first position>``) and finds ``go``
    folder: str
    #: only batches holding a document at or past this position wait
    from_pos: int = 0
    #: also go on once this many nodes have said they run (0: only ``go``)
    nodes: int = 0


class Hold(MapStep):
    """Wait, inside a task, until a test lets it go (a file ``go``) or until tasks run on
    ``nodes`` nodes at once: a test knows that a task is running and on which Ray node, so what
    it does to a node or a cluster is decided, not timed."""

    Config = HoldConfig

    def process(self, batch: pa.Table) -> pa.Table:
        positions = batch.column("__pos")
        if pc.max(positions).as_py() < self.config.from_pos:
            return batch
        folder = self.config.folder
        ray = sys.modules.get("ray")
        node = ray.get_runtime_context().get_node_id() if ray is not None and ray.is_initialized() else "local"
        open(os.path.join(folder, f"running-{node}-{pc.min(positions).as_py()}"), "w").close()
        deadline = time.monotonic() + 120  # a test that never says go fails, it does not hang
        while not os.path.exists(os.path.join(folder, "go")):
            running = {n.split("-")[1] for n in os.listdir(folder) if n.startswith("running-")}
            if self.config.nodes and len(running) >= self.config.nodes:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"nobody created {folder}/go")
            time.sleep(0.05)
        return batch
