"""The dedup stage end to end: planted exact and near duplicates in Japanese and English
found across files and workers, documents below the threshold kept, readable results,
keep policies, the persistent index, resume, and real Japanese pages from ClueWeb."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from dedup_corpus import Corpus, jaccard, planted, shingle_set

from corpusforge.config import pipeline_from_yaml
from corpusforge.dedup.index import IndexMismatchError
from corpusforge.dedup.minhash import ShingleSpec
from corpusforge.dedup.normalize import normalize_for_hash
from corpusforge.engine import run_pipeline

from conftest import read_output, shared_data

PIPE = """
name: dedup-test
inputs:
  - type: jsonl
    path: {inputs}
    metadata: [lang{meta}]
stages:
  - dedup:
      exact: {{on: [text, url]}}
      minhash: {{threshold: {thr}, num_perm: 128, shingles: {{ja: char5, en: word5}}{mh}}}
{extra}
output:
  path: {out}
  keep_intermediate: {keep}
"""


def pipeline(inputs, out: Path, mh: str = "", extra: str = "", meta: str = "", thr: float = 0.8,
             keep: bool = False):
    paths = [str(p) for p in inputs] if isinstance(inputs, list) else str(inputs)
    return pipeline_from_yaml(PIPE.format(inputs=json.dumps(paths), out=out, mh=mh, extra=extra, meta=meta,
                                          thr=thr, keep=str(keep).lower()))


def rejects(out: Path) -> pa.Table:
    """The dedup stage's rejects (the `step` column comes back from the `step=dedup` folder)."""
    if not (out / "_rejects" / "step=dedup").exists():
        return pa.table({"id": []})
    table = read_output(out / "_rejects")
    return table.filter(pa.compute.equal(table.column("step"), "dedup"))


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return planted()


