"""The ``mix`` stage's configuration: token targets, source weights, epochs, validation, outputs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from corpusforge.models import NonNegativeFloat, PositiveFloat, PositiveInt, Seed, refusal
from corpusforge.schema import N_TOKENS
from corpusforge.stages.base import StageConfig
from corpusforge.tokenize.loader import TokenizerPath, TokenizerSpec


class SourceMix(StageConfig):
    #: relative sampling weight inside its language (2.0 = twice its natural share)
    weight: PositiveFloat = 1.0
    #: the language the source counts towards; default: the document's ``lang`` column
    lang: str | None = None


class ValidationConfig(StageConfig):
    #: tokens held out per subset (source, language), chosen by id hash; 0 = no validation split
    tokens_per_subset: NonNegativeFloat = 0


class MixConfig(StageConfig):
    #: tokens per language (``ja: 145e9``), or fractions of ``total`` when ``total`` is given
    targets: dict[str, NonNegativeFloat]
    total: PositiveFloat | None = None
    #: multiplies every target and the validation budget (e.g. 1e-6 to run a recipe on a sample)
    scale: PositiveFloat = 1.0
    #: upsampling cap: no source is repeated more than this many times
    max_epochs: float = Field(4.0, ge=1)
    sources: dict[str, SourceMix] = {}
    validation: ValidationConfig = ValidationConfig()
    #: what to write: Parquet shards, LLM-jp JSONL (``{"text", "meta"}``), Megatron ``.bin``/``.idx``
    outputs: list[Literal["parquet", "jsonl", "megatron"]] = ["parquet"]
    #: needed for ``megatron`` when the documents carry no ``token_ids`` column
    tokenizer: TokenizerPath | TokenizerSpec | None = None
    #: append the end-of-document id to every Megatron sequence (unless the ids already end in it)
    append_eod: bool = True
    #: keep the ``token_ids`` column in Parquet output
    parquet_ids: bool = False
    #: number of shuffled output shards (default: one per input shard)
    shards: PositiveInt | None = None
    #: salts the sampling and shuffle hashes: change it for a different draw
    seed: Seed = 0
    #: relative tolerance of a language target (what "met" means)
    tolerance: float = Field(1e-3, gt=0, lt=1)
    n_tokens_column: str = N_TOKENS

    @model_validator(mode="after")
    def _check(self) -> MixConfig:
        if not self.targets:
            raise refusal("MixConfig", [(("targets",), "`targets` needs at least one language", self.targets)])
        if self.total is not None and sum(self.targets.values()) > 1 + 1e-9:
            raise refusal("MixConfig", [(("targets",), "with `total`, targets are fractions that sum "
                                         f"to at most 1, not {sum(self.targets.values()):g}",
                                         self.targets)])
        if "megatron" in self.outputs and self.tokenizer is None:
            # refused up front, not after the map phase: the vocabulary fixes the .bin dtype
            raise ValueError("megatron output needs `tokenizer` (its vocabulary size sets the token dtype)")
        return self

    def language_targets(self) -> dict[str, float]:
        """Targets in tokens, after ``total`` and ``scale``."""
        base = self.total if self.total is not None else 1.0
        return {lang: v * base * self.scale for lang, v in self.targets.items()}

    @property
    def validation_tokens(self) -> float:
        return self.validation.tokens_per_subset * self.scale
