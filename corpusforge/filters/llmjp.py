"""The LLM-jp corpus v1 Japanese chain (mC4-ja / Common Crawl), default and strict variants.

:class:`JapaneseQuality` applies the document rules 1-7 in one pass over the batch;
:class:`JapaneseLines` is rule 8, the line extraction that rewrites the text.

Only the zlib rule loops per document: ``zlib.compress`` is one C call per document over a
zero-copy slice of the batch's UTF-8 buffer (no str objects are created); compression has
no batched form, and the loop overhead is small next to the compression itself. In filter
mode only the documents that pass every other rule are compressed (the others show NaN);
annotate mode compresses all.
"""

from __future__ import annotations

import zlib
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from corpusforge.filters import _text_stats as ts
from corpusforge.filters._keywords import KeywordMatcher, prepare
from corpusforge.filters._rewrite import RewriteFilter
from corpusforge.filters.blocklist import url_hosts
from corpusforge.models import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from corpusforge.resources import WordList, load_words
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register

LLMJP_TLDS = ["biz", "cc", "com", "info", "jp", "me", "net", "org", "site", "tokyo", "tv", "work", "xyz"]
#: thresholds that differ between the default and the strict variant
VARIANTS = {
    "default": {"max_ng_hits": 3, "kuten_chars": 250, "min_zlib_ratio": 0.30},
    "strict": {"max_ng_hits": 2, "kuten_chars": 80, "min_zlib_ratio": 0.375},
}
KANA = r"[\p{Hiragana}\p{Katakana}]"


def zlib_ratios(text: pa.Array, level: int = 9, only: np.ndarray | None = None) -> np.ndarray:
    """Compressed / raw UTF-8 bytes per document (0 for empty documents).

    With ``only`` (a bool mask), the other documents are not compressed and get NaN.
    """
    n = len(text)
    out = np.zeros(n) if only is None else np.where(only, 0.0, np.nan)
    if n == 0:
        return out
    off_type = np.int32 if pa.types.is_string(text.type) else np.int64
    offsets = np.frombuffer(text.buffers()[1], dtype=off_type)[text.offset : text.offset + n + 1]
    data = memoryview(text.buffers()[2]) if text.buffers()[2] is not None else memoryview(b"")
    starts, ends = offsets[:-1].tolist(), offsets[1:].tolist()
    compress = zlib.compress
    todo = range(n) if only is None else np.flatnonzero(only).tolist()
    for i in todo:  # per document: zlib has no batch API (see module docstring)
        size = ends[i] - starts[i]
        if size:
            out[i] = len(compress(data[starts[i] : ends[i]], level)) / size
    return out


class JapaneseQualityConfig(FilterConfig):
    ordered = (("min_zlib_ratio", "max_zlib_ratio"),)

    variant: Literal["default", "strict"] = "default"
    #: rule 1: TLD allow-list and blocked domains (null: no URL check)
    allowed_tlds: list[str] | None = LLMJP_TLDS
    blocked_domains: list[str] = ["ja.wikipedia.org"]
    url_column: str = "url"
    #: documents without a URL pass the URL rules (set false to drop them)
    keep_missing_url: bool = True
    #: rule 3: a hiragana/katakana character within the first N characters
    head_chars: PositiveInt = 50
    #: rule 4: advertisement keywords, at most this many hits
    ads_lists: list[WordList] = ["ja/ads"]
    max_ads_hits: NonNegativeInt | None = 10
    #: rule 5: adult/discrimination/violence keywords (variant: > 3 hits, strict > 2)
    ng_lists: list[WordList] = ["ja/adult", "ja/discrimination", "ja/violence"]
    max_ng_hits: NonNegativeInt | None = None
    #: rule 6: at least one '。' per this many characters (variant: 250, strict 80)
    kuten_chars: PositiveFloat | None = None
    #: rule 7: zlib compression ratio bounds (variant lower bound: 0.30, strict 0.375)
    min_zlib_ratio: NonNegativeFloat | None = None
    max_zlib_ratio: NonNegativeFloat | None = 0.70
    #: zlib's compression level (-1: zlib's default)
    zlib_level: int = Field(9, ge=-1, le=9)
    #: set false to skip the zlib rule (and its cost: it is the one per-document loop)
    zlib_check: bool = True

    def resolved(self, key: str):
        value = getattr(self, key)
        return VARIANTS[self.variant].get(key) if value is None else value

    # an unset lower bound is the variant's: a max_zlib_ratio below it removes every document
    ordered_value = resolved


