"""Error records (a document, or a stretch of a file, that could not be processed), and the
failures that stop a run, each with the exit code the command line and ``_state/status.json``
report for it.
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass

from corpusforge.yamlsource import ConfigError

SNIPPET_CHARS = 300


@dataclass
class ErrorRecord:
    """Written to the errors sink; ``n_docs`` is how many documents it accounts for."""

    step: str
    error: str
    message: str
    file: str | None = None
    position: int | None = None
    id: str | None = None
    snippet: str | None = None
    n_docs: int = 1
    traceback: str | None = None

    @classmethod
    def from_exception(cls, step: str, exc: BaseException, **where) -> ErrorRecord:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
        return cls(step=step, error=type(exc).__name__, message=str(exc)[:2000], traceback=tb, **where)

    def to_dict(self) -> dict:
        return asdict(self)


def snippet(data: bytes | str | None) -> str | None:
    """The start of a bad record, printable, for the errors sink."""
    if data is None:
        return None
    if isinstance(data, bytes):
        data = data[: SNIPPET_CHARS * 4].decode("utf-8", errors="backslashreplace")
    return data[:SNIPPET_CHARS]


#: how a run ended, as a process exit code (docs/nightly.md lists them for schedulers)
EXIT_OK = 0
#: a step failed under ``on_error: fail``, the executor was lost, or a bug
EXIT_FAILED = 1
#: refused before or at the start: a bad config, inputs that cannot be listed (credentials, an
#: unreachable dataset), a step that cannot be set up, an output folder in the way
EXIT_REFUSED = 2
#: more documents errored than a step's ``max_error_fraction`` allows
EXIT_ERROR_BUDGET = 3
#: the output folder is held by another live run (or was taken over from this one)
EXIT_LOCKED = 4
#: 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C
EXIT_INTERRUPTED = 130
#: 128 + SIGTERM: stopped by a scheduler (systemd, Kubernetes, ``ray job stop``)
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, which the command line turns into this: the run stops as on Ctrl-C (status
    ``interrupted``, resumable), with the exit code a shell gives a terminated program."""

    exit_code = EXIT_TERMINATED


class RunStopped(RuntimeError):
    """A failure that stops a run; ``exit_code`` says which kind (see :func:`exit_code`)."""

    exit_code = EXIT_FAILED


class StepFailed(RunStopped):
    """A step or a reader raised and the pipeline says ``on_error: fail``: the run stops."""


class SetupFailed(RunStopped):
    """A step's ``setup()`` raised (a model that does not load): no document could pass it."""

    exit_code = EXIT_REFUSED


def exit_code(exc: BaseException | None) -> int:
    """The exit code of a run that ended with ``exc`` (None: it succeeded)."""
    if exc is None:
        return EXIT_OK
    if isinstance(exc, KeyboardInterrupt):
        return getattr(exc, "exit_code", EXIT_INTERRUPTED)
    if isinstance(exc, ConfigError):
        return EXIT_REFUSED
    code = getattr(exc, "exit_code", EXIT_FAILED)
    return code if isinstance(code, int) else EXIT_FAILED
