"""Lazy loading of OSV records from the shapes OSV data is published in.

Accepted sources (the shape is chosen from the path):

- ``*.jsonl`` / ``*.jsonl.gz``: one OSV object per line (blank lines are skipped);
- ``*.zip``: an OSV export such as ``all.zip``, one JSON object per ``*.json`` entry;
- a directory: every ``*.json`` / ``*.json.gz`` file below it, in sorted order;
- ``*.json`` / ``*.json.gz``: a single OSV object, or a JSON array of them (streamed with ``ijson``).

Records are yielded as plain ``dict`` objects, one at a time, so a large export never has to fit in
memory. Nothing here validates against the OSV schema: real feeds are not always schema-valid (RustSec
has ``schema_version: null``), and validation is the caller's decision.

Errors::

    ValueError
     └── OsvLoadError            names the file and the line / entry / array index
          └── ArchiveTooLarge    a zip export beyond the configured caps (zip-bomb guard)
"""

from __future__ import annotations

import gzip
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import ijson

__all__ = [
    "ArchiveTooLarge",
    "OsvLoadError",
    "ZipLimits",
    "iter_osv_records",
]


class OsvLoadError(ValueError):
    """A source could not be read as OSV records; ``source`` and ``location`` say where."""

    def __init__(self, source: str, location: str, message: str) -> None:
        self.source = source
        self.location = location
        self.message = message
        where = f"{source} ({location})" if location else source
        super().__init__(f"{where}: {message}")


