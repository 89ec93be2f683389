"""``extract_html`` with ``extractor: resiliparse``: Japanese and English pages, the options it
maps, the trafilatura-only keys it refuses."""

from __future__ import annotations

import gzip
import textwrap

import pytest
from test_ingest_extract import EN_PAGE, JA_PAGE, _run, html_batch

from corpusforge.config import pipeline_from_yaml
from corpusforge.errors import ErrorRecord
from corpusforge.extract import ExtractHtml
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.warc import WarcInput
from corpusforge.schema import REMOVED_REASON
from corpusforge.yamlsource import ConfigError

from conftest import shared_data


def test_clueweb_euc_jp_pages_come_out_as_japanese_in_the_subprocess():
    cfg = WarcInput(type="warc", path=str(shared_data("warc", "resiliparse__clueweb-quirk.warc.gz")))
    (unit,) = warc.plan(cfg, 0)
    batch = next(b for b in warc.read(unit, cfg, "cc", BatchConfig(max_docs=6)) if not isinstance(b, ErrorRecord))
    step = ExtractHtml(extractor="resiliparse", timeout=60)
    out = step.apply(batch).out
    step.close()
    texts = out.column("text").to_pylist()
    assert out.num_rows == 6 and all("ポーター" in t for t in texts)
    # the product description of the first page, decoded from EUC-JP
    assert "ノートパソコンが収納可能" in texts[0]
    assert not any("\ufffd" in t for t in texts)
    assert set(out.column("charset").to_pylist()) == {"euc_jis_2004"}


def page(name: str) -> bytes:
    folder = shared_data("html", "mozilla_readability_testpages", "pages", name)
    return gzip.decompress((folder / "source.html.gz").read_bytes())


# (page, a sentence of its article, a line of its navigation or footer)
REAL = [
    ("yahoo-4", "トレンドマイクロは3月9日、Wi-Fi利用時の通信を暗号化し保護する", "IDでもっと便利に新規取得"),
    ("hukumusume", "肉をくわえたイヌが、橋を渡っていました。", None),
    ("001", "The idea behind code coverage is to record which parts of your code", "Hi, I'm Nicolas."),
    ("bbc-1", "President Barack Obama has admitted that his failure to pass", "Accessibility Help"),
]


@pytest.mark.parametrize("name,sentence,boilerplate", REAL)
def test_real_pages_give_their_article_and_drop_their_navigation(name, sentence, boilerplate):
    raw = page(name)
    batch = html_batch([(raw, "utf-8", "text/html", 200)])
    main = ExtractHtml(extractor="resiliparse", isolation="inline").apply(batch).out.column("text")[0].as_py()
    everything = ExtractHtml(extractor="resiliparse", isolation="inline", main_content=False
                             ).apply(batch).out.column("text")[0].as_py()
    assert sentence in main
    if boilerplate is not None:
        # the line is on the page (all visible text has it), the main content does not
        assert boilerplate in everything and boilerplate not in main


def test_removal_reasons_are_those_of_the_step():
    step = ExtractHtml(extractor="resiliparse", isolation="inline")
    res = step.apply(html_batch([
        (JA_PAGE.encode("euc-jp"), "euc-jp", "text/html", 200),
        (EN_PAGE.encode(), None, "text/html", 404),
        (b"<html><body><script>var x = 1;</script></body></html>", None, "text/html", 200),
    ]))
    assert "吾輩は猫である。名前はまだ無い。" in res.out.column("text")[0].as_py()
    assert dict(zip(res.removed.column("id").to_pylist(), res.removed.column(REMOVED_REASON).to_pylist())) == {
        "d1": "http_status", "d2": "no_text"}


TABLE_PAGE = ("<html><body><article><h1>猫の記録</h1>"
              "<p>吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
              "<a href='https://example.jp/neko'>続きを読む</a></p>"
              "<p>Because of an hereditary recklessness, I have been playing always a losing game.</p>"
              "<table><tr><td>表の中の文章です。</td><td>A sentence inside a table cell.</td></tr></table>"
              "</article></body></html>").encode()


def test_tables_and_links_options_reach_resiliparse():
    batch = html_batch([(TABLE_PAGE, "utf-8", "text/html", 200)])

    def text(**options) -> str:
        return ExtractHtml(extractor="resiliparse", isolation="inline", **options
                           ).apply(batch).out.column("text")[0].as_py()

    default, no_tables, links = text(), text(include_tables=False), text(include_links=True)
    assert "表の中の文章です。" in default and "A sentence inside a table cell." in default
    assert "表の中の文章です。" not in no_tables and "吾輩は猫である。" in no_tables and "hereditary" in no_tables
    assert "https://example.jp/neko" in links and "https://example.jp/neko" not in default


def test_comments_option_reaches_resiliparse():
    page = ("<html><body><article><p>" + "吾輩は猫である。名前はまだ無い。" * 10 + "</p></article>"
            "<div class='comments'><p>読者のコメントです。A reader comment long enough to count.</p></div>"
            "</body></html>").encode()
    batch = html_batch([(page, "utf-8", "text/html", 200)])
    texts = [ExtractHtml(extractor="resiliparse", isolation="inline", include_comments=c
                         ).apply(batch).out.column("text")[0].as_py() for c in (False, True)]
    assert "吾輩は猫である。" in texts[0] and "読者のコメントです。" not in texts[0]
    assert "読者のコメントです。" in texts[1]


def test_a_pipeline_with_resiliparse_accounts_for_every_page(tmp_path):
    stats, errors, out = _run(tmp_path, "extractor: resiliparse", [JA_PAGE.encode(), EN_PAGE.encode(),
                                                                  b"<html><body></body></html>"])
    step = stats.to_dict()["steps"][1]
    assert errors == [] and out.num_rows == 2
    assert (step["docs_in"], step["docs_out"], step["removed"], step["errored"]) == (3, 2, {"no_text": 1}, 0)
    texts = sorted(out.column("text").to_pylist())
    assert "吾輩は猫である。名前はまだ無い。" in texts[1] and "hereditary recklessness" in texts[0]


def test_include_links_reaches_trafilatura_too():
    batch = html_batch([(TABLE_PAGE.replace(b"<p>B", b"<p>" + b"Long enough text. " * 20 + b"B"),
                         "utf-8", "text/html", 200)])
    text = ExtractHtml(isolation="inline", include_links=True).apply(batch).out.column("text")[0].as_py()
    assert "https://example.jp/neko" in text


def issues(step_yaml: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml("inputs: [{type: warc, path: x.warc.gz}]\nsteps:\n  - step: extract_html\n"
                           + textwrap.indent(step_yaml, "    ") + "\noutput: {path: out}\n")
    return [(i.line, i.dotted(), i.message) for i in e.value.issues]


def test_trafilatura_only_keys_are_refused_with_resiliparse():
    (line, key, message), = issues("extractor: resiliparse\nfocus: precision")
    assert line == 5 and key.endswith("focus") and "trafilatura option" in message
    (line, key, message), = issues("main_content: false")
    assert line == 4 and key.endswith("main_content") and "extractor: resiliparse" in message
    # the defaults of the trafilatura keys do not count as set
    ExtractHtml(extractor="resiliparse")
