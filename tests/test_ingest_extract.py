"""HTML extraction: charsets (Japanese legacy encodings), trafilatura, removal reasons,
per-page timeout and memory isolation through the runner."""

from __future__ import annotations

import gzip
import json
import textwrap

import pyarrow as pa
import pytest

from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
from corpusforge.errors import ErrorRecord
from corpusforge.extract import ExtractHtml, decode_html
from corpusforge.extract.charset import codec_for
from corpusforge.io import warc
from corpusforge.io.batching import BatchConfig
from corpusforge.io.warc import WarcInput
from corpusforge.schema import REMOVED_REASON, make_batch
from corpusforge.yamlsource import ConfigError

from conftest import read_output, shared_data

KOJIKI = "03gendaigoyaku_kojiki.txt"


def kojiki(enc: str) -> bytes:
    return gzip.decompress(shared_data("ja", "aozora_kojiki", f"{KOJIKI}.{enc}.gz").read_bytes())


@pytest.mark.parametrize("enc", ["sjis", "eucjp"])
def test_legacy_japanese_detected_without_any_declaration(enc):
    truth = kojiki("utf8").decode("utf-8")
    text, codec, how = decode_html(kojiki(enc))
    assert how == "detected" and codec in ("cp932", "euc_jis_2004")
    # cp932 maps 0x817C to FULLWIDTH HYPHEN-MINUS where iconv chose MINUS SIGN
    assert text.replace("\uff0d", "\u2212") == truth


def test_charset_order_header_then_meta_then_detection():
    page = '<html><head><meta charset="Shift_JIS"></head><body>日本語の本文です。</body></html>'
    raw = page.encode("cp932")
    assert decode_html(raw, "shift_jis")[1:] == ("cp932", "header")
    assert decode_html(raw, None)[1:] == ("cp932", "meta")
    # a header that does not decode the bytes is not trusted
    assert decode_html(raw, "utf-8")[1:] == ("cp932", "meta")
    assert "日本語の本文です" in decode_html(raw, "euc-jp")[0]
    assert decode_html("héllo wörld".encode(), None)[1:] == ("utf-8", "utf-8")
    assert codec_for("x-sjis") == "cp932" and codec_for("EUC-JP") == "euc_jis_2004"
    assert codec_for("no-such-charset") is None


def html_batch(pages: list[tuple], **extra) -> pa.Table:
    """pages: (html bytes, charset, content type, status)."""
    n = len(pages)
    cols = {
        "html": pa.array([p[0] for p in pages], pa.binary()),
        "charset": pa.array([p[1] for p in pages], pa.string()),
        "content_type": pa.array([p[2] for p in pages], pa.string()),
        "fetch_date": pa.nulls(n, pa.string()),
        "http_status": pa.array([p[3] for p in pages], pa.int32()),
    }
    return make_batch([f"d{i}" for i in range(n)], [""] * n, "web", "f.warc", list(range(n)),
                      [f"https://example.jp/{i}" for i in range(n)], cols)


JA_PAGE = ("<html><head><title>記事</title></head><body><article><h1>吾輩は猫である</h1>"
           + "<p>吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で"
             "ニャーニャー泣いていた事だけは記憶している。</p>" * 4 + "</article></body></html>")
EN_PAGE = ("<html><body><article><h1>Botchan</h1>"
           + "<p>Because of an hereditary recklessness, I have been playing always a losing game since "
             "my childhood. During my grammar school days, I was once laid up for about a week.</p>" * 4
           + "</article></body></html>")


@pytest.mark.parametrize("isolation", ["subprocess", "inline"])
def test_extract_reasons_and_text(isolation):
    step = ExtractHtml(isolation=isolation, timeout=60)
    batch = html_batch([
        (JA_PAGE.encode("euc-jp"), "euc-jp", "text/html", 200),
        (EN_PAGE.encode(), None, None, 200),
        (EN_PAGE.encode(), None, "text/html", 404),
        (b"{}", None, "application/json", 200),
        (b"<html><body></body></html>", None, "text/html", 200),
    ])
    res = step.apply(batch)
    step.close()
    assert res.out.column("id").to_pylist() == ["d0", "d1"]
    ja, en = res.out.column("text").to_pylist()
    assert "吾輩は猫である。名前はまだ無い。" in ja and "hereditary recklessness" in en
    assert res.out.column("charset").to_pylist() == ["euc_jis_2004", "utf-8"]
    assert "html" not in res.out.column_names
    assert dict(zip(res.removed.column("id").to_pylist(), res.removed.column(REMOVED_REASON).to_pylist())) == {
        "d2": "http_status", "d3": "content_type", "d4": "no_text"}


