"""The `tar` input: a document per regular member, globs, header lines, encodings, damage."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import textwrap
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
import zstandard
from pydantic import ValidationError

from corpusforge.config import pipeline_from_yaml
from corpusforge.errors import ErrorRecord
from corpusforge.io import tar
from corpusforge.io.batching import BatchConfig
from corpusforge.io.reader import Skipped
from corpusforge.io.tar import TarInput
from corpusforge.yamlsource import ConfigError

from conftest import EN, JA, error_records, read_output, run

LIVEDOOR = ("ja", "livedoor_news", "ldcc_subset_100_per_category.tar.gz")
NOT_ARTICLES = ["**/LICENSE.txt", "**/README.txt", "**/CHANGES.txt"]


BATCH = BatchConfig()


def read_all(cfg: TarInput, batch: BatchConfig = BATCH
             ) -> tuple[pa.Table | None, list[ErrorRecord], dict[str, int]]:
    tables, errors, skipped = [], [], {}
    for unit in tar.plan(cfg, 0):
        for item in tar.read(unit, cfg, "src", batch):
            if isinstance(item, Skipped):
                skipped[item.reason] = skipped.get(item.reason, 0) + item.n
            else:
                (errors if isinstance(item, ErrorRecord) else tables).append(item)
    return (pa.concat_tables(tables) if tables else None), errors, skipped


def cfg(path: Path | str, **kw) -> TarInput:
    return TarInput(type="tar", path=str(path), **kw)


def tar_bytes(members: list[tuple[str, bytes]], others: bool = False) -> bytes:
    """A tar archive of ``members`` (name, content), with a directory, a symlink, a hard link
    and a FIFO among them when ``others``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        if others:
            d = tarfile.TarInfo("docs")
            d.type = tarfile.DIRTYPE
            t.addfile(d)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        if others:
            for name, kind in [("docs/link", tarfile.SYMTYPE), ("docs/hard", tarfile.LNKTYPE),
                               ("docs/pipe", tarfile.FIFOTYPE)]:
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = members[0][0] if kind != tarfile.FIFOTYPE else ""
                t.addfile(info)
    return buf.getvalue()


MEMBERS = [("docs/ja.txt", JA.encode()), ("docs/en.txt", EN.encode()), ("docs/sub/both.txt", f"{JA}\n{EN}".encode())]


def test_a_document_per_regular_member_and_the_rest_counted(tmp_path):
    raw = tar_bytes(MEMBERS, others=True)
    (tmp_path / "a.tar").write_bytes(raw)
    table, errors, skipped = read_all(cfg(tmp_path / "a.tar"))
    assert not errors
    assert table.column("text").to_pylist() == [JA, EN, f"{JA}\n{EN}"]
    assert table.column("id").to_pylist() == [f"src:a.tar:{n}" for n, _ in MEMBERS]
    # the position is the member's header offset in the archive
    with tarfile.open(tmp_path / "a.tar") as t:
        offsets = {m.name: m.offset for m in t.getmembers()}
    assert table.column("__pos").to_pylist() == [offsets[n] for n, _ in MEMBERS]
    assert skipped == {"not_a_file:directory": 1, "not_a_file:symlink": 1, "not_a_file:hardlink": 1,
                       "not_a_file:fifo": 1}


def test_skipped_members_are_counted_in_the_run_stats(tmp_path):
    (tmp_path / "a.tar").write_bytes(tar_bytes(MEMBERS, others=True))
    stats = run(tmp_path, """
        inputs: [{type: tar, path: TMP/a.tar}]
        output: {path: OUT}
    """)
    [read] = stats.steps
    assert (read.docs_in, read.docs_out, read.errored) == (7, 3, 0)
    assert read.removed == {"not_a_file:directory": 1, "not_a_file:symlink": 1, "not_a_file:hardlink": 1,
                            "not_a_file:fifo": 1}
    assert sorted(read_output(tmp_path / "out").column("text").to_pylist()) == sorted([EN, JA, f"{JA}\n{EN}"])