@register
class JapaneseQuality(Filter[JapaneseQualityConfig]):
    """LLM-jp v1 document rules: TLD, non-empty, kana head, ads, NG words, rare kuten, zlib."""

    name = "ja_quality"
    adds = ("tld_ok", "blocked_domain", "n_chars", "kana_in_head", "ads_hits", "ng_hits", "kuten",
            "zlib_ratio")

    def setup(self) -> None:
        cfg = self.config
        ads = [w for ref in cfg.ads_lists for w in load_words(ref)]
        ng = [w for ref in cfg.ng_lists for w in load_words(ref)]
        self._ads = KeywordMatcher(ads)
        self._ng = KeywordMatcher(ng)
        self._tlds = pa.array(cfg.allowed_tlds) if cfg.allowed_tlds is not None else None
        self._blocked = pa.array([d.lower() for d in cfg.blocked_domains], pa.string())

    def _url_signals(self, batch: pa.Table, n: int) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        if cfg.url_column not in batch.column_names:
            return np.full(n, cfg.keep_missing_url), np.zeros(n, bool)
        host = url_hosts(ts.text_array(batch, cfg.url_column))
        missing = ts.n_chars(host) == 0
        tld = pc.struct_field(pc.extract_regex(host, pattern=r"(?P<tld>[^.]*)$"), [0])
        tld_ok = np.ones(n, bool) if self._tlds is None else np.asarray(
            pc.is_in(tld, self._tlds).to_numpy(zero_copy_only=False), bool)
        blocked = np.asarray(pc.is_in(host, self._blocked).to_numpy(zero_copy_only=False), bool)
        tld_ok = np.where(missing, cfg.keep_missing_url, tld_ok)
        return tld_ok, blocked & ~missing

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        text = ts.text_array(batch)
        n = len(text)
        tld_ok, blocked = self._url_signals(batch, n)
        chars = ts.n_chars(text)
        head = pc.utf8_slice_codeunits(text, 0, cfg.head_chars)
        prepared = prepare(text)  # decoded once, shared by both keyword matchers
        sig = {
            "tld_ok": tld_ok,
            "blocked_domain": blocked,
            "n_chars": chars,
            "kana_in_head": ts.count(head, KANA) > 0,
            "ads_hits": self._ads.scan(text, prepared)[0],
            "ng_hits": self._ng.scan(text, prepared)[0],
            "kuten": ts.count(text, "。"),
        }
        if not cfg.zlib_check:
            sig["zlib_ratio"] = np.zeros(n)
        elif cfg.mode == "annotate":
            sig["zlib_ratio"] = zlib_ratios(text, cfg.zlib_level)
        else:
            # the zlib rule comes last: compress only the documents every other rule keeps
            survivors = ~np.logical_or.reduce([fails for _, fails in self._rules(sig, n, with_zlib=False)])
            sig["zlib_ratio"] = zlib_ratios(text, cfg.zlib_level, only=survivors)
        return sig

    def decide(self, batch, s):
        return self.first_failure(self._rules(s, batch.num_rows), batch.num_rows)

    def _rules(self, s: dict, n: int, with_zlib: bool = True) -> list[tuple[str, np.ndarray]]:
        cfg = self.config
        off = np.zeros(n, bool)
        kuten_chars = cfg.resolved("kuten_chars")
        max_ng = cfg.resolved("max_ng_hits")
        zmin, zmax = cfg.resolved("min_zlib_ratio"), cfg.max_zlib_ratio
        if not (cfg.zlib_check and with_zlib):
            zmin = zmax = None
        nonempty = s["n_chars"] > 0
        rules = [
            ("tld_not_allowed", ~s["tld_ok"]),
            ("blocked_domain", s["blocked_domain"]),
            ("empty", ~nonempty),
            ("no_kana_in_head", ~s["kana_in_head"]),
            ("ads_keywords", s["ads_hits"] > cfg.max_ads_hits if cfg.max_ads_hits is not None else off),
            ("ng_keywords", s["ng_hits"] > max_ng if max_ng is not None else off),
            ("rare_kuten", s["kuten"] < s["n_chars"] / kuten_chars if kuten_chars else off),
            ("zlib_ratio_low", (s["zlib_ratio"] < zmin) & nonempty if zmin is not None else off),
            ("zlib_ratio_high", s["zlib_ratio"] > zmax if zmax is not None else off),
        ]
        return rules


class JapaneseLinesConfig(FilterConfig):
    #: a kept line contains one of these characters
    line_pattern: str = r"[\p{Hiragana}\p{Katakana}ー]"
    remove_urls: bool = True
    #: runs of this many ASCII characters or more are removed (0: keep them)
    ascii_run: NonNegativeInt = 100
    #: kept lines are joined with this (LLM-jp v1 joins with nothing)
    joiner: str = ""


URL_PATTERN = r"(?:https?|ftp)://[\x21-\x7e]+|www\.[\x21-\x7e]+"


@register
class JapaneseLines(RewriteFilter[JapaneseLinesConfig]):
    """LLM-jp v1 rule 8: keep lines with kana or ー, strip URLs and long ASCII runs, join."""

    name = "ja_lines"
    adds = ("ja_lines_total", "ja_lines_kept", "ja_chars_removed_frac")

    def rewrite(self, batch: pa.Table) -> tuple[pa.Array, dict[str, np.ndarray]]:
        cfg = self.config
        text = ts.text_array(batch)
        before = ts.n_chars(text)
        if cfg.remove_urls:
            text = pc.replace_substring_regex(text, pattern=URL_PATTERN, replacement="")
        if cfg.ascii_run:
            text = pc.replace_substring_regex(text, pattern=rf"[\x20-\x7e\t]{{{cfg.ascii_run},}}", replacement="")
        ln = ts.split_regex(text, ts.LINE_BREAKS)
        has = np.asarray(pc.match_substring_regex(ln.values, cfg.line_pattern).to_numpy(zero_copy_only=False), bool)
        kept = ln.select(has)
        out = kept.join(cfg.joiner)
        after = ts.n_chars(out)
        return out, {
            "ja_lines_kept": kept.per_doc().astype(np.int64),
            "ja_lines_total": ln.per_doc().astype(np.int64),
            "ja_chars_removed_frac": ts.safe_div(before - after, before),
        }

    def decide(self, batch, s):
        return self.first_failure([("no_japanese_lines", s["ja_lines_kept"] == 0)], batch.num_rows)
