"""The report's figures are gathered during the run: fixed-bin signal histograms that merge
like the other counters, identical in filter and annotate mode, and samples of removed
documents chosen by id hash (the same for any number of workers)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from corpusforge import accounting, histogram
from corpusforge.accounting import RunStats, StepStats


@pytest.fixture
def runs(web_runs):
    (out, filtered), (_, annotated) = web_runs["filter"], web_runs["annotate"]
    return out.parent, filtered, annotated


def test_filter_and_annotate_histograms_are_identical(runs):
    tmp, filtered, annotated = runs
    on_disk = json.loads((tmp / "filter" / "stats.json").read_text())
    for name in ("length", "langid", "gopher_quality"):
        f, a = _step(filtered, name), _step(annotated, name)
        assert f.histograms, name
        if name != "length":
            # annotate mode passes every document on: its later filters see more of them, so only
            # the first step's histograms compare; the later ones count what each step saw
            assert sum(histogram.total(h["kept"]) + histogram.total(h["removed"])
                       for h in a.histograms.values()) > 0
            continue
        assert f.histograms == a.histograms
    # counts add up to what each step saw, kept and removed as decided (filter mode)
    for st in filtered.steps[1:]:
        for signal, h in st.histograms.items():
            assert histogram.total(h["kept"]) + histogram.total(h["removed"]) == st.docs_in - st.errored, signal
            assert histogram.total(h["kept"]) == st.docs_out, signal
    # the last step counts what it passes on per source and language: Japanese and English
    by = _step(filtered, "gopher_quality").docs_by["web"]
    assert set(by) <= {"ja", "en"} and sum(d for d, _ in by.values()) == filtered.steps[-1].docs_out
    assert sum(b for _, b in by.values()) == filtered.steps[-1].bytes_out
    assert sum(d for d, _ in _step(annotated, "gopher_quality").docs_by["web"].values()) == 72
    assert _step(annotated, "gopher_quality").docs_by["web"]["ja"][0] > 0
    # and they are in stats.json, read back as they were
    back = RunStats.from_dict(on_disk)
    assert [s.histograms for s in back.steps] == [s.histograms for s in filtered.steps]
    assert [s.docs_by for s in back.steps] == [s.docs_by for s in filtered.steps]
    assert on_disk["steps"][1]["histograms"]["n_chars"]["thresholds"] == {"max_chars": 20000, "min_chars": 200}


def test_histogram_bins_are_fixed_and_merge():
    a, b = StepStats("s"), StepStats("s")
    import numpy as np

    a.add_signals({"x": np.array([0.01, 0.5, 3.0, -2.0, np.nan])}, np.array([1, 1, 0, 0, 1], bool), {})
    b.add_signals({"x": np.array([0.5, 1e12])}, np.array([1, 0], bool), {"x": {"max_x": 2}})
    a.merge(b)
    kept, removed = a.histograms["x"]["kept"], a.histograms["x"]["removed"]
    assert histogram.total(kept) == 4 and histogram.total(removed) == 3 and kept[histogram.NAN] == 1
    (half,) = [k for k in kept if k != histogram.NAN and histogram.bin_range(k)[0] == 0.5]
    assert kept[half] == 2
    ranges = [histogram.bin_range(k) for k in removed]
    assert sum(lo <= 3.0 < hi for lo, hi in ranges) == 1 and sum(lo <= -2.0 < hi for lo, hi in ranges) == 1
    assert max(hi for _, hi in ranges) == histogram.EDGES[-1]  # 1e12 is counted in the last bin
    assert a.histograms["x"]["thresholds"] == {"max_x": 2}
    # stats read back know the bins without importing numpy
    assert len(histogram.EDGES) - 1 == accounting.BINS
    with pytest.raises(ValueError, match="no bin"):
        StepStats.from_dict({"name": "s", "histograms": {"x": {"kept": {str(accounting.BINS): 1}}}})


def test_samples_of_removed_documents(runs):
    tmp, filtered, annotated = runs
    length = _step(filtered, "length")
    assert set(length.samples) == set(length.removed)
    for reason, items in length.samples.items():
        assert 0 < len(items) <= min(8, length.removed[reason])
        assert [s["hash"] for s in items] == sorted(s["hash"] for s in items)
        assert all("n_chars" in s["signals"] for s in items)
    ids = {s["id"] for s in length.samples["too_short"]}
    assert {"hostile-1", "hostile-2"} <= ids or len(length.samples["too_short"]) == 8
    # Japanese and English documents alike, with their text cut
    ja = [s for s in _step(filtered, "gopher_quality").samples["too_few_words"] if s["id"].startswith("ja-")]
    en = [s for s in length.samples["too_long"] if not s["id"].startswith("ja-")]
    assert ja and en and all(len(s["text"]) == min(1000, s["text_chars"]) for s in ja + en)
    assert any("\u3040" <= c <= "\u30ff" for c in ja[0]["text"])
    # annotate mode removes nothing: no samples
    assert not any(s.samples for s in annotated.steps)


def test_samples_do_not_depend_on_the_workers(runs, web_runs):
    _, filtered, _ = runs
    two = web_runs["filter2"][1]
    for a, b in zip(filtered.steps, two.steps):
        assert a.samples == b.samples and a.histograms == b.histograms, a.name


def _step(stats: RunStats, name: str) -> StepStats:
    return next(s for s in stats.steps if s.name == name)


def test_a_routes_inner_filters_are_counted_under_their_branch():
    """route (and per_source) pass their inner filters' signals on, named like their reasons."""
    from corpusforge.schema import make_batch
    from corpusforge.steps.route import Route

    texts = ["吾輩は猫である。" * k for k in (1, 5, 40)] + ["The quick brown fox. " * k for k in (1, 3, 30)]
    batch = make_batch([f"d{i}" for i in range(6)], texts, "web", "f.jsonl", list(range(6)))
    batch = batch.append_column("lang", pa.array(["ja"] * 3 + ["en"] * 3))
    step = Route(by="lang", branches={"ja": [{"step": "length", "min_chars": 30}],
                                      "en": [{"step": "length", "min_chars": 100}]})
    result = step.apply(batch)
    st = StepStats("route")
    for sig in result.signals:
        st.add_signals(sig.values, sig.keep, sig.thresholds)
    assert set(st.histograms) == {"ja/length:n_chars", "ja/length:n_bytes", "en/length:n_chars", "en/length:n_bytes"}
    for branch, threshold, kept in (("ja", 30, 2), ("en", 100, 1)):
        h = st.histograms[f"{branch}/length:n_chars"]
        assert (histogram.total(h["kept"]), histogram.total(h["removed"])) == (kept, 3 - kept)
        assert h["thresholds"] == {"min_chars": threshold}
    assert result.removed.num_rows == 3
