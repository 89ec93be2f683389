"""Tar archive reader: a document per regular file in the archive, read as a stream.

``.tar``, ``.tar.gz`` / ``.tgz``, ``.tar.zst``, ``.tar.bz2`` and ``.tar.xz`` (decompressed by
extension, as every input is), one work unit per archive. A member's text is decoded in the
configured ``encoding``; ``header_lines`` turns its first lines into columns (livedoor news:
url, date, title, then the article). Members are chosen by glob (``members`` / ``exclude``
on the member name); directories, links and devices are not documents: they are skipped and
counted in the ``read`` step as removed ``not_a_file:<kind>``. A damaged archive (cut, corrupt
compression, a bad header) is one error record where it broke, after the members before it.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from typing import Literal

import pyarrow as pa
from fsspec.utils import glob_translate
from pydantic import field_validator

from corpusforge.errors import ErrorRecord, snippet
from corpusforge.io.batching import BatchConfig
from corpusforge.io.decode import Encoding, bom_length, decode
from corpusforge.io.fields import too_large
from corpusforge.io.files import expand, open_unit
from corpusforge.io.gather import Gathered
from corpusforge.io.reader import Skipped, register_reader
from corpusforge.io.storage import StorageOptions
from corpusforge.io.units import WorkUnit
from corpusforge.models import Model, Size
from corpusforge.schema import ID, SOURCE, TEXT, URL

#: header line names that fill a column of the document schema rather than a new column
_SCHEMA_COLUMNS = (ID, URL)


class TarInput(Model):
    """Tar archives (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.zst``...): a document per file in them."""

    type: Literal["tar"]
    #: a path, URL, folder or glob (fsspec) of archives, or a list of them
    path: str | list[str]
    #: value of the ``source`` column (defaults to the input's position: ``input0``)
    source: str | None = None
    #: globs of the member names to read (``**/*.txt``; ``*`` stays within a folder); all when unset
    members: str | list[str] | None = None
    #: globs of member names not to read (``**/LICENSE.txt``)
    exclude: str | list[str] = []
    #: the members' encoding: ``utf-8``, ``shift_jis``, ``cp932``, ``euc_jp``, any codec Python knows
    encoding: Encoding = "utf-8"
    #: names for a member's first lines, in order (``[url, date, title]``); the text is the rest.
    #: ``id`` and ``url`` fill those columns, other names become string columns, ``null`` drops the line
    header_lines: list[str | None] = []
    #: a member larger than this (in the archive, or once in UTF-8) becomes an error record
    max_doc_bytes: Size = 64 * 2**20
    #: fsspec options of the files' bucket: ``key``, ``secret``, ``anon``,
    #: ``client_kwargs: {endpoint_url: ...}`` (without: the AWS_* environment variables)
    storage_options: StorageOptions = {}

    @field_validator("members", "exclude")
    @classmethod
    def _globs(cls, value: str | list[str] | None) -> str | list[str] | None:
        for pattern in [value] if isinstance(value, str) else value or []:
            if not pattern:
                raise ValueError("an empty glob matches no member")
            re.compile(glob_translate(pattern))
        return value

    @field_validator("header_lines")
    @classmethod
    def _header_names(cls, names: list[str | None]) -> list[str | None]:
        seen: set[str] = set()
        for name in names:
            if name is None:
                continue
            if not name or name in (TEXT, SOURCE) or name.startswith("__"):
                raise ValueError(f"{name!r} cannot name a header line (the text is what follows them; "
                                 f"`source` is the input's, names starting with __ are internal)")
            if name in seen:
                raise ValueError(f"header line name {name!r} is given twice")
            seen.add(name)
        return names

    def header_columns(self) -> list[str]:
        """The columns ``header_lines`` adds to the document schema."""
        return [n for n in self.header_lines if n is not None and n not in _SCHEMA_COLUMNS]


def plan(cfg: TarInput, input_index: int) -> list[WorkUnit]:
    """One unit per archive."""
    return [WorkUnit(0, input_index, path, name) for path, name in expand(cfg.path)]


class _Header(tarfile.TarInfo):
    """A member header that remembers why the archive's next header could not be read:
    ``tarfile`` ends quietly at a cut or corrupt header after the first one, and the reader
    must tell that from the end-of-archive marker."""

    @classmethod
    def fromtarfile(cls, archive: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(archive)
        except tarfile.HeaderError as e:
            archive.header_error = e  # type: ignore[attr-defined]
            raise


#: the error record of an archive that ended at a header, by the header error tarfile met there
_ENDINGS: dict[type, tuple[str, str]] = {
    # (an EOFHeaderError is the end-of-archive marker: a whole archive)
    tarfile.EmptyHeaderError: ("TruncatedArchive", "the archive ends without its end-of-archive marker "
                                                   "(it was cut after a member)"),
    tarfile.TruncatedHeaderError: ("TruncatedArchive", "the archive ends inside a member header (it was cut)"),
    tarfile.InvalidHeaderError: ("CorruptArchive", "corrupt member header (bad checksum); the members "
                                                   "after it are lost"),
}


def read(unit: WorkUnit, cfg: TarInput, source: str, batch: BatchConfig
         ) -> Iterator[pa.Table | ErrorRecord | Skipped]:
    """The archive's members in archive order: id ``source:archive:member`` (or the ``id``
    header line), position = byte offset of the member's header in the (decompressed) archive."""
    docs = Gathered(batch, source, unit.name, tuple(cfg.header_columns()))
    skipped: dict[str, int] = {}
    f = open_unit(unit)
    if isinstance(f, ErrorRecord):
        yield f
        return
    with f:
        yield from _members(f, unit.name, cfg, source, docs, skipped)
    last = docs.flush()
    if last is not None:
        yield last
    for reason, n in sorted(skipped.items()):
        yield Skipped(reason, n)