class ArchiveTooLarge(OsvLoadError):
    """A zip archive exceeds the entry-count, size or compression-ratio caps and was refused."""


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Caps applied to zip exports before and while they are decompressed.

    The defaults admit the real OSV ``all.zip`` exports (hundreds of thousands of small entries)
    and refuse archives built to exhaust memory or disk.
    """

    max_entries: int = 2_000_000
    """Most entries (files) the archive may list."""
    max_total_bytes: int = 8 * 1024**3
    """Most uncompressed bytes over all ``.json`` entries, declared and actually read."""
    max_entry_bytes: int = 64 * 1024**2
    """Most uncompressed bytes of one entry."""
    max_ratio: float = 200.0
    """Highest uncompressed/compressed ratio accepted for an entry larger than ``ratio_floor_bytes``."""
    ratio_floor_bytes: int = 1024**2
    """Entries smaller than this are not ratio-checked (tiny JSON compresses very well)."""


def iter_osv_records(source: str | Path, *, zip_limits: ZipLimits | None = None) -> Iterator[dict[str, Any]]:
    """Yield the OSV records found at ``source``, lazily, as plain dicts.

    ``source`` is a ``.jsonl``/``.jsonl.gz`` file, an OSV ``.zip`` export, a directory of
    ``*.json`` files, or a ``.json``/``.json.gz`` file holding one object or an array of objects.
    Raises ``OsvLoadError`` (naming the file and the line, entry or array index) on unreadable
    input and ``ArchiveTooLarge`` for a zip beyond ``zip_limits``.
    """
    path = Path(source)
    if path.is_dir():
        yield from _iter_directory(path)
        return
    if not path.is_file():
        raise OsvLoadError(str(path), "", "no such file or directory")
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        yield from _iter_jsonl(path)
    elif name.endswith(".zip"):
        yield from _iter_zip(path, zip_limits or ZipLimits())
    elif name.endswith((".json", ".json.gz")):
        with _open_binary(path) as fh:
            yield from _iter_json_stream(fh, str(path), "")
    else:
        raise OsvLoadError(
            str(path), "", "unknown file type (expected .jsonl[.gz], .json[.gz], .zip or a directory)"
        )


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with _open_binary(path) as fh:
        lineno = 0
        try:
            for lineno, raw in enumerate(fh, start=1):
                line = raw.strip()
                if not line:
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise OsvLoadError(str(path), f"line {lineno}", f"invalid JSON: {exc}") from exc
                yield _require_object(obj, str(path), f"line {lineno}")
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise OsvLoadError(str(path), f"line {lineno + 1}", f"unreadable: {exc}") from exc


def _require_object(obj: object, source: str, location: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise OsvLoadError(source, location, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _iter_json_stream(fh: IO[bytes], source: str, location: str) -> Iterator[dict[str, Any]]:
    """One JSON document: a single object, or an array streamed item by item."""
    try:
        first = _peek_first_significant(fh)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise OsvLoadError(source, location, f"unreadable: {exc}") from exc
    if first == b"[":
        index = -1
        try:
            for index, item in enumerate(ijson.items(fh, "item", use_float=True)):
                where = f"{location}, " if location else ""
                yield _require_object(item, source, f"{where}array index {index}")
        except (ijson.JSONError, ijson.IncompleteJSONError, OSError, EOFError) as exc:
            where = f"{location}, " if location else ""
            raise OsvLoadError(source, f"{where}array index {index + 1}", f"invalid JSON: {exc}") from exc
        return
    try:
        data = fh.read()
        obj = json.loads(data)
    except (ValueError, OSError, EOFError) as exc:
        raise OsvLoadError(source, location, f"invalid JSON: {exc}") from exc
    yield _require_object(obj, source, location)


def _peek_first_significant(fh: IO[bytes]) -> bytes:
    """The first non-whitespace byte, leaving the stream positioned at the start."""
    if fh.seekable():
        pos = fh.tell()
        head = fh.read(4096)
        fh.seek(pos)
    else:  # pragma: no cover - every stream we open is seekable
        head = b""
    stripped = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    return stripped[:1]


def _iter_directory(path: Path) -> Iterator[dict[str, Any]]:
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith((".json", ".json.gz"))
    )
    for file in files:
        with _open_binary(file) as fh:
            yield from _iter_json_stream(fh, str(file), "")


def _iter_zip(path: Path, limits: ZipLimits) -> Iterator[dict[str, Any]]:
    source = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise OsvLoadError(source, "", f"not a readable zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise ArchiveTooLarge(
                source, "", f"archive lists {len(infos)} entries, more than the cap of {limits.max_entries}"
            )
        members = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(".json")]
        declared = sum(i.file_size for i in members)
        if declared > limits.max_total_bytes:
            raise ArchiveTooLarge(
                source,
                "",
                f"entries declare {declared} uncompressed bytes, more than the cap of {limits.max_total_bytes}",
            )
        for info in members:
            _check_declared_entry(source, info, limits)
        total_read = 0
        for info in members:
            location = f"entry {info.filename!r}"
            # Declared sizes can lie: read at most one byte past the cap and measure what came out.
            budget = min(limits.max_entry_bytes, limits.max_total_bytes - total_read)
            try:
                with zf.open(info) as member:
                    data = member.read(budget + 1)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
                raise OsvLoadError(source, location, f"unreadable entry: {exc}") from exc
            if len(data) > budget:
                raise ArchiveTooLarge(
                    source, location, "entry decompresses past the per-entry or total size cap (refused)"
                )
            total_read += len(data)
            try:
                obj = json.loads(data)
            except ValueError as exc:
                raise OsvLoadError(source, location, f"invalid JSON: {exc}") from exc
            if isinstance(obj, list):
                for index, item in enumerate(obj):
                    yield _require_object(item, source, f"{location}, array index {index}")
            else:
                yield _require_object(obj, source, location)


def _check_declared_entry(source: str, info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    location = f"entry {info.filename!r}"
    if info.file_size > limits.max_entry_bytes:
        raise ArchiveTooLarge(
            source,
            location,
            f"entry declares {info.file_size} uncompressed bytes, more than the cap of {limits.max_entry_bytes}",
        )
    if info.file_size > limits.ratio_floor_bytes:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise ArchiveTooLarge(
                source,
                location,
                f"entry compression ratio {ratio:.0f}:1 exceeds the cap of {limits.max_ratio:.0f}:1",
            )