def test_rows_without_html_pass_through():
    batch = make_batch(["a"], ["already text"], "wet", "f", [0])
    assert ExtractHtml().apply(batch).out.equals(batch)


def test_clueweb_euc_jp_pages_come_out_as_japanese():
    cfg = WarcInput(type="warc", path=str(shared_data("warc", "resiliparse__clueweb-quirk.warc.gz")))
    (unit,) = warc.plan(cfg, 0)
    batch = next(b for b in warc.read(unit, cfg, "cc", BatchConfig(max_docs=6)) if not isinstance(b, ErrorRecord))
    step = ExtractHtml(timeout=60)
    out = step.apply(batch).out
    step.close()
    texts = out.column("text").to_pylist()
    # the shop's name is in its sidebar and most descriptions; not in every page's main text
    assert out.num_rows == 6 and sum("ポーター" in t for t in texts) >= 4
    assert all(japanese_share(t) > 0.9 for t in texts) and not any("\ufffd" in t for t in texts)


def japanese_share(text: str) -> float:
    """Share of the letters that are kana or kanji."""
    letters = [c for c in text if c.isalpha()]
    return sum("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" or "\uff66" <= c <= "\uff9f"
               for c in letters) / max(1, len(letters))


def test_default_focus_recall_finds_the_product_text_of_a_japanese_shop_page():
    """On a ClueWeb09 shop page (EUC-JP) precision falls back to the ranking sidebar; the
    default (recall) keeps the product description: the page's own text."""
    cfg = WarcInput(type="warc", path=str(shared_data("warc", "resiliparse__clueweb-quirk.warc.gz")))
    (unit,) = warc.plan(cfg, 0)
    batch = next(b for b in warc.read(unit, cfg, "cc", BatchConfig(max_docs=6)) if not isinstance(b, ErrorRecord))
    page = batch.slice(2, 1)
    assert ExtractHtml().config.focus == "recall"
    default = ExtractHtml(isolation="inline").apply(page).out.column("text")[0].as_py()
    precision = ExtractHtml(isolation="inline", focus="precision").apply(page).out.column("text")[0].as_py()
    assert "アイテム詳細情報" in default and "リュック" in default and "人気ランキング" not in default
    assert "人気ランキング" in precision and "リュック" not in precision
    assert japanese_share(default) > 0.9


@pytest.mark.parametrize("key, focus", [("favor_precision", "precision"), ("favor_recall", "recall")])
def test_trafilaturas_favor_keys_point_to_focus(key, focus):
    with pytest.raises(ConfigError) as e:
        pipeline_from_yaml("inputs: [{type: warc, path: x.warc.gz}]\nsteps:\n  - step: extract_html\n"
                           f"    {key}: true\noutput: {{path: out}}\n")
    (issue,) = e.value.issues
    assert issue.line == 4 and issue.dotted().endswith(key) and f"focus: {focus}" in issue.message


def test_precision_recall_options_reach_trafilatura():
    page = html_batch([(EN_PAGE.replace("</article>", "</article><div class='comments'><p>"
                                        + "A reader comment that is long enough to count as text. " * 3
                                        + "</p></div>").encode(), None, "text/html", 200)])
    recall = ExtractHtml(isolation="inline", focus="recall").apply(page).out.column("text")[0].as_py()
    precision = ExtractHtml(isolation="inline", focus="precision").apply(page).out.column("text")[0].as_py()
    assert len(precision) <= len(recall) and "hereditary" in precision
    assert ExtractHtml(isolation="inline").apply(page).out.column("text")[0].as_py() == recall  # the default


