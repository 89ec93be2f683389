"""Mixing to token budgets: sampling plans, validation split, global shuffle, training output."""

from corpusforge.mix.config import MixConfig, SourceMix, ValidationConfig
from corpusforge.mix.plan import MixError, MixPlan, SubsetPlan, plan_mix
from corpusforge.mix.stage import Mix

__all__ = ["Mix", "MixConfig", "MixError", "MixPlan", "SourceMix", "SubsetPlan", "ValidationConfig",
           "plan_mix"]
