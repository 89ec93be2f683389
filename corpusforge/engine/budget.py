"""The error budget: a step whose documents mostly error stops the run.

Each step of the map phase (the reader, ``read``, included) may error on at most
``max_error_fraction`` of the documents it was given (the step's own value, else the
pipeline's; default 0.1). The driver checks the budget on the merged counts of every unit
finished so far, resumed ones included:

* after each unit, for a step that has been given at least :data:`MIN_DOCS` documents (fewer
  say too little about the rest of the input);
* once the map phase has finished, for every step, whatever its count (a small run is judged
  on what it saw).

A step over its budget stops the run (exit code 3) before any global stage runs; the message
names the step, its counts and its most frequent kinds of error, and where the error records
are. Global stages have no per-document errors: a stage that raises stops the run anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpusforge.accounting import RunStats, StepStats
from corpusforge.config import Pipeline
from corpusforge.errors import EXIT_ERROR_BUDGET, RunStopped
from corpusforge.stages.map import READ

#: documents a step must have been given before the end of the map phase to be judged
MIN_DOCS = 1000
#: error kinds a message names, most frequent first
SHOWN_KINDS = 3


class ErrorBudgetExceeded(RunStopped):
    """A step errored on more documents than its ``max_error_fraction`` allows."""

    exit_code = EXIT_ERROR_BUDGET


@dataclass(frozen=True)
class ErrorBudget:
    #: step name -> the largest fraction of its documents that may error
    limits: dict[str, float]
    #: where the run's error records are (named in the message)
    errors_dir: str

    @classmethod
    def of(cls, pipeline: Pipeline, errors_dir: str) -> ErrorBudget:
        """The budgets of a pipeline's map phase: the reader's is the pipeline's value."""
        default = pipeline.max_error_fraction
        steps = {name: default if s.max_error_fraction is None else s.max_error_fraction
                 for s, name in zip(pipeline.steps, pipeline.step_names())}
        return cls({READ: default, **steps}, errors_dir)

    def check(self, stats: RunStats, *, final: bool) -> None:
        """Raise :class:`ErrorBudgetExceeded` if a step is over its budget (see the module)."""
        over = [(s, self.limits[s.name]) for s in stats.steps
                if s.name in self.limits and s.errored and (final or s.docs_in >= MIN_DOCS)
                and s.errored > self.limits[s.name] * s.docs_in]
        if over:
            raise ErrorBudgetExceeded("; ".join(_describe(s, limit) for s, limit in over)
                                      + f". The error records are in {self.errors_dir}/")


def _describe(s: StepStats, limit: float) -> str:
    kinds = sorted(s.error_kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{kind} \N{MULTIPLICATION SIGN}{n:,}" for kind, n in kinds[:SHOWN_KINDS])
    more = f" and {len(kinds) - SHOWN_KINDS} more kinds" if len(kinds) > SHOWN_KINDS else ""
    return (f"error budget exceeded: step {s.name!r} errored on {s.errored:,} of {s.docs_in:,} "
            f"documents ({s.errored / s.docs_in:.1%}), over its max_error_fraction of {limit:g}"
            + (f"; most frequent errors: {shown}{more}" if shown else ""))
