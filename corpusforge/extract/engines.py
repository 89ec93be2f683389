"""The HTML-to-text engines ``extract_html`` can run: trafilatura and resiliparse.

Each engine takes decoded HTML and the step's option dict and returns the text ('' when it
finds none). The option dict is built by the step (``ExtractHtml._options``) in each engine's
own terms, so the worker passes it through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

EXTRACTORS = ("trafilatura", "resiliparse")


def _trafilatura(html: str, url: str | None, options: dict) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url, output_format="txt", **options) or ""


def _resiliparse(html: str, url: str | None, options: dict) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, preserve_formatting=True, **options)


def engine(name: str) -> Callable[[str, str | None, dict], str]:
    """The extraction function of ``name``, its library imported (paid once, not on a page)."""
    if name == "resiliparse":
        import resiliparse.extract.html2text  # noqa: F401

        return _resiliparse
    import trafilatura  # noqa: F401

    return _trafilatura
