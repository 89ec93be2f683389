"""Word lists and URL blocklists.

* :class:`NgWords` counts hits of keyword lists (files under ``filters/wordlists/`` or any
  path) over the whole batch (see :mod:`._keywords`), and rejects on a hit count or on the
  fraction of characters inside matches.
* :class:`UrlFilter` matches the URL's host against domain blocklists (a listed domain
  blocks its subdomains too) and an optional TLD allow-list.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.filters import _text_stats as ts
from corpusforge.filters._keywords import KeywordMatcher
from corpusforge.models import NonNegativeInt, PositiveFraction, PositiveInt
from corpusforge.resources import Blocklist, WordList, load_words
from corpusforge.steps.base import Filter, FilterConfig
from corpusforge.steps.registry import register


class NgWordsConfig(FilterConfig):
    #: shipped list names (``ja/adult``), paths or URLs of text files, one keyword per line
    lists: list[WordList] = []
    #: extra keywords given inline
    words: list[str] = []
    #: reject when the number of hits is greater than this
    max_hits: NonNegativeInt | None = None
    #: reject when the fraction of characters inside hits is at least this
    max_char_frac: PositiveFraction | None = None
    #: match whole words only (for space-separated languages)
    whole_words: bool = False
    ignore_case: bool = False
    #: prefix of the signal columns (``<signal>_hits``, ``<signal>_char_frac``)
    signal: str = "ng"


@register
class NgWords(Filter[NgWordsConfig]):
    """Keyword hit counts against NG-word lists, with a hit-count or character-fraction bound."""

    name = "ng_words"

    def signal_columns(self) -> frozenset[str]:
        return frozenset({f"{self.config.signal}_hits", f"{self.config.signal}_char_frac"})

    def setup(self) -> None:
        cfg = self.config
        words = list(cfg.words)
        for ref in cfg.lists:
            words += load_words(ref)
        self._matcher = KeywordMatcher(words, cfg.whole_words, cfg.ignore_case)

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        text = ts.text_array(batch)
        hits, chars = self._matcher.scan(text)
        return {
            f"{cfg.signal}_hits": hits,
            f"{cfg.signal}_char_frac": ts.safe_div(chars, ts.n_chars(text)),
        }

    def decide(self, batch, s):
        cfg = self.config
        n = batch.num_rows
        rules = []
        if cfg.max_hits is not None:
            rules.append((f"{cfg.signal}_hits", s[f"{cfg.signal}_hits"] > cfg.max_hits))
        if cfg.max_char_frac is not None:
            rules.append((f"{cfg.signal}_char_frac", s[f"{cfg.signal}_char_frac"] >= cfg.max_char_frac))
        return self.first_failure(rules or [("never", np.zeros(n, bool))], n)


HOST = r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*://)?(?:[^@/?#]*@)?(?P<host>[^/:?#]*)"


def url_hosts(urls: pa.Array) -> pa.Array:
    """Lower-cased host of each URL (null where the URL is null)."""
    urls = urls.cast(pa.string()) if not pa.types.is_string(urls.type) else urls
    host = pc.struct_field(pc.extract_regex(urls, pattern=HOST), [0])
    return pc.utf8_rtrim(pc.utf8_lower(host), characters=".")


class UrlFilterConfig(FilterConfig):
    url_column: str = "url"
    #: blocked domains; a domain also blocks its subdomains
    domains: list[str] = []
    #: files with one domain per line (``#`` comments): shipped names, paths or URLs
    domain_lists: list[Blocklist] = []
    #: keep only these top-level domains (``com``, ``jp`` ...); none allows every TLD
    allowed_tlds: list[str] | None = None
    #: what to do with documents that have no URL
    missing_url: Literal["keep", "drop"] = "keep"
    #: how many labels deep subdomains are matched (a.b.c.example.com has depth 4)
    max_depth: PositiveInt = 8


@register
class UrlFilter(Filter[UrlFilterConfig]):
    """Domain blocklist with subdomain matching, and a TLD allow-list."""

    name = "url_filter"
    adds = ("url_missing", "url_blocked", "tld_allowed")

    def needed_columns(self) -> frozenset[str]:
        return frozenset({self.config.url_column})

    def setup(self) -> None:
        cfg = self.config
        domains = {d.strip().lower().rstrip(".") for d in cfg.domains}
        for ref in cfg.domain_lists:
            domains.update(line.lower().rstrip(".") for line in load_words(ref, "blocklists"))
        self._domains = pa.array(sorted(domains), pa.string())
        self._tlds = (
            pa.array(sorted({t.lower().lstrip(".") for t in cfg.allowed_tlds}), pa.string())
            if cfg.allowed_tlds is not None else None
        )

    def signals(self, batch: pa.Table) -> dict[str, np.ndarray]:
        cfg = self.config
        if cfg.url_column not in batch.column_names:
            raise KeyError(f"url_filter needs a {cfg.url_column!r} column; the batch has {batch.column_names}")
        urls = batch.column(cfg.url_column)
        urls = urls.combine_chunks() if isinstance(urls, pa.ChunkedArray) else urls
        host = url_hosts(urls)
        missing = np.asarray(pc.is_null(host).to_numpy(zero_copy_only=False), bool) | (
            ts.np_int(pc.utf8_length(pc.fill_null(host, ""))) == 0
        )
        blocked = np.zeros(len(host), dtype=bool)
        if len(self._domains):
            cur = pc.fill_null(host, "")
            # a loop over subdomain depth, not over documents
            for _ in range(cfg.max_depth):
                blocked |= np.asarray(pc.is_in(cur, self._domains).to_numpy(zero_copy_only=False), bool)
                cur = pc.replace_substring_regex(cur, pattern=r"^[^.]*\.", replacement="", max_replacements=1)
        tld_ok = np.ones(len(host), dtype=bool)
        if self._tlds is not None:
            tld = pc.struct_field(pc.extract_regex(pc.fill_null(host, ""), pattern=r"(?P<tld>[^.]*)$"), [0])
            tld_ok = np.asarray(pc.is_in(tld, self._tlds).to_numpy(zero_copy_only=False), bool)
        return {"url_missing": missing, "url_blocked": blocked & ~missing, "tld_allowed": tld_ok | missing}

    def decide(self, batch, s):
        cfg = self.config
        rules = [
            ("missing_url", s["url_missing"] & (cfg.missing_url == "drop")),
            ("blocked_domain", s["url_blocked"]),
            ("tld_not_allowed", ~s["tld_allowed"]),
        ]
        return self.first_failure(rules, batch.num_rows)
