"""Truncation is always an error record naming the file and the position where the data
ends; what came before it is kept."""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib

import pytest
import zstandard

from conftest import EN, JA, error_records, read_output, run, shared_data


def lines(n: int, start: int = 0) -> bytes:
    return b"".join(json.dumps({"text": f"{JA if i % 2 else EN} {i}"}, ensure_ascii=False).encode() + b"\n"
                    for i in range(start, start + n))


def test_zstd_cut_on_a_line_boundary_is_an_error_record(tmp_path):
    # the first 300 lines end a zstd block: a cut right after it leaves whole lines only,
    # which zstandard's stream reader returns as a complete file
    buf = io.BytesIO()
    w = zstandard.ZstdCompressor().stream_writer(buf, closefd=False)
    w.write(lines(300))
    w.flush(zstandard.FLUSH_BLOCK)
    cut = buf.tell()
    w.write(lines(300, 300))
    w.close()
    (tmp_path / "cut.jsonl.zst").write_bytes(buf.getvalue()[:cut])
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(buf.getvalue()[:cut])).read() == lines(300)
    stats = run(tmp_path, """
        inputs: [{type: jsonl, path: TMP/cut.jsonl.zst}]
        output: {path: OUT}
        """)
    assert read_output(tmp_path / "out").num_rows == 300
    [err] = error_records(tmp_path / "out")
    assert (err["error"], err["file"], err["position"]) == ("TruncatedZstd", "cut.jsonl.zst", len(lines(300)))
    assert stats.steps[0].errored == 1


# -- WARC: damage in the middle of a file costs the damaged record only ---------------------

#: 29 Japanese pages (EUC-JP) from ClueWeb09, one gzip member per record, a warcinfo first
CLUEWEB = "resiliparse__clueweb-quirk.warc.gz"


def members(data: bytes) -> list[bytes]:
    """The gzip members of ``data``, each as its compressed bytes."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        end = len(data) - len(d.unused_data)
        out.append(data[pos:end])
        pos = end
    return out


def clueweb_members() -> list[bytes]:
    return members(shared_data("warc", CLUEWEB).read_bytes())


def read_warc(tmp_path, name: str, data: bytes, **cfg):
    (tmp_path / name).write_bytes(data)
    extra = "".join(f", {k}: {v}" for k, v in cfg.items())
    stats = run(tmp_path, f"""
        inputs: [{{type: warc, path: TMP/{name}{extra}}}]
        output: {{path: OUT}}
        """)
    return stats, read_output(tmp_path / "out"), error_records(tmp_path / "out")


def with_length(member: bytes, delta: int) -> bytes:
    """The record of a gzip member with its Content-Length changed by ``delta`` (a lie)."""
    raw = gzip.decompress(member)
    m = re.search(rb"Content-Length: (\d+)", raw)
    raw = raw[: m.start(1)] + str(int(m.group(1)) + delta).encode() + raw[m.end(1) :]
    return gzip.compress(raw, mtime=0)


def offsets(parts: list[bytes]) -> list[int]:
    return [sum(len(p) for p in parts[:i]) for i in range(len(parts))]


@pytest.mark.parametrize("where", ["header", "block"])
def test_warc_gz_cut_inside_a_record_is_a_truncated_record(tmp_path, where):
    m = clueweb_members()
    cut = m[:10] + [m[10][: 120 if where == "header" else len(m[10]) // 2]]
    stats, out, errors = read_warc(tmp_path, "cut.warc.gz", b"".join(cut))
    assert out.num_rows == 9  # the responses before the cut (m[0] is the warcinfo)
    assert [(e["error"], e["file"], e["position"]) for e in errors] == [
        ("TruncatedRecord", "cut.warc.gz", offsets(cut)[10])]
    assert stats.steps[0].docs_in == 10


def test_warc_gz_cut_in_its_last_member_trailer_is_a_truncated_record(tmp_path):
    m = clueweb_members()
    cut = m[:-1] + [m[-1][:-8]]  # the record's bytes are all there, its gzip trailer is not
    stats, out, errors = read_warc(tmp_path, "cut.warc.gz", b"".join(cut))
    assert out.num_rows == 28
    assert [(e["error"], e["position"]) for e in errors] == [("TruncatedRecord", offsets(cut)[-1])]


@pytest.mark.parametrize("damage", ["cut", "longer", "shorter", "corrupt"])
def test_warc_gz_damage_in_the_middle_loses_only_that_record(tmp_path, damage):
    m = clueweb_members()
    bad = {"cut": m[5][: len(m[5]) * 2 // 3], "longer": with_length(m[5], 700),
           "shorter": with_length(m[5], -700),
           "corrupt": m[5][:300] + bytes(b ^ 0x5A for b in m[5][300:340]) + m[5][340:]}[damage]
    parts = m[:5] + [bad] + m[6:]
    stats, out, errors = read_warc(tmp_path, "damaged.warc.gz", b"".join(parts))
    intact = [gzip.decompress(p) for p in m[1:5] + m[6:]]
    ids = [re.search(rb"WARC-Record-ID: <([^>]+)>", r).group(1).decode() for r in intact]
    assert out.column("id").to_pylist() == ids  # every record after the damage is read
    expect = {"cut": "CorruptGzip", "longer": "TruncatedRecord", "shorter": "BadContentLength",
              "corrupt": "CorruptGzip"}[damage]
    assert [(e["error"], e["file"], e["position"]) for e in errors] == [
        (expect, "damaged.warc.gz", offsets(parts)[5])]
    assert stats.steps[0].docs_in == 29


@pytest.mark.parametrize("damage", ["cut", "longer", "shorter", "far too long"])
def test_plain_warc_damage_in_the_middle_loses_only_that_record(tmp_path, damage):
    records = [gzip.decompress(p) for p in clueweb_members()]
    bad = {"cut": records[7][:-500], "longer": gzip.decompress(with_length(gzip.compress(records[7]), 900)),
           "shorter": gzip.decompress(with_length(gzip.compress(records[7]), -900)),
           "far too long": gzip.decompress(with_length(gzip.compress(records[7]), 10**9))}[damage]
    parts = records[:7] + [bad] + records[8:]
    stats, out, errors = read_warc(tmp_path, "damaged.warc", b"".join(parts), max_doc_bytes="1MB")
    assert out.num_rows == 28
    assert [(e["file"], e["position"]) for e in errors] == [("damaged.warc", offsets(parts)[7])]
    assert errors[0]["error"] == ("BadContentLength" if damage == "shorter" else "TruncatedRecord")
    assert errors[0]["id"] and stats.steps[0].docs_in == 29
    assert set(out.column("charset").to_pylist()) == {"euc-jp"}  # the Japanese pages, intact
