"""The ``corpusforge`` command line (the console script points at :data:`app`)."""

import sys

if sys.argv[:1] == ["-m"]:
    # being located by `python -m corpusforge.cli`, which put the working directory first on
    # sys.path: off it goes before typer, click and rich are imported from wherever it points
    from corpusforge.usermodules import drop_working_directory

    drop_working_directory()

from corpusforge.cli.main import app  # noqa: E402 - after the import path is made safe

__all__ = ["app"]
