"""Global stages: work that needs all shards (dedup clustering, mixing, global shuffle).

See ``docs/architecture.md`` (Global stages) for the contract.
"""

from corpusforge.stages.base import Stage, StageConfig
from corpusforge.stages.context import StageContext
from corpusforge.stages.registry import get_stage_class, register_stage, registered_stages

__all__ = ["Stage", "StageConfig", "StageContext", "get_stage_class", "register_stage",
           "registered_stages"]
