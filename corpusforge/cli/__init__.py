"""The ``corpusforge`` command line (the console script points at :data:`app`)."""

from corpusforge.cli.main import app

__all__ = ["app"]