def _members(f, name: str, cfg: TarInput, source: str, docs: Gathered, skipped: dict[str, int]
             ) -> Iterator[pa.Table | ErrorRecord]:
    include = _matcher(cfg.members)
    exclude = _matcher(cfg.exclude)
    archive: tarfile.TarFile | None = None
    info: tarfile.TarInfo | None = None  # the member being read, for an error's location
    try:
        with tarfile.open(fileobj=f, mode="r|", tarinfo=_Header, encoding="utf-8") as archive:
            while True:
                info = None
                archive.header_error = None  # type: ignore[attr-defined]
                info = archive.next()
                # a stream keeps every header it has read; a large archive need not
                del archive.members[:]
                if info is None:
                    break
                member = info.name.removeprefix("./")
                if not info.isreg():
                    reason = f"not_a_file:{_kind(info)}"
                    skipped[reason] = skipped.get(reason, 0) + 1
                    continue
                if (include is not None and not include(member)) or (exclude is not None and exclude(member)):
                    continue
                item = _document(archive, info, member, name, cfg, source, docs)
                if item is not None:
                    yield item
    except Exception as e:  # noqa: BLE001 - damage ends the archive: what came before stands
        at = info.offset if info is not None else archive.offset if archive is not None else 0
        yield ErrorRecord.from_exception("read", e, file=name, position=at,
                                         snippet="archive unreadable from here on")
        return
    ending = _ENDINGS.get(type(archive.header_error))  # type: ignore[attr-defined]
    if ending is not None:
        yield ErrorRecord("read", *ending, name, archive.offset)


def _document(archive: tarfile.TarFile, info: tarfile.TarInfo, member: str, name: str, cfg: TarInput,
              source: str, docs: Gathered) -> pa.Table | ErrorRecord | None:
    """A member as a document added to ``docs`` (the batch when it is full), or its error record."""
    if not _is_utf8(member):
        shown = member.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return ErrorRecord("read", "InvalidUtf8", f"member name is not valid UTF-8: {shown}", name, info.offset)
    doc_id = f"{source}:{name}:{member}"
    if info.size > cfg.max_doc_bytes:
        return too_large(name, info.offset, info.size, cfg.max_doc_bytes, None, id=doc_id)
    data = archive.extractfile(info).read()
    text = decode(data[bom_length(data, cfg.encoding):], cfg.encoding, name, info.offset, cfg.max_doc_bytes,
                  id=doc_id, what="member")
    if isinstance(text, ErrorRecord):
        return text
    url = None
    values: dict[str, str | None] = {}
    if cfg.header_lines:
        n = len(cfg.header_lines)
        lines = text.split("\n", n)
        if len(lines) < n:
            return ErrorRecord("read", "BadRecord", f"member has {len(lines)} line(s); header_lines names {n}",
                               name, info.offset, id=doc_id, snippet=snippet(text))
        for key, line in zip(cfg.header_lines, lines):
            if key is not None:
                values[key] = line.strip() or None
        text = lines[n] if len(lines) > n else ""
        doc_id = values.pop(ID, None) or doc_id
        url = values.pop(URL, None)
    return docs.add(doc_id, text, info.offset, url, values)


def _matcher(globs: str | list[str] | None):
    """A test of member names against ``globs`` (None when there are none)."""
    patterns = [globs] if isinstance(globs, str) else globs or []
    if not patterns:
        return None
    regex = re.compile("|".join(f"(?:{glob_translate(p)})" for p in patterns))
    return lambda member: regex.match(member) is not None


def _kind(info: tarfile.TarInfo) -> str:
    if info.isdir():
        return "directory"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    if info.isfifo():
        return "fifo"
    if info.isdev():
        return "device"
    return "other"


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of a name arrive as lone surrogates
        return False
    return True


register_reader("tar", TarInput, plan, read)
