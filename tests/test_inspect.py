"""``corpusforge inspect``: removed and kept documents of a run, Japanese and English, with their
reasons and signals, printed literally (a terminal escape in a document shows as text)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpusforge.cli import app


@pytest.fixture
def runs(web_runs) -> tuple[Path, Path]:
    """A filter run and an annotate run (whose kept documents carry the signals, so --compare
    has both sides)."""
    return web_runs["filter"][0], web_runs["annotate"][0]


def _inspect(*args: str) -> str:
    done = CliRunner().invoke(app, ["inspect", *args], env={"COLUMNS": "120"})
    assert done.exit_code == 0, done.output
    return done.output


def test_removed_documents_with_reason_and_signals(runs):
    out = _inspect(str(runs[0]), "--step", "length", "--reason", "too_short", "-n", "20")
    assert "length · too_short" in out and "n_chars" in out
    assert "hostile-1" in out and "短い。" in out  # Japanese text, as written
    # the hostile document's terminal escapes are written out, never sent to the terminal
    assert "\x1b" not in out and "\\x1b[31mRED" in out and "\\x07" in out
    assert "<script>window.__pwned=1</script>" in out  # shown as the text it is
    long = _inspect(str(runs[0]), "--step", "length", "--reason", "too_long", "-n", "3", "--chars", "100")
    assert long.count("length · too_long") == 3 and "characters)" in long


def test_removed_by_language_and_kept(runs):
    filtered, annotated = runs
    # Japanese pages split on whitespace have few words: gopher removes them
    ja = _inspect(str(filtered), "--step", "gopher_quality", "--reason", "too_few_words", "-n", "3")
    assert ja.count("gopher_quality · too_few_words") == 3 and _kana(ja)
    # annotate mode keeps every page, with its language: select each
    kept_ja = _inspect(str(annotated), "--kept", "--lang", "ja", "-n", "3")
    kept_en = _inspect(str(annotated), "--kept", "--lang", "en", "-n", "3")
    assert kept_ja.count("─ kept ─") == 3 and kept_en.count("─ kept ─") == 3
    assert _kana(kept_ja) and not _kana(kept_en)
    assert "gopher_quality_reason" in kept_ja and "n_words" in kept_en


def _kana(text: str) -> bool:
    return any("\u3040" <= c <= "\u30ff" for c in text)


def test_compare_near_the_threshold(runs):
    filtered, annotated = runs
    # filter mode: the kept documents have no signals, and the page says so
    out = _inspect(str(filtered), "--step", "gopher_quality", "--compare", "--signal", "n_words", "-n", "3")
    assert "n_words (max_words=100000, min_words=30)" in out and "keep_signals" in out
    both = _inspect(str(annotated), "--step", "length", "--compare", "--signal", "n_chars", "-n", "2")
    assert "n_chars (max_chars=20000, min_chars=200)" in both and both.count("n_chars = ") == 4


def test_inspect_refuses_what_it_cannot_show(runs, tmp_path):
    done = CliRunner().invoke(app, ["inspect", str(tmp_path)], env={"COLUMNS": "200"})
    assert done.exit_code == 1 and "no removed documents" in done.output
    done = CliRunner().invoke(app, ["inspect", str(runs[0]), "--compare"], env={"COLUMNS": "200"})
    assert done.exit_code == 1 and "--compare needs --step" in done.output
