"""Error records: a document (or a stretch of a file) that could not be processed."""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass

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


class StepFailed(RuntimeError):
    """A step or a reader raised and the pipeline says ``on_error: fail``: the run stops."""
