"""``python -m corpusforge.cli``: the same app as the console script."""

from corpusforge.cli import app

app()
