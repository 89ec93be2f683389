"""Incremental runs over a growing mirror: each night processes only the files its ledger
does not hold, into a snapshot of its own, deduplicated against the earlier snapshots.

The mirror stands in for a crawl: JSON-lines files of Japanese and English paragraphs (吾輩は
猫である, Botchan, from ../shared/data), and night 2's file holding exact and near copies of
night 1's documents beside new ones.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dedup_corpus import _edit, sentences

from conftest import ROOT, conserved

PIPELINE = """\
name: nightly
inputs: [{{type: jsonl, path: {mirror}/*.jsonl, source: web, metadata: [lang]}}]
incremental: true
steps:
  - {{step: normalize}}
  - {{step: {module}.Hold, folder: {hold}}}
stages:
  - dedup:
      exact: {{on: [text]}}
      minhash: {{threshold: 0.8, shingles: {{ja: char5, en: word5}}}}
output: {{path: {out}}}
"""


def paragraphs(lang: str, n: int, start: int = 0) -> list[str]:
    s = sentences(lang)
    glue = "" if lang == "ja" else " "
    return [glue.join(s[start + 6 * i:start + 6 * i + 6]) for i in range(n)]


def write_jsonl(path: Path, docs: list[dict]) -> None:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")


@pytest.fixture
def crawl(tmp_path: Path) -> dict:
    """Night 1's files (a-ja, a-en) and the file night 2 adds (b): new paragraphs, exact
    copies of night 1's documents and near copies (a few edits)."""
    rng = random.Random(7)
    a_ja = [{"id": f"ja{i}", "text": t, "lang": "ja"} for i, t in enumerate(paragraphs("ja", 30))]
    a_en = [{"id": f"en{i}", "text": t, "lang": "en"} for i, t in enumerate(paragraphs("en", 30))]
    exact = {f"b-exact{i}": d for i, d in enumerate(a_ja[:4] + a_en[:4])}
    near = {f"b-near{i}": d for i, d in enumerate(a_ja[10:13] + a_en[10:13])}
    new = ([{"id": f"b-ja{i}", "text": t, "lang": "ja"} for i, t in enumerate(paragraphs("ja", 10, 600))]
           + [{"id": f"b-en{i}", "text": t, "lang": "en"} for i, t in enumerate(paragraphs("en", 10, 600))])
    b = ([{"id": k, "text": d["text"], "lang": d["lang"]} for k, d in exact.items()]
         + [{"id": k, "text": _edit(d["text"], d["lang"], 2, rng), "lang": d["lang"]} for k, d in near.items()]
         + new)
    (tmp_path / "tests_user_steps.py").write_text((ROOT / "tests" / "user_steps.py").read_text())
    hold = tmp_path / "hold"
    hold.mkdir()
    (hold / "go").touch()
    return {"a-ja.jsonl": a_ja, "a-en.jsonl": a_en, "b.jsonl": b, "exact": exact, "near": near,
            "hold": hold}


def mirror_with(tmp_path: Path, crawl: dict, names: list[str], folder: str = "mirror") -> Path:
    mirror = tmp_path / folder
    mirror.mkdir(exist_ok=True)
    for name in names:
        write_jsonl(mirror / name, crawl[name])
    return mirror


def pipeline_file(tmp_path: Path, crawl: dict, mirror: Path, out: Path, *, incremental: bool = True,
                  name: str = "p.yaml", module: str = "tests_user_steps") -> Path:
    """The pipeline; its step module is the tests' own (``user_steps``, on the path of this
    process) or a copy beside the pipeline (for the command line in a process of its own)."""
    text = PIPELINE.format(mirror=mirror, hold=crawl["hold"], out=out, module=module)
    if not incremental:
        text = text.replace("incremental: true\n", "")
    (tmp_path / name).write_text(text)
    return tmp_path / name


def run(p: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpusforge.cli", "run", str(p), "--quiet",
                           "--workers", "1", *args], cwd=p.parent, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(p.parent), str(ROOT)]),
                                   COLUMNS="200"), timeout=300)


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def tree(out: Path) -> dict[str, bytes]:
    """Every file of the corpus but its lock (a run takes it and gives it back)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "lock" not in p.parts}


def read(out: Path, sink: str | None = None):
    from corpusforge.io.output import read_output

    return read_output(str(out), sink)


def test_night_two_processes_only_the_new_file_and_removes_copies_of_night_one(tmp_path, crawl):
    out = tmp_path / "corpus"
    mirror = mirror_with(tmp_path, crawl, ["a-ja.jsonl", "a-en.jsonl"])
    p = pipeline_file(tmp_path, crawl, mirror, out)
    first = run(p, "--snapshot", "night1")
    assert first.returncode == 0, first.stderr
    mirror_with(tmp_path, crawl, ["b.jsonl"])
    second = run(p, "--snapshot", "night2")
    assert second.returncode == 0, second.stderr
    assert "committed to the corpus" in second.stdout

    stats = json.loads((out / "snapshot=night2" / "stats.json").read_text())
    conserved_counts = stats["steps"]
    assert stats["docs_read"] == len(crawl["b.jsonl"])  # only the new file was read
    for s in conserved_counts:
        assert s["docs_in"] == s["docs_out"] + sum(s["removed"].values()) + s["errored"]
    # B's copies of night 1's documents are removed, each naming the document it copies
    rejects = read(out / "snapshot=night2", "_rejects").to_pylist()
    dup_of = {r["id"]: r["reject_dup_of"] for r in rejects}
    assert {k: dup_of.get(k) for k in crawl["exact"]} == {k: d["id"] for k, d in crawl["exact"].items()}
    assert {k: dup_of.get(k) for k in crawl["near"]} == {k: d["id"] for k, d in crawl["near"].items()}
    assert set(dup_of) == set(crawl["exact"]) | set(crawl["near"])

    # the ledger: every file once, with the night that processed it
    from corpusforge.io.corpus import read_ledger

    ledger = {r["name"]: r for r in read_ledger(str(out)).to_pylist()}
    assert {n: r["snapshot"] for n, r in ledger.items()} == {
        "a-en.jsonl": "night1", "a-ja.jsonl": "night1", "b.jsonl": "night2"}
    assert ledger["b.jsonl"]["size"] == (mirror / "b.jsonl").stat().st_size

    # the manifest adds up: per snapshot, per language, and against the documents there are
    m = manifest(out)
    docs = read(out)
    assert [s["id"] for s in m["snapshots"]] == ["night1", "night2"]
    assert m["totals"]["docs"] == sum(s["docs"] for s in m["snapshots"]) == docs.num_rows
    assert m["snapshots"][1]["docs"] == len(crawl["b.jsonl"]) - len(dup_of)
    by_lang: dict[str, int] = {}
    for lang in docs.column("lang").to_pylist():
        by_lang[lang] = by_lang.get(lang, 0) + 1
    assert {k: v["docs"] for k, v in m["totals"]["languages"].items()} == by_lang
    assert set(by_lang) == {"ja", "en"}
    assert m["totals"]["bytes"] == sum(len(t.encode()) for t in docs.column("text").to_pylist())
    assert sorted(set(docs.column("snapshot").to_pylist())) == ["night1", "night2"]
    assert [s["name"] for s in m["index"][0]["segments"]] == [
        "seg-00000-snapshot=night1", "seg-00001-snapshot=night2"]

    # a night that committed, run again: nothing new, nothing changed
    before = tree(out)
    again = run(p)
    assert again.returncode == 0, again.stderr
    assert "nothing new: every input file is in the ledger" in again.stdout
    assert tree(out) == before

    shown = subprocess.run([sys.executable, "-m", "corpusforge.cli", "stats", str(out)],
                           capture_output=True, text=True, env=dict(os.environ, COLUMNS="200"))
    assert shown.returncode == 0, shown.stderr
    assert "night1" in shown.stdout and "night2" in shown.stdout and "languages" in shown.stdout


def test_two_nights_over_a_growing_mirror_keep_what_one_run_over_all_of_it_keeps(tmp_path, crawl):
    from corpusforge.config import Pipeline
    from corpusforge.engine import run_pipeline

    mirror = mirror_with(tmp_path, crawl, ["a-ja.jsonl", "a-en.jsonl"])
    nightly = Pipeline.from_yaml(pipeline_file(tmp_path, crawl, mirror, tmp_path / "corpus",
                                               module="user_steps"))
    read_in_nights = conserved(run_pipeline(nightly, workers=1)).steps[0].docs_out
    mirror_with(tmp_path, crawl, ["b.jsonl"])
    read_in_nights += conserved(run_pipeline(nightly, workers=1)).steps[0].docs_out
    assert not run_pipeline(nightly, workers=1).steps  # a third night: nothing new

    once = Pipeline.from_yaml(pipeline_file(tmp_path, crawl, mirror, tmp_path / "once",
                                            incremental=False, name="once.yaml", module="user_steps"))
    single = conserved(run_pipeline(once, workers=1))
    # no document was processed twice, none was missed
    assert read_in_nights == single.steps[0].docs_out == sum(
        len(crawl[n]) for n in ("a-ja.jsonl", "a-en.jsonl", "b.jsonl"))
    nights, whole = read(tmp_path / "corpus"), read(tmp_path / "once")
    assert sorted(zip(nights.column("id").to_pylist(), nights.column("text").to_pylist())) == \
        sorted(zip(whole.column("id").to_pylist(), whole.column("text").to_pylist()))


def test_a_night_killed_mid_run_is_refused_until_resumed_and_resumes_to_the_same_corpus(tmp_path, crawl):
    from corpusforge.config import Pipeline
    from corpusforge.engine import run_pipeline

    mirror = mirror_with(tmp_path, crawl, ["a-ja.jsonl", "a-en.jsonl"])
    out, ref = tmp_path / "corpus", tmp_path / "reference"
    p = pipeline_file(tmp_path, crawl, mirror, out)
    # the same nights uninterrupted, in this process
    p_ref = Pipeline.from_yaml(pipeline_file(tmp_path, crawl, mirror, ref, name="ref.yaml",
                                             module="user_steps"))
    run_pipeline(p_ref, workers=1, snapshot="night1")
    assert run(p, "--snapshot", "night1").returncode == 0
    mirror_with(tmp_path, crawl, ["b.jsonl"])
    run_pipeline(p_ref, workers=1, snapshot="night2")

    hold = crawl["hold"]
    for f in hold.iterdir():  # the earlier nights' "running" files, and "go"
        f.unlink()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    victim = subprocess.Popen([sys.executable, "-m", "corpusforge.cli", "run", str(p), "--quiet",
                               "--workers", "1", "--snapshot", "night2"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while not any(n.startswith("running-") for n in os.listdir(hold)):
        assert victim.poll() is None, victim.stdout.read().decode()
        assert time.monotonic() < deadline, "the night never started its unit"
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    (hold / "go").touch()
    assert [s["id"] for s in manifest(out)["snapshots"]] == ["night1"]  # not visible: not committed
    assert read(out).num_rows == read(ref / "snapshot=night1").num_rows

    refused = run(p)
    assert refused.returncode == 2
    assert "night 'night2'" in refused.stderr and "did not commit" in refused.stderr
    assert "--resume" in refused.stderr
    shown = subprocess.run([sys.executable, "-m", "corpusforge.cli", "stats", str(out)],
                           capture_output=True, text=True, env=dict(os.environ, COLUMNS="200"))
    assert "night night2 (1 files) has not committed" in shown.stdout

    resumed = run(p, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    for sink in (None, "_rejects"):
        got, want = read(out, sink), read(ref, sink)
        assert sorted(got.to_pylist(), key=lambda r: r["id"]) == sorted(want.to_pylist(), key=lambda r: r["id"])
    strip = [{k: v for k, v in s.items() if k != "committed_at"} for s in manifest(out)["snapshots"]]
    assert strip == [{k: v for k, v in s.items() if k != "committed_at"} for s in manifest(ref)["snapshots"]]
    assert run(p, "--resume").stdout.startswith("nothing new")  # a resume after the commit: no-op


def test_incremental_needs_inputs_made_of_files(tmp_path):
    (tmp_path / "p.yaml").write_text(textwrap.dedent("""\
        inputs:
          - {type: demo, docs: 10}
        incremental: true
        output: {path: out}
        """))
    r = subprocess.run([sys.executable, "-m", "corpusforge.cli", "validate", "p.yaml"], cwd=tmp_path,
                       capture_output=True, text=True, env=dict(os.environ, COLUMNS="200"))
    assert r.returncode == 2
    assert "p.yaml:2: inputs[0].type: incremental runs keep a ledger of input files" in r.stderr + r.stdout


def test_a_snapshot_id_is_refused_when_taken_or_not_a_folder_name(tmp_path, crawl):
    mirror = mirror_with(tmp_path, crawl, ["a-ja.jsonl"])
    p = pipeline_file(tmp_path, crawl, mirror, tmp_path / "corpus")
    assert run(p, "--snapshot", "night1").returncode == 0
    mirror_with(tmp_path, crawl, ["a-en.jsonl"])
    taken = run(p, "--snapshot", "night1")
    assert taken.returncode == 2 and "snapshot 'night1'" in taken.stderr and "is committed" in taken.stderr
    bad = run(p, "--snapshot", "../x")
    assert bad.returncode == 2 and "letters, digits" in bad.stderr
    assert not (tmp_path / "corpus" / "_state" / "night.json").exists()


def cc_mirror(mirror: Path, crawl: str, files: dict[str, Path]) -> None:
    """A Common Crawl mirror's crawl: ``crawl-data/<crawl>/warc.paths.gz`` listing ``files``
    (name -> a WARC file of ../shared/data, linked in)."""
    folder = mirror / "crawl-data" / crawl
    rel = [f"crawl-data/{crawl}/segments/0/warc/{name}" for name in files]
    for r, source in zip(rel, files.values()):
        (mirror / r).parent.mkdir(parents=True, exist_ok=True)
        (mirror / r).symlink_to(source)
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "warc.paths.gz", "wt") as f:
        f.write("".join(r + "\n" for r in rel))


def test_nightly_common_crawl_from_a_mirror_takes_each_new_crawl_as_its_snapshot(tmp_path, shared):
    """A ja/en CC-like crawl: night 1 is the mirror's newest crawl (Japanese ClueWeb pages in
    EUC-JP and English pages); night 2 the crawl that appeared since, which holds a copy of a
    night-1 file: its pages are all removed as copies of night 1's."""
    ja, en0, en1 = (shared("warc", n) for n in ("resiliparse__clueweb-quirk.warc.gz",
                                                 "dolma__sample-0000.warc.gz", "dolma__sample-0001.warc.gz"))
    mirror, out = tmp_path / "cc", tmp_path / "corpus"
    cc_mirror(mirror, "CC-MAIN-2024-10", {"ja-00000.warc.gz": ja, "en-00000.warc.gz": en0})
    (tmp_path / "cc.yaml").write_text(textwrap.dedent(f"""\
        inputs:
          - {{type: commoncrawl, crawls: latest, files: null, base_url: {mirror}, source: cc}}
        incremental: true
        steps:
          - {{step: extract_html}}
          - {{step: normalize}}
          - {{step: length, min_chars: 50}}
        stages:
          - dedup: {{exact: {{on: [text]}}, minhash: {{threshold: 0.8, shingles: {{ja: char5}}}}}}
        output: {{path: {out}}}
        """))
    first = run(tmp_path / "cc.yaml")
    assert first.returncode == 0, first.stderr
    # the Japanese pages crawled again: the same responses under new record ids
    recrawl = tmp_path / "recrawl.warc.gz"
    recrawl.write_bytes(gzip.compress(gzip.decompress(ja.read_bytes()).replace(
        b"<urn:uuid:", b"<urn:uuid:recrawl-"), mtime=0))
    cc_mirror(mirror, "CC-MAIN-2024-18", {"ja-copy-00000.warc.gz": recrawl, "en-00001.warc.gz": en1})
    second = run(tmp_path / "cc.yaml")
    assert second.returncode == 0, second.stderr

    m = manifest(out)
    assert [s["id"] for s in m["snapshots"]] == ["CC-MAIN-2024-10", "CC-MAIN-2024-18"]
    from corpusforge.io.corpus import read_ledger

    ledger = read_ledger(str(out)).to_pylist()
    assert sorted((r["crawl"], r["name"].rpartition("/")[2]) for r in ledger) == [
        ("CC-MAIN-2024-10", "en-00000.warc.gz"), ("CC-MAIN-2024-10", "ja-00000.warc.gz"),
        ("CC-MAIN-2024-18", "en-00001.warc.gz"), ("CC-MAIN-2024-18", "ja-copy-00000.warc.gz")]
    ja_ids = {m.decode() for m in re.findall(rb"WARC-Record-ID: <([^>]+)>", gzip.decompress(ja.read_bytes()))}
    ja_kept = set(read(out / "snapshot=CC-MAIN-2024-10").column("id").to_pylist()) & ja_ids
    # the ClueWeb pages are mostly near copies of one shop's page: night 1 keeps few of them
    assert ja_kept, "night 1 keeps Japanese pages"
    rejects = read(out / "snapshot=CC-MAIN-2024-18", "_rejects").to_pylist()
    copies = [r for r in rejects if r["id"].startswith("urn:uuid:recrawl-") and r["step"] == "dedup"]
    # the pages crawled again are removed as copies of the pages night 1 kept (also those that
    # night 1 removed as near copies: their keys meet the kept page's in the index)
    assert {r["reject_dup_of"] for r in copies} == ja_kept and len(copies) > len(ja_kept)
    docs = read(out)
    assert not [i for i in docs.column("id").to_pylist() if i.startswith("urn:uuid:recrawl-")]
    assert m["totals"]["docs"] == docs.num_rows
    assert m["totals"]["sources"]["cc"]["docs"] == docs.num_rows
