"""``python -m corpusforge``: the same app as the ``corpusforge`` console script."""

from corpusforge.cli import app

app(prog_name="corpusforge")
