"""The ``dedup`` stage's typed configuration."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from corpusforge.dedup.minhash import ShingleSpec
from corpusforge.dedup.normalize import Normalization
from corpusforge.models import Seed, refusal
from corpusforge.schema import LANG
from corpusforge.stages.base import StageConfig

#: which document of a cluster is kept: ``first`` in input order, ``longest`` text,
#: ``newest``/``oldest`` by a date column, ``highest``/``lowest`` value of a column
KeepPolicy = Literal["first", "longest", "newest", "oldest", "highest", "lowest"]


class ExactConfig(StageConfig):
    """Exact duplicates: same normalised text, and/or same URL."""

    on: list[Literal["text", "url"]] = Field(default_factory=lambda: ["text"], min_length=1)
    #: what the text hash ignores (docs/dedup.md: what each option removes)
    normalize: Normalization = Normalization()

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads an unquoted `on:` key as the boolean true
        if isinstance(data, dict) and True in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data


class MinHashConfig(StageConfig):
    """Near duplicates: MinHash signatures, LSH bands, connected components."""

    threshold: float = Field(0.8, gt=0.0, lt=1.0)
    num_perm: int = Field(128, ge=2, le=1024)
    #: LSH shape; by default the optimum for ``threshold`` (datasketch's criterion)
    bands: int | None = Field(None, ge=1)
    rows: int | None = Field(None, ge=1)
    #: shingles per value of ``lang_column``; ``char<n>`` or ``word<n>``
    shingles: dict[str, str] = Field(default_factory=lambda: {"ja": "char5", "zh": "char5",
                                                              "en": "word5", "code": "word5"})
    #: shingles for documents whose language is not in ``shingles`` (or with no language
    #: column): ``auto`` is char5 for mostly Japanese/Chinese script, else word5
    default: str = "auto"
    lang_column: str = LANG
    #: keep a candidate pair only if its estimated Jaccard similarity reaches the threshold
    verify: bool = False
    seed: Seed = 1
    #: the keep policy (an alias of the stage's ``keep``, as the issue's YAML writes it)
    keep: KeepPolicy | None = None
    #: what the shingles ignore (docs/dedup.md: what each option removes)
    normalize: Normalization = Normalization()

    @field_validator("shingles")
    @classmethod
    def _check_shingles(cls, v: dict[str, str]) -> dict[str, str]:
        for spec in v.values():
            ShingleSpec.parse(spec)
        return v

    @field_validator("default")
    @classmethod
    def _check_default(cls, v: str) -> str:
        if v != "auto":
            ShingleSpec.parse(v)
        return v

    @model_validator(mode="after")
    def _check_shape(self) -> MinHashConfig:
        if (self.bands is None) != (self.rows is None):
            given = "bands" if self.bands is not None else "rows"
            raise refusal("MinHashConfig", [((given,), "give both `bands` and `rows`, or neither",
                                              getattr(self, given))])
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise refusal("MinHashConfig", [(("bands",), f"bands x rows = {self.bands} x {self.rows} "
                                             f"= {self.bands * self.rows} exceeds num_perm = "
                                             f"{self.num_perm} (each band takes `rows` of the "
                                             "signature's values)", self.bands)])
        return self


class DedupConfig(StageConfig):
    """``dedup``: exact and near-duplicate removal across all shards (and a persistent index)."""

    exact: ExactConfig | None = Field(default_factory=ExactConfig)
    minhash: MinHashConfig | None = None
    keep: KeepPolicy = "first"
    #: the column ``newest``/``oldest``/``highest``/``lowest`` compare (default ``date``)
    keep_column: str | None = None
    #: folder of a persistent dedup index: documents are deduplicated against everything it
    #: holds (which always wins), and the documents this run keeps are added to it
    index: str | None = None
    #: hash-range partitions per band for grouping (default: about 4M documents each)
    partitions: int | None = Field(None, ge=1, le=4096)
    #: edges above which connected components run in rounds of hash-partitioned tasks (about
    #: this many edges each) instead of one task holding them all
    edges_per_task: int = Field(8_000_000, ge=1)
    #: documents per range of the phases after the components (the kept document per
    #: cluster, sizes, reasons): bounds their tasks' memory whatever the corpus size
    docs_per_task: int = Field(4_000_000, ge=1, le=1_000_000_000)

    @model_validator(mode="after")
    def _check(self) -> DedupConfig:
        if self.exact is None and self.minhash is None:
            raise ValueError("dedup needs `exact`, `minhash` or both")
        if self.minhash and self.minhash.keep and self.keep != "first" and self.minhash.keep != self.keep:
            raise ValueError(f"keep: {self.keep!r} and minhash.keep: {self.minhash.keep!r} disagree")
        return self

    @property
    def policy(self) -> KeepPolicy:
        return (self.minhash.keep if self.minhash and self.minhash.keep else None) or self.keep

    @property
    def policy_column(self) -> str | None:
        if self.policy in ("first", "longest"):
            return None
        return self.keep_column or "date"
