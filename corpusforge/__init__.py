"""corpusforge: build LLM pre-training corpora from the open web over Arrow batches.

The Python API (docs/python-api.md)::

    from corpusforge import Pipeline, run

    stats = run(Pipeline.from_yaml("pipeline.yaml"), workers=4)

Its names are imported on first use, so that ``import corpusforge`` (and the command line's
``--help``) loads nothing else.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: the API's names: where each lives, and its name there
_API: dict[str, tuple[str, str]] = {
    "Pipeline": ("corpusforge.config", "Pipeline"),
    "run": ("corpusforge.engine.driver", "run_pipeline"),
    "RunStats": ("corpusforge.accounting", "RunStats"),
    "StepStats": ("corpusforge.accounting", "StepStats"),
    "ConfigError": ("corpusforge.yamlsource", "ConfigError"),
    "OutputExistsError": ("corpusforge.engine.output", "OutputExistsError"),
    "RunStopped": ("corpusforge.errors", "RunStopped"),
}

__all__ = ["ConfigError", "OutputExistsError", "Pipeline", "RunStats", "RunStopped", "StepStats", "__version__",
           "run"]

if TYPE_CHECKING:
    from corpusforge.accounting import RunStats, StepStats
    from corpusforge.config import Pipeline
    from corpusforge.engine.driver import run_pipeline as run
    from corpusforge.engine.output import OutputExistsError
    from corpusforge.errors import RunStopped
    from corpusforge.yamlsource import ConfigError


def __getattr__(name: str) -> Any:
    try:
        module, attr = _API[name]
    except KeyError:
        raise AttributeError(f"module 'corpusforge' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
