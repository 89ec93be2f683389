"""Keep policies on dates written as text: WARC-Date (ISO 8601 with a zone), naive ISO dates,
and a crawler's malformed date, which loses instead of stopping the run."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from corpusforge.dedup.keep import KeepColumnError, priority


def _newest(dates: list[str | None]) -> np.ndarray:
    return priority(pa.table({"text": ["x"] * len(dates), "d": dates}), "newest", "d")


def test_warc_dates_with_a_zone_compare_in_utc():
    p = _newest(["2024-04-25T16:24:47Z", "2009-03-06T08:43:19-0800", "2009-03-06T17:00:00+0000"])
    assert p[0] > p[2] > p[1]  # 08:43:19-0800 is 16:43:19 UTC


def test_mixed_forms_and_a_malformed_date():
    # ClueWeb09 writes day-of-year dates such as 2008-10-294: no date, so it loses
    p = _newest(["2008-10-294T05:21:46-0700", "2020-08-08T17:11:45", "2020-08-08", None, "2021-01-01T00:00:00Z"])
    assert p[0] == p[3] == -np.inf
    assert p[4] > p[1] > p[2]
    # a shard may hold only malformed dates: they all lose, the stage goes on
    assert _newest(["2008-10-294T05:21:46-0700", "2008-10-295T00:00:00-0700"]).tolist() == [-np.inf] * 2


def test_text_that_is_neither_dates_nor_numbers_is_refused():
    assert priority(pa.table({"text": ["a", "b"], "d": ["1.5", "2"]}), "highest", "d").tolist() == [1.5, 2.0]
    with pytest.raises(KeepColumnError, match="neither dates nor numbers"):
        _newest(["soon", "later"])
