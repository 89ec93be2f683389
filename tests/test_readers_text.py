"""The `text` input: a document per file or per paragraph, encodings, compression, bad bytes."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard
from pydantic import ValidationError

from corpusforge.errors import ErrorRecord
from corpusforge.io import text
from corpusforge.io.batching import BatchConfig
from corpusforge.io.text import TextInput

from conftest import EN, JA, error_records, read_output, run

KOJIKI = ("ja", "aozora_kojiki")


BATCH = BatchConfig()


def read_all(cfg: TextInput, batch: BatchConfig = BATCH) -> tuple[pa.Table | None, list[ErrorRecord]]:
    tables, errors = [], []
    for unit in text.plan(cfg, 0):
        for item in text.read(unit, cfg, "src", batch):
            (errors if isinstance(item, ErrorRecord) else tables).append(item)
    return (pa.concat_tables(tables) if tables else None), errors


def cfg(path: Path | str, **kw) -> TextInput:
    return TextInput(type="text", path=str(path), **kw)


def test_a_document_per_file_with_ids_from_the_path(tmp_path):
    (tmp_path / "docs" / "ja").mkdir(parents=True)
    (tmp_path / "docs" / "ja" / "neko.txt").write_text(JA + "\n\n" + JA + "\n", encoding="utf-8")
    (tmp_path / "docs" / "en.txt").write_text(EN, encoding="utf-8")
    (tmp_path / "docs" / "empty.txt").write_bytes(b"")
    table, errors = read_all(cfg(tmp_path / "docs" / "**" / "*.txt"))
    assert not errors
    rows = {r["id"]: r for r in table.to_pylist()}
    # the file is the document, as it is (line ends included); an empty file is an empty document
    assert rows["src:ja/neko.txt"]["text"] == JA + "\n\n" + JA + "\n"
    assert rows["src:en.txt"]["text"] == EN
    assert rows["src:empty.txt"]["text"] == ""
    assert set(table.column("__pos").to_pylist()) == {0}
    assert sorted(table.column("__file").to_pylist()) == ["empty.txt", "en.txt", "ja/neko.txt"]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_paragraphs_between_blank_lines_at_their_byte_offsets(tmp_path, eol):
    paragraphs = [f"{JA}{eol.decode()}二行目です。", EN, f"{' ' * 12}{EN} indented", "最後の段落。"]
    # blank lines of any length, some holding spaces, before, between and after the paragraphs
    raw = (eol + eol + eol.join(p.encode() for p in paragraphs[:1]) + eol + b" " * 20 + eol
           + paragraphs[1].encode() + eol + b"   \t" + eol + b" " + eol
           + paragraphs[2].encode() + eol + eol + paragraphs[3].encode() + b"  " + eol + eol)
    (tmp_path / "a.txt").write_bytes(raw)
    table, errors = read_all(cfg(tmp_path / "a.txt", split="paragraph"))
    assert not errors
    # inner line ends and indentation stay; trailing white space of a paragraph goes
    assert table.column("text").to_pylist() == paragraphs
    for row in table.to_pylist():
        assert raw[row["__pos"]:].startswith(row["text"].encode())
        assert row["id"] == f"src:a.txt:{row['__pos']}"


@pytest.mark.parametrize("sep", [b"\r\n\r\n", b"\n \n", b"\r\r"])
@pytest.mark.parametrize("k", range(5))
def test_a_blank_line_cut_by_a_read_block(tmp_path, sep, k):
    # the reader reads 1 MiB blocks: the separator starts k bytes before a block ends
    first = b"a" * (text._BLOCK - k)
    (tmp_path / "a.txt").write_bytes(first + sep + "次の段落\r\n二行目".encode() + sep + b"end")
    table, errors = read_all(cfg(tmp_path / "a.txt", split="paragraph"))
    assert not errors
    assert table.column("text").to_pylist() == [first.decode(), "次の段落\r\n二行目", "end"]
    assert table.column("__pos").to_pylist()[1] == len(first) + len(sep)


def test_a_line_end_cut_by_a_read_block_is_not_a_blank_line(tmp_path):
    first = b"a" * (text._BLOCK - 1)
    (tmp_path / "a.txt").write_bytes(first + b"\r\nsame paragraph")
    table, _ = read_all(cfg(tmp_path / "a.txt", split="paragraph"))
    assert table.column("text").to_pylist() == [first.decode() + "\r\nsame paragraph"]


def test_paragraphs_across_blocks_and_batches(tmp_path):
    paragraphs = [(JA if i % 2 else EN) * (1 + i % 97) + f" #{i}" for i in range(1500)]
    raw = "\r\n\r\n".join(paragraphs).encode()
    assert len(raw) > 3 * 2**20
    (tmp_path / "big.txt").write_bytes(raw)
    batch = BatchConfig(max_docs=500, max_bytes=2**20)
    tables = [t for u in text.plan(cfg(tmp_path / "big.txt", split="paragraph"), 0)
              for t in text.read(u, cfg(tmp_path / "big.txt", split="paragraph"), "src", batch)]
    assert all(isinstance(t, pa.Table) and t.num_rows <= 500 for t in tables) and len(tables) >= 3
    assert pa.concat_tables(tables).column("text").to_pylist() == paragraphs


def test_the_three_encodings_of_the_kojiki_give_the_same_text(shared):
    folder = shared(*KOJIKI)
    name = "03gendaigoyaku_kojiki.txt"
    texts = {}
    for suffix, encoding in [("utf8", "utf-8"), ("sjis", "shift_jis"), ("eucjp", "euc-jp")]:
        for split in ("file", "paragraph"):
            table, errors = read_all(cfg(folder / f"{name}.{suffix}.gz", encoding=encoding, split=split))
            assert not errors
            texts[suffix, split] = table.column("text").to_pylist()
    whole = texts["utf8", "file"]
    assert len(whole) == 1 and whole[0].startswith("古事記\r\n現代語譯\u3000古事記")
    assert whole[0] == gzip.decompress((folder / f"{name}.utf8.gz").read_bytes()).decode("utf-8")
    assert len(texts["utf8", "paragraph"]) > 300
    for split in ("file", "paragraph"):
        assert texts["sjis", split] == texts["eucjp", split] == texts["utf8", split]


def test_the_wrong_encoding_is_an_error_record_not_a_crash(shared):
    sjis = shared(*KOJIKI, "03gendaigoyaku_kojiki.txt.sjis.gz")
    table, errors = read_all(cfg(sjis))  # Shift_JIS read as UTF-8
    assert table is None
    assert [(e.error, e.file, e.position, e.id) for e in errors] == [
        ("InvalidUtf8", sjis.name, 0, f"src:{sjis.name}")]
    assert "at byte 0 of the file" in errors[0].message


def test_invalid_bytes_cost_their_paragraph_only(tmp_path):
    good = ["一つ目の段落。", "English paragraph.", "三つ目。"]
    raw = (good[0].encode("shift_jis") + b"\n\n" + b"bad \x82\xff here" + b"\n\n"
           + good[1].encode("shift_jis") + b"\n\n" + good[2].encode("shift_jis") + b"\n")
    (tmp_path / "sjis.txt").write_bytes(raw)
    table, errors = read_all(cfg(tmp_path / "sjis.txt", encoding="shift_jis", split="paragraph"))
    assert table.column("text").to_pylist() == good
    [err] = errors
    assert (err.error, err.position) == ("InvalidEncoding", raw.index(b"bad"))
    assert err.message.startswith("invalid shift_jis at byte 4 of the paragraph")
    assert err.snippet.startswith("bad ")

    (tmp_path / "utf8.txt").write_bytes(JA.encode() + b"\n\n" + b"\xe5\x90 cut" + b"\n\n" + EN.encode())
    table, errors = read_all(cfg(tmp_path / "utf8.txt", split="paragraph"))
    assert table.column("text").to_pylist() == [JA, EN]
    assert [e.error for e in errors] == ["InvalidUtf8"]


def test_a_byte_order_mark_is_not_text(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + JA.encode() + b"\n\n" + EN.encode())
    whole, _ = read_all(cfg(tmp_path / "bom.txt"))
    assert whole.column("text").to_pylist() == [JA + "\n\n" + EN]
    paragraphs, _ = read_all(cfg(tmp_path / "bom.txt", split="paragraph"))
    assert paragraphs.column("text").to_pylist() == [JA, EN]
    assert paragraphs.column("__pos").to_pylist()[0] == 3


@pytest.mark.parametrize("ext", [".gz", ".zst", ".bz2"])
def test_compressed_files_by_extension(tmp_path, ext):
    paragraphs = [JA * 2000, EN, JA]  # longer than a read of the decompressor
    raw = "\n\n".join(paragraphs).encode("euc_jp")
    packed = {".gz": gzip.compress, ".zst": zstandard.ZstdCompressor().compress, ".bz2": bz2.compress}[ext](raw)
    (tmp_path / f"a.txt{ext}").write_bytes(packed)
    table, errors = read_all(cfg(tmp_path / f"a.txt{ext}", encoding="euc_jp", split="paragraph"))
    assert not errors and table.column("text").to_pylist() == paragraphs
    table, errors = read_all(cfg(tmp_path / f"a.txt{ext}", encoding="euc_jp"))
    assert not errors and table.column("text").to_pylist() == ["\n\n".join(paragraphs)]


def test_a_truncated_gzip_keeps_the_paragraphs_before_the_break(tmp_path):
    paragraphs = [f"{JA} {i}" for i in range(20000)]
    packed = gzip.compress("\n\n".join(paragraphs).encode())
    (tmp_path / "cut.txt.gz").write_bytes(packed[: len(packed) // 2])
    table, errors = read_all(cfg(tmp_path / "cut.txt.gz", split="paragraph"))
    assert 0 < table.num_rows < len(paragraphs)
    assert table.column("text").to_pylist() == paragraphs[: table.num_rows]
    assert errors[0].error == "EOFError" and errors[0].position > table.column("__pos")[-1].as_py()
    # the paragraph the break cut is its own error record
    assert [e.error for e in errors[1:]] == ["TruncatedRecord"]
    # a whole-file document that is cut is one error record
    table, errors = read_all(cfg(tmp_path / "cut.txt.gz"))
    assert table is None and [(e.error, e.id) for e in errors] == [("EOFError", "src:cut.txt.gz")]


def test_documents_over_max_doc_bytes(tmp_path):
    huge = "x" * (3 * 2**20)  # longer than a read block: skipped without being held
    (tmp_path / "a.txt").write_text("\n\n".join([EN, huge, JA]))
    table, errors = read_all(cfg(tmp_path / "a.txt", split="paragraph", max_doc_bytes=100_000))
    assert table.column("text").to_pylist() == [EN, JA]
    assert [(e.error, e.position) for e in errors] == [("DocumentTooLarge", len(EN) + 2)]
    table, errors = read_all(cfg(tmp_path / "a.txt", max_doc_bytes=100_000))
    assert table is None and errors[0].error == "DocumentTooLarge"
    assert str(len(huge) + len(EN.encode()) + len(JA.encode()) + 4) in errors[0].message
    # the limit applies to the text in UTF-8 too: kana are 2 bytes in Shift_JIS, 3 in UTF-8
    (tmp_path / "kana.txt").write_bytes(("あ" * 400).encode("shift_jis"))
    table, errors = read_all(cfg(tmp_path / "kana.txt", encoding="shift_jis", max_doc_bytes=1000))
    assert table is None and errors[0].error == "DocumentTooLarge"


def test_encodings_are_checked_before_any_work(tmp_path):
    assert cfg(tmp_path, encoding="euc-jp").encoding == "euc_jp"
    with pytest.raises(ValidationError, match="unknown encoding 'klingon'"):
        cfg(tmp_path, encoding="klingon")
    with pytest.raises(ValidationError, match="utf-16 does not write as ASCII"):
        cfg(tmp_path, encoding="utf-16", split="paragraph")
    (tmp_path / "u16.txt").write_bytes("日本語\n\nEnglish".encode("utf-16"))
    table, _ = read_all(cfg(tmp_path / "u16.txt", encoding="utf-16"))
    assert table.column("text").to_pylist() == ["日本語\n\nEnglish"]


def test_a_run_over_text_files_accounts_for_every_paragraph(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("\n\n".join([JA * 3, "短い", EN * 3]), encoding="utf-8")
    (tmp_path / "in" / "b.txt").write_bytes(b"ok paragraph here\n\n\xff\xfe\n\n" + (EN * 2).encode())
    stats = run(tmp_path, """
        inputs: [{type: text, path: TMP/in/*.txt, split: paragraph, source: books}]
        steps: [{step: length, min_chars: 20}]
        output: {path: OUT}
        max_error_fraction: 0.5  # one bad record of a few, on purpose
    """)
    read, length = stats.steps
    assert (read.docs_in, read.docs_out, read.errored) == (6, 5, 1)
    assert (length.docs_out, length.removed) == (3, {"too_short": 2})
    out = read_output(tmp_path / "out")
    assert sorted(out.column("text").to_pylist()) == sorted([JA * 3, EN * 3, EN * 2])
    assert set(out.column("source").to_pylist()) == {"books"}
    [err] = error_records(tmp_path / "out")
    assert (err["error"], err["file"], err["position"]) == ("InvalidUtf8", "b.txt", 19)