@pytest.fixture(scope="module")
def one_worker(corpus: Corpus, tmp_path_factory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("dedup1")
    paths = corpus.write(tmp / "in")
    out = tmp / "out"
    return out, run_pipeline(pipeline(paths, out), workers=1)


def test_planted_duplicates_found_across_files(corpus: Corpus, one_worker) -> None:
    out, stats = one_worker
    kept = read_output(out)
    rj = rejects(out)
    kept_ids = set(kept.column("id").to_pylist())
    dup_of = dict(zip(rj.column("id").to_pylist(), rj.column("reject_dup_of").to_pylist()))
    reason = dict(zip(rj.column("id").to_pylist(), rj.column("reason").to_pylist()))
    for did, oid in corpus.exact.items():
        assert dup_of.get(did) == oid and reason[did] == "duplicate_exact", did
    for did, oid in corpus.near.items():
        assert dup_of.get(did) == oid and reason[did] == "duplicate_near", did
    # below the threshold (half the text shared) and the originals survive
    assert corpus.distinct <= kept_ids
    assert {i for i in corpus.text} <= kept_ids
    assert len(rj) == len(corpus.exact) + len(corpus.near)
    # cross-file: some duplicates were in the second file
    assert any(r["id"] in dup_of for r in corpus.files["part1.jsonl"])
    st = stats.steps[-1]
    assert st.name == "dedup" and st.docs_in == kept.num_rows + len(rj)
    assert st.removed == {"duplicate_exact": len(corpus.exact), "duplicate_near": len(corpus.near)}


def test_cluster_columns(corpus: Corpus, one_worker) -> None:
    out, _ = one_worker
    kept = read_output(out).to_pylist()
    dups_per_orig: dict[str, int] = {}
    for oid in [*corpus.exact.values(), *corpus.near.values()]:
        dups_per_orig[oid] = dups_per_orig.get(oid, 0) + 1
    for row in kept:
        assert row["dup_cluster_id"] == row["id"]
        assert row["dup_cluster_size"] == 1 + dups_per_orig.get(row["id"], 0)
    rj = rejects(out).to_pylist()
    assert all(r["step"] == "dedup" and r["text"] for r in rj)


@pytest.mark.slow
def test_same_output_for_two_workers_and_ray(corpus: Corpus, one_worker, tmp_path: Path) -> None:
    out1, _ = one_worker
    paths = corpus.write(tmp_path / "in")
    out2 = tmp_path / "out2"
    run_pipeline(pipeline(paths, out2), workers=2)
    assert read_output(out1).equals(read_output(out2))
    assert rejects(out1).equals(rejects(out2))
    out3 = tmp_path / "out3"
    run_pipeline(pipeline(paths, out3), executor="ray", workers=2)
    assert read_output(out1).equals(read_output(out3))
    assert rejects(out1).equals(rejects(out3))


def test_partitions_and_verification_do_not_change_planted_results(corpus: Corpus, one_worker, tmp_path: Path) -> None:
    out1, _ = one_worker
    paths = corpus.write(tmp_path / "in")
    out = tmp_path / "out"
    run_pipeline(pipeline(paths, out, mh=", verify: true", extra="      partitions: 3"), workers=1)
    assert read_output(out1).equals(read_output(out))


def test_keep_longest_and_newest(tmp_path: Path) -> None:
    ja = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。"
    en = ("I was born in a dim and damp place and all I remember is crying there, mewing feebly "
          "until a student picked me up and carried me off to his lodgings on the hill.")
    recs = [
        {"id": "a", "text": ja, "lang": "ja", "date": "2020-01-01"},
        {"id": "b", "text": ja + "吾輩はここで始めて人間というものを見た。", "lang": "ja", "date": "2019-01-01"},
        {"id": "c", "text": en, "lang": "en", "date": "2021-06-01"},
        {"id": "d", "text": en.replace("dim", "dun"), "lang": "en", "date": "2022-06-01"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    out = tmp_path / "longest"
    run_pipeline(pipeline(src, out, thr=0.5, meta=", date", extra="      keep: longest"), workers=1)
    kept = {r["id"]: r["dup_cluster_size"] for r in read_output(out).to_pylist()}
    assert kept == {"b": 2, "c": 2}
    out = tmp_path / "newest"
    run_pipeline(pipeline(src, out, thr=0.5, mh=", keep: newest", meta=", date"), workers=1)
    assert sorted(read_output(out).column("id").to_pylist()) == ["a", "d"]
    assert dict(zip(*rejects(out).select(["id", "reject_dup_of"]).to_pydict().values())) == {"b": "a", "c": "d"}


def test_incremental_index(tmp_path: Path) -> None:
    old = planted(originals=9, seed=1, files=1, prefix="old-")
    new = planted(originals=9, seed=2, files=1, prefix="new-", shift=40)
    # the nightly shard repeats some documents of the first run, exactly and nearly
    olds = [r for r in old.files["old-part0.jsonl"] if "-orig-" in r["id"]]
    news = new.files["new-part0.jsonl"]
    news.append({**olds[0], "id": "again-exact", "url": "https://z.example/1"})
    news.append({**olds[1], "id": "again-near", "text": olds[1]["text"][:-3] + "ぬ。", "url": "https://z.example/2"})
    index = tmp_path / "index"
    extra = f"      index: {index}"
    run_pipeline(pipeline(old.write(tmp_path / "a"), tmp_path / "out-a", extra=extra), workers=1)
    meta = json.loads((index / "index.json").read_text())
    assert len(meta["segments"]) == 1
    kept_a = read_output(tmp_path / "out-a").num_rows
    assert sum(p["rows"] for p in meta["segments"][0]["parts"]) == kept_a
    run_pipeline(pipeline(new.write(tmp_path / "b"), tmp_path / "out-b", extra=extra), workers=1)
    dup_of = dict(zip(*rejects(tmp_path / "out-b").select(["id", "reject_dup_of"]).to_pydict().values()))
    assert dup_of["again-exact"] == olds[0]["id"] and dup_of["again-near"] == olds[1]["id"]
    kept_b = set(read_output(tmp_path / "out-b").column("id").to_pylist())
    assert not any(i.startswith("old-") for i in kept_b) and "new-ja-orig-000" in kept_b
    assert len(json.loads((index / "index.json").read_text())["segments"]) == 2
    # other parameters cannot be compared with this index
    with pytest.raises(IndexMismatchError):
        run_pipeline(pipeline(new.write(tmp_path / "c"), tmp_path / "out-c", mh=", seed: 5", extra=extra),
                     workers=1)


def test_resume_after_losing_stage_work(corpus: Corpus, one_worker, tmp_path: Path) -> None:
    out1, first = one_worker
    paths = corpus.write(tmp_path / "in")
    out = tmp_path / "out"
    # kept: a run killed in the write phase still has them, a finished one not
    run_pipeline(pipeline(paths, out, keep=True), workers=1)
    # as if killed during the write phase: stage marker, one write task and its output gone
    state = out / "_state" / "stages"
    (state / "00-dedup.json").unlink()
    (state / "00-dedup" / "write" / "task-00001.json").unlink()
    for p in out.glob("part-00001-*"):
        p.unlink()
    (out / "stats.json").unlink()
    again = run_pipeline(pipeline(paths, out, keep=True), workers=1, resume=True)
    assert read_output(out).equals(read_output(out1))
    assert rejects(out).equals(rejects(out1))
    assert again.steps[-1].removed == first.steps[-1].removed


def test_resume_after_a_crash_in_the_write_phase(corpus: Corpus, one_worker, tmp_path: Path, monkeypatch) -> None:
    """A crash while writing shard 1: the resumed run reuses the signatures, groups and
    components (their tasks do not run again) and writes what is missing."""
    from corpusforge.dedup import clusters, stage

    out1, _ = one_worker
    paths = corpus.write(tmp_path / "in")
    out = tmp_path / "out"
    real_write, calls = stage._write_task, []

    def crash_on_second(item):
        if item.shard == 1:
            raise RuntimeError("killed")
        return real_write(item)

    monkeypatch.setattr(stage, "_write_task", crash_on_second)
    with pytest.raises(RuntimeError, match="killed"):
        run_pipeline(pipeline(paths, out), workers=1)
    assert (out / "_work" / "00-dedup" / "plan.json").exists()
    monkeypatch.setattr(stage, "_write_task", real_write)
    for name in ("_sign_task", "_group_task"):
        monkeypatch.setattr(stage, name, lambda item, name=name: calls.append(name))
    for name in ("labels_task", "members_task", "clusters_task", "decide_task"):
        monkeypatch.setattr(clusters, name, lambda item, name=name: calls.append(name))
    run_pipeline(pipeline(paths, out), workers=1, resume=True)
    assert calls == []
    assert read_output(out).equals(read_output(out1))
    assert rejects(out).equals(rejects(out1))
    assert not (out / "_work" / "00-dedup").exists()


def test_clueweb_japanese_product_pages(tmp_path: Path) -> None:
    """29 real Japanese pages (EUC-JP, ClueWeb09): 8 copies of one ranking page collapse into
    one cluster, the same product listed under two categories is a near duplicate, and
    pages of different products stay apart."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from trafilatura import extract

    warc = shared_data("warc", "resiliparse__clueweb-quirk.warc.gz")
    recs = []
    with open(warc, "rb") as f:
        for rec in ArchiveIterator(f, parse_http=True, record_types=WarcRecordType.response):
            html = rec.reader.read().decode("euc-jp", errors="replace")
            recs.append({"id": f"cw{len(recs):02d}", "url": rec.headers.get("WARC-Target-URI"),
                         "text": extract(html) or "", "lang": "ja"})
    assert len(recs) == 29
    src = tmp_path / "clueweb.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    out = tmp_path / "out"
    # verify: LSH alone sometimes pairs two products of one series (Jaccard ~0.7)
    run_pipeline(pipeline(src, out, mh=", verify: true"), workers=1)
    kept = {r["id"]: r["dup_cluster_size"] for r in read_output(out).to_pylist()}
    rj = rejects(out).to_pylist()
    dup_of = {r["id"]: r["reject_dup_of"] for r in rj}
    text = {r["id"]: r["text"] for r in recs}
    for r in rj:  # every removed page is close to the page kept instead
        a, b = normalize_for_hash(pa.array([text[r["id"]], text[r["reject_dup_of"]]]), "char").to_pylist()
        assert jaccard(shingle_set(a, ShingleSpec("char", 5)), shingle_set(b, ShingleSpec("char", 5))) >= 0.75
    ranking = [r["id"] for r in recs if "人気ランキング" in r["text"][:40]]
    assert len(ranking) == 8
    assert kept[ranking[0]] == 8 and all(dup_of[i] == ranking[0] for i in ranking[1:])
    # the same briefcase under "BriefCase" and under its series (Jaccard 0.96): one cluster
    same = [r["id"] for r in recs if r["url"].startswith("http://www.uraharajuku.st/shopdetail/001030000011/")]
    assert len(same) == 2 and dup_of[same[1]] == same[0]
    # different products of one shop share their menus (Jaccard 0.2-0.77): never merged
    assert len(kept) >= 15
    assert {r["reason"] for r in rj} == {"duplicate_exact", "duplicate_near"}


def test_langid_then_dedup_shingles_japanese_by_character(corpus: Corpus, tmp_path: Path) -> None:
    """With the language from the real fastText step, Japanese gets character 5-grams and its
    near duplicates are found; word 5-grams on unsegmented Japanese (a whole sentence is one
    "word") miss most of them."""
    records = [dict(r) for recs in corpus.files.values() for r in recs]
    for r in records:
        del r["lang"]  # the langid step decides
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    ja_near = {d for d in corpus.near if d.startswith("ja-")}

    def removed(shingles: str) -> set[str]:
        out = tmp_path / shingles
        yaml = PIPE.format(inputs=json.dumps(str(src)), out=out, thr=0.8, meta="", extra="", keep="false",
                           mh=", default: word5").replace("metadata: [lang]", "metadata: []")
        yaml = yaml.replace("shingles: {ja: char5, en: word5}", f"shingles: {{ja: {shingles}, en: word5}}")
        yaml = yaml.replace("stages:", "steps:\n  - step: langid\nstages:")
        run_pipeline(pipeline_from_yaml(yaml), workers=1)
        assert set(read_output(out).column("lang").to_pylist()) == {"ja", "en"}
        return set(rejects(out).column("id").to_pylist())

    assert ja_near <= removed("char5")
    assert len(ja_near & removed("word5")) < len(ja_near) // 2