def big_page(n: int) -> bytes:
    """A real page shape that costs trafilatura seconds and hundreds of MB at n ~ 20,000+."""
    return ("<html><body>" + "".join(f"<p>段落{i}の本文です。This is sentence number {i} of a long article.</p>"
                                     for i in range(n)) + "</body></html>").encode()


def _run(tmp_path, extract_params: str, pages: list[bytes]):
    """A two-step run over a JSONL-free input: pages are put into a WARC file made here."""
    path = tmp_path / "pages.warc"
    with open(path, "wb") as f:
        for i, body in enumerate(pages):
            http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
            head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:page-{i}>\r\n"
                    f"WARC-Target-URI: https://example.jp/{i}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
                    f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n")
            f.write(head.encode() + http + b"\r\n\r\n")
    p = pipeline_from_yaml(textwrap.dedent(f"""
        inputs: [{{type: warc, path: {path}}}]
        steps:
          - step: extract_html
            {extract_params}
        output: {{path: {tmp_path / 'out'}}}
        executor: {{workers: 1}}
        max_error_fraction: 1  # pages break the extractor on purpose
    """))
    stats = run_pipeline(p)
    errors = [json.loads(line) for f in sorted((tmp_path / "out" / "_errors").glob("*.jsonl"))
              for line in f.read_text().splitlines()] if (tmp_path / "out" / "_errors").exists() else []
    return stats, errors, read_output(tmp_path / "out")


@pytest.mark.slow
def test_a_page_that_hangs_becomes_an_error_record_and_the_rest_go_on(tmp_path):
    small = JA_PAGE.encode()
    # trafilatura needs seconds for this page; the timeout gives it a fraction of one
    stats, errors, out = _run(tmp_path, "timeout: 1.0", [small, big_page(60000), small, small])
    assert [e["error"] for e in errors] == ["ExtractionError"]
    assert "ExtractionTimeout" in errors[0]["message"] and errors[0]["id"] == "urn:uuid:page-1"
    assert out.num_rows == 3
    step = stats.to_dict()["steps"][1]
    assert step["docs_in"] == 4 and step["docs_out"] == 3 and step["errored"] == 1


@pytest.mark.slow
def test_a_page_that_blows_the_memory_limit_is_isolated(tmp_path):
    small = EN_PAGE.encode()
    stats, errors, out = _run(tmp_path, "memory_limit: 50MB\n            timeout: 60",
                              [small, big_page(40000), small])
    assert len(errors) == 1 and errors[0]["id"] == "urn:uuid:page-1"
    assert any(k in errors[0]["message"] for k in ("MemoryError", "ExtractorCrashed"))
    assert out.num_rows == 2


@pytest.mark.parametrize("page,phrase", [("yahoo-4", "トレンドマイクロは3月9日"), ("hukumusume", "欲張りなイヌ")])
def test_real_japanese_pages_in_legacy_encodings_extract_like_utf8(page, phrase):
    """Real Japanese pages re-encoded here to Shift_JIS and EUC-JP (their meta tag rewritten,
    no HTTP charset) extract to the same text as the UTF-8 original."""
    folder = shared_data("html", "mozilla_readability_testpages", "pages", page)
    html = gzip.decompress((folder / "source.html.gz").read_bytes()).decode("utf-8")
    pages = [(html.encode("utf-8"), "utf-8", "text/html", 200)]
    for label, codec in (("Shift_JIS", "cp932"), ("EUC-JP", "euc_jis_2004")):
        legacy = html.replace("charset=utf-8", f"charset={label}").replace("charset=UTF-8", f"charset={label}")
        pages.append((legacy.encode(codec, errors="xmlcharrefreplace"), None, "text/html", 200))
    step = ExtractHtml(isolation="inline")
    out = step.apply(html_batch(pages)).out
    texts = out.column("text").to_pylist()
    assert out.num_rows == 3 and phrase in texts[0]
    assert texts[1] == texts[0] and texts[2] == texts[0]
    assert out.column("charset").to_pylist() == ["utf-8", "cp932", "euc_jis_2004"]
