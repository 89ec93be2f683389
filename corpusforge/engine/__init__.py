"""The run engine: one driver for the map phase and every global stage."""

from corpusforge.engine.driver import run_pipeline
from corpusforge.engine.output import OutputExistsError

__all__ = ["OutputExistsError", "run_pipeline"]
