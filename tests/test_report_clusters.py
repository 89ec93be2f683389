"""The dedup stage's largest clusters, gathered by its write tasks and merged like the other
stats: on a planted Japanese and English corpus whose largest clusters are known, the report
(in a real browser) lists them, largest first, ties by kept id, their text shown as text."""

from __future__ import annotations

import json
from pathlib import Path

from dedup_corpus import _variant, planted
from test_dedup_stage import pipeline

from corpusforge.engine import run_pipeline
from corpusforge.samples import CLUSTERS

from browser import open_page
from conftest import conserved

HOSTILE = "<script>window.__pwned=1</script>吾輩は猫である。名前はまだ無い。</td></table>"


def test_largest_clusters_in_the_report(tmp_path: Path) -> None:
    corpus = planted(files=3)
    extra = {"ja-orig-000": 4, "en-orig-004": 3, "ja-orig-007": 2}  # copies added to each
    names = list(corpus.files)
    for oid, copies in extra.items():
        lang = oid[:2]
        for c in range(copies):
            did = f"{oid}-copy-{c}"
            text = corpus.text[oid] if c % 2 else _variant(corpus.text[oid], lang)
            corpus.files[names[1 + c % 2]].append({"id": did, "text": text, "lang": lang, "url": f"https://z.example/{did}"})
            corpus.exact[did] = oid
    corpus.files[names[0]].append({"id": "hostile-orig", "text": HOSTILE, "lang": "ja", "url": "javascript:x()"})
    for c in range(2):
        corpus.files[names[2]].append({"id": f"hostile-copy-{c}", "text": HOSTILE, "lang": "ja", "url": "https://h.example/"})
        corpus.exact[f"hostile-copy-{c}"] = "hostile-orig"
    members: dict[str, int] = {}
    for oid in [*corpus.exact.values(), *corpus.near.values()]:
        members[oid] = members.get(oid, 1) + 1
    expected = sorted(members.items(), key=lambda kv: (-kv[1], kv[0]))[:CLUSTERS]
    assert [s for _, s in expected[:4]] == [6, 5, 4, 3] and len(members) > CLUSTERS

    out = tmp_path / "out"
    conserved(run_pipeline(pipeline(corpus.write(tmp_path / "in"), out), workers=1))
    stats = json.loads((out / "stats.json").read_text())
    dedup = next(s for s in stats["steps"] if s["name"] == "dedup")
    assert [(c["id"], c["size"]) for c in dedup["clusters"]] == expected
    assert next(c for c in dedup["clusters"] if c["id"] == "ja-orig-000")["text"] == corpus.text["ja-orig-000"][:1000]

    with open_page((out / "report.html").as_uri()) as (page, console):
        rows = page.evaluate("""() => [...document.querySelectorAll('table.clusters tr.cluster')]
            .map(tr => [tr.dataset.id, +tr.dataset.size, tr.innerText])""")
        pwned = page.evaluate("() => typeof window.__pwned")
    assert console.errors == [] and pwned == "undefined"
    assert [(i, s) for i, s, _ in rows] == expected
    shown = dict((i, text) for i, _, text in rows)
    assert "<script>window.__pwned=1</script>吾輩は猫である" in shown["hostile-orig"]
    assert corpus.text["en-orig-004"][:60] in shown["en-orig-004"]
    assert corpus.text["ja-orig-000"][:60] in shown["ja-orig-000"]