@pytest.mark.parametrize("ext", [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst"])
def test_compressed_archives_by_extension(tmp_path, ext):
    raw = tar_bytes(MEMBERS)
    pack = {".tar": bytes, ".tar.gz": gzip.compress, ".tgz": gzip.compress, ".tar.bz2": bz2.compress,
            ".tar.xz": lzma.compress, ".tar.zst": zstandard.ZstdCompressor().compress}[ext]
    (tmp_path / f"a{ext}").write_bytes(pack(raw))
    table, errors, _ = read_all(cfg(tmp_path / f"a{ext}"))
    assert not errors and table.column("text").to_pylist() == [JA, EN, f"{JA}\n{EN}"]


def test_member_globs(tmp_path):
    members = [("c/a.txt", b"a"), ("c/LICENSE.txt", b"l"), ("c/d/b.txt", b"b"), ("top.txt", b"t"),
               ("./c/e.md", b"e")]
    (tmp_path / "a.tar").write_bytes(tar_bytes(members))

    def texts(**kw) -> list[str]:
        return read_all(cfg(tmp_path / "a.tar", **kw))[0].column("text").to_pylist()

    assert texts() == ["a", "l", "b", "t", "e"]
    assert texts(members="**/*.txt", exclude="**/LICENSE.txt") == ["a", "b", "t"]
    assert texts(members="c/*.txt") == ["a", "l"]  # `*` stays within a folder
    assert texts(members=["c/*.md", "top.txt"]) == ["t", "e"]  # a leading ./ is not part of the name
    table, _, _ = read_all(cfg(tmp_path / "a.tar", members="c/*.md"))
    assert table.column("id").to_pylist() == ["src:a.tar:c/e.md"]


def test_header_lines_become_columns(tmp_path):
    article = "http://news.example.jp/1\r\n2012-09-05T10:00:00+0900\r\n見出しの行\r\n本文の一行目。\r\n本文の二行目。\r\n"
    members = [("a/1.txt", article.encode()), ("a/2.txt", b"https://en.example/2\n2020-01-01\nTitle\n" + EN.encode()),
               ("a/3.txt", b"https://x/3\n\n"), ("a/short.txt", b"https://x/4\n2021-01-01")]
    (tmp_path / "a.tar").write_bytes(tar_bytes(members))
    table, errors, _ = read_all(cfg(tmp_path / "a.tar", header_lines=["url", "date", "title"]))
    rows = table.to_pylist()
    assert [(r["url"], r["date"], r["title"], r["text"]) for r in rows] == [
        ("http://news.example.jp/1", "2012-09-05T10:00:00+0900", "見出しの行", "本文の一行目。\r\n本文の二行目。\r\n"),
        ("https://en.example/2", "2020-01-01", "Title", EN),
        ("https://x/3", None, None, ""),  # empty lines are nulls; no body is an empty text
    ]
    assert [(e.error, e.id) for e in errors] == [("BadRecord", "src:a.tar:a/short.txt")]
    assert "header_lines names 3" in errors[0].message
    # an id line names the document; null drops a line
    table, _, _ = read_all(cfg(tmp_path / "a.tar", members="a/[12].txt", header_lines=["id", None, "title"]))
    assert table.column_names[:4] == ["id", "text", "source", "url"] and "title" in table.column_names
    assert table.column("id").to_pylist() == ["http://news.example.jp/1", "https://en.example/2"]
    assert "date" not in table.column_names and table.column("url").null_count == 2


def test_header_line_names_are_checked(tmp_path):
    for names, message in [(["url", "text"], "'text' cannot name"), (["url", "url"], "given twice"),
                           (["__pos"], "'__pos' cannot name"), (["source"], "'source' cannot name")]:
        with pytest.raises(ValidationError, match=message):
            cfg(tmp_path, header_lines=names)
    with pytest.raises(ValidationError, match="unknown encoding"):
        cfg(tmp_path, encoding="nope")


def test_header_columns_are_known_to_the_pipeline_check(tmp_path):
    yaml = textwrap.dedent("""
        inputs: [{{type: tar, path: {path}, header_lines: {lines}}}]
        stages: [{{dedup: {{exact: {{on: [text]}}, keep: newest, keep_column: date}}}}]
        output: {{path: {out}}}
    """)
    pipeline_from_yaml(yaml.format(path=tmp_path, lines="[url, date, title]", out=tmp_path / "o"))
    with pytest.raises(ConfigError, match="no 'date' column"):
        pipeline_from_yaml(yaml.format(path=tmp_path, lines="[url, null, title]", out=tmp_path / "o"))


def test_encodings_and_invalid_bytes(tmp_path):
    members = [("sjis/1.txt", JA.encode("shift_jis")), ("sjis/bad.txt", b"ok \x82\xff bad"),
               ("sjis/2.txt", "英語と日本語".encode("shift_jis"))]
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(tar_bytes(members)))
    table, errors, _ = read_all(cfg(tmp_path / "a.tar.gz", encoding="shift_jis"))
    assert table.column("text").to_pylist() == [JA, "英語と日本語"]
    [err] = errors
    assert (err.error, err.id, err.file) == ("InvalidEncoding", "src:a.tar.gz:sjis/bad.txt", "a.tar.gz")
    assert err.message.startswith("invalid shift_jis at byte 3 of the member")
    # the same archive read as UTF-8: every member is an error record, none a crash
    table, errors, _ = read_all(cfg(tmp_path / "a.tar.gz"))
    assert table is None and [e.error for e in errors] == ["InvalidUtf8"] * 3


def test_a_member_name_that_is_not_utf8(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as t:
        for name, data in [("caf\xe9.txt", b"cafe"), ("ok.txt", b"ok")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    (tmp_path / "a.tar").write_bytes(buf.getvalue())
    table, errors, _ = read_all(cfg(tmp_path / "a.tar"))
    assert table.column("text").to_pylist() == ["ok"]
    assert [e.error for e in errors] == ["InvalidUtf8"] and "caf\\xe9.txt" in errors[0].message


def test_a_member_over_max_doc_bytes(tmp_path):
    members = [("a.txt", EN.encode()), ("big.txt", JA.encode() * 1000), ("b.txt", JA.encode())]
    (tmp_path / "a.tar").write_bytes(tar_bytes(members))
    table, errors, _ = read_all(cfg(tmp_path / "a.tar", max_doc_bytes=10_000))
    assert table.column("text").to_pylist() == [EN, JA]
    assert [(e.error, e.id) for e in errors] == [("DocumentTooLarge", "src:a.tar:big.txt")]
    assert f"document of {len(JA.encode()) * 1000} bytes" in errors[0].message


def _member_offsets(raw: bytes) -> list[tuple[int, int]]:
    """(header offset, data offset) of each member of a plain tar."""
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        return [(m.offset, m.offset_data) for m in t.getmembers()]


MANY = [(f"m/{i:03d}.txt", f"{JA if i % 2 else EN} {i}".encode() * 20) for i in range(40)]


def _damaged(kind: str) -> tuple[bytes, str, int]:
    """An archive of MANY damaged as ``kind``; its error, and how many members stay readable."""
    raw = tar_bytes(MANY)
    offsets = _member_offsets(raw)
    end = offsets[-1][1] + ((len(MANY[-1][1]) + 511) // 512) * 512  # after the last member's data
    if kind == "gzip cut":
        packed = gzip.compress(raw)
        return packed[: len(packed) // 2], "EOFError", -1
    if kind == "cut in a member":
        return raw[: offsets[20][1] + 100], "ReadError", 20
    if kind == "cut in a header":
        return raw[: offsets[20][0] + 200], "TruncatedArchive", 20
    if kind == "cut after a member":
        return raw[:end], "TruncatedArchive", 40
    if kind == "corrupt header":
        bad = bytearray(raw)
        bad[offsets[20][0] : offsets[20][0] + 8] = b"garbage!"
        return bytes(bad), "CorruptArchive", 20
    if kind == "not a tar":
        return b"this is not a tar archive\n" * 100, "ReadError", 0
    assert kind == "empty"
    return b"", "ReadError", 0


@pytest.mark.parametrize("kind", ["gzip cut", "cut in a member", "cut in a header", "cut after a member",
                                  "corrupt header", "not a tar", "empty"])
def test_a_damaged_archive_keeps_the_members_before_the_damage(tmp_path, kind):
    data, error, kept = _damaged(kind)
    name = "a.tar.gz" if kind == "gzip cut" else "a.tar"
    (tmp_path / name).write_bytes(data)
    table, errors, _ = read_all(cfg(tmp_path / name))
    texts = table.column("text").to_pylist() if table is not None else []
    if kept < 0:
        kept = len(texts)
        assert 0 < kept < len(MANY)
    assert texts == [d.decode() for _, d in MANY[:kept]]
    assert [(e.error, e.file) for e in errors] == [(error, name)]
    offsets = _member_offsets(tar_bytes(MANY))
    if kind in ("cut in a member", "cut in a header", "corrupt header"):
        assert errors[0].position == offsets[20][0]


def test_livedoor_news_as_shipped(shared):
    path = shared(*LIVEDOOR)
    table, errors, skipped = read_all(cfg(path, source="livedoor", exclude=NOT_ARTICLES,
                                          header_lines=["url", "date", "title"]))
    assert not errors and not skipped
    assert table.num_rows == 900
    rows = table.to_pylist()
    categories = {r["id"].split(":")[-1].split("/")[1] for r in rows}
    assert len(categories) == 9 and "peachy" in categories
    assert all(r["url"].startswith("http://news.livedoor.com/article/detail/") for r in rows)
    assert all(r["date"][:2] == "20" and r["date"].endswith("+0900") for r in rows)
    assert all(r["title"] and "\n" not in r["title"] for r in rows)
    # the text is the article: what follows the three header lines, Japanese prose
    first = rows[0]
    with tarfile.open(path) as t:
        member = t.extractfile(first["id"].split(":", 2)[2]).read().decode("utf-8")
    assert member.split("\n", 3)[3] == first["text"]
    assert first["text"].count("。") > 5
    # without the glob the licence and read-me files are documents too
    table, _, _ = read_all(cfg(path))
    assert table.num_rows == 911


def test_a_run_of_livedoor_from_the_command_line_accounts_for_every_document(shared, tmp_path):
    from typer.testing import CliRunner

    from corpusforge.cli import app

    path = shared(*LIVEDOOR)
    # a broken archive of our own beside it: the run goes on
    data, _, _ = _damaged("corrupt header")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "b.tar").write_bytes(data)
    (tmp_path / "p.yaml").write_text(textwrap.dedent(f"""
        inputs:
          - type: tar
            path: {path}
            source: livedoor
            header_lines: [url, date, title]
            exclude: {NOT_ARTICLES}
          - {{type: tar, path: {tmp_path}/broken/*.tar, source: broken}}
        steps:
          - {{step: length, min_chars: 200}}
        output: {{path: {tmp_path}/out}}
    """))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "p.yaml"), "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    stats = orjson.loads((tmp_path / "out" / "stats.json").read_bytes())
    steps = {s["name"]: s for s in stats["steps"]}
    for s in stats["steps"]:
        assert s["docs_in"] == s["docs_out"] + sum(s["removed"].values()) + s["errored"], s
    read = steps["read"]
    assert (read["docs_in"], read["errored"]) == (900 + 20 + 1, 1)
    out = read_output(tmp_path / "out")
    assert out.num_rows == stats["steps"][-1]["docs_out"] > 800
    assert {"url", "date", "title"} <= set(out.column_names)
    assert [(e["error"], e["file"]) for e in error_records(tmp_path / "out")] == [("CorruptArchive", "b.tar")]
