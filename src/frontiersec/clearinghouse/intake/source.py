"""Byte sources for intake: plain files, gzip, zip archives and directories, with bomb limits.

A :class:`Source` can be opened more than once (SARIF needs two passes when results come before
the tool), streams decompressed bytes under :class:`IntakeLimits`, and turns JSON syntax errors
into :class:`IntakeError` values that name the byte offset.
"""

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

import ijson

from .base import IntakeError, IntakeLimits, child

__all__ = ["HEAD_BYTES", "CountingReader", "Document", "Source", "json_error"]

HEAD_BYTES = 65536
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"
_BOM = b"\xef\xbb\xbf"
_CHUNK = 65536

Container = Literal["plain", "gzip", "zip", "dir"]


class CountingReader(io.RawIOBase):
    """A read-only stream that counts bytes handed out and refuses more than ``limit``."""

    def __init__(self, raw: IO[bytes] | gzip.GzipFile | BinaryIO, limit: int, what: str) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._what = what
        self.count = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes, counting them against the limit."""
        try:
            data = self._raw.read(size if size is not None and size >= 0 else _CHUNK)
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
            raise IntakeError(f"byte {self.count}", f"corrupt compressed data: {exc}") from None
        self.count += len(data)
        if self.count > self._limit:
            raise IntakeError(
                f"byte {self.count}",
                f"{self._what} exceeds the limit of {self._limit} uncompressed bytes",
            )
        return data

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer`` (for ``io`` wrappers)."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close the wrapped stream too."""
        self._raw.close()
        super().close()


def json_error(exc: BaseException, reader: CountingReader | None, pointer: str) -> IntakeError:
    """Turn a JSON syntax error into an :class:`IntakeError` naming the byte offset (and path)."""
    offset = reader.count if reader is not None else None
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = f"{pointer} (byte {offset})" if offset is not None else pointer
    if "premature EOF" in detail or "Incomplete" in type(exc).__name__:
        return IntakeError(where, f"truncated or invalid JSON at byte {offset}: {detail}")
    return IntakeError(where, f"invalid JSON at byte {offset}: {detail}")


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed JSON document of a source and the JSON path of its root."""

    pointer: str
    value: Any


@dataclass(frozen=True, slots=True)
class Source:
    """A file (plain, gzip, zip) or a directory of ``*.json``, opened under limits."""

    path: Path
    container: Container
    limits: IntakeLimits
    name: str
    progress: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Where reading stands (the last reader opened, documents done / total), for :meth:`fraction`."""

    @classmethod
    def from_path(cls, path: Path, head: bytes, limits: IntakeLimits) -> "Source":
        """Classify ``path`` by its magic bytes (or as a directory)."""
        if path.is_dir():
            return cls(path, "dir", limits, path.name)
        if head.startswith(GZIP_MAGIC):
            return cls(path, "gzip", limits, path.name)
        if head.startswith((ZIP_MAGIC, ZIP_EMPTY_MAGIC)):
            return cls(path, "zip", limits, path.name)
        return cls(path, "plain", limits, path.name)

    @property
    def is_jsonl(self) -> bool:
        """True when the name says JSON Lines (``.jsonl``, ``.jsonl.gz``, ``.ndjson``)."""
        lower = self.name.lower()
        return lower.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"))

    def open(self) -> CountingReader:
        """A fresh decompressed byte stream of a single-stream source (plain or gzip)."""
        if self.container == "plain":
            reader = CountingReader(self.path.open("rb"), self.limits.max_uncompressed_bytes, "file")
            self.progress["reader"] = reader
            return reader
        if self.container == "gzip":
            raw = gzip.GzipFile(filename=str(self.path), mode="rb")
            self.progress["compressed"] = raw.fileobj
            return CountingReader(raw, self.limits.max_uncompressed_bytes, "gzip stream")
        raise IntakeError("$", f"a {self.container} source holds several documents; it cannot be streamed")

    def fraction(self) -> float:
        """How much of the source the last pass has read, 0.0 to 1.0 (bytes of the file read over its
        size; compressed bytes for gzip; documents done over documents for zip and directories)."""
        state = self.progress
        try:
            if "total" in state:
                return min(1.0, float(state["done"]) / max(1, int(state["total"])))
            size = self.path.stat().st_size
            if "compressed" in state:
                return min(1.0, float(state["compressed"].tell()) / max(1, size))
            if "reader" in state:
                return min(1.0, float(state["reader"].count) / max(1, size))
        except (OSError, ValueError):
            pass
        return 0.0

    def documents(self) -> Iterator[Document]:
        """Every JSON document: one object, an array's items, JSON Lines, zip members or dir files."""
        if self.container == "zip":
            yield from self._zip_documents()
        elif self.container == "dir":
            yield from self._dir_documents()
        else:
            yield from _stream_documents(self.open, self.is_jsonl, "$")

    def _zip_documents(self) -> Iterator[Document]:
        limits = self.limits
        try:
            archive = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise IntakeError("$", f"not a readable zip archive: {exc}") from None
        with archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            if len(infos) > limits.max_entries:
                raise IntakeError(
                    "$", f"zip has {len(infos)} entries, more than the limit of {limits.max_entries}"
                )
            claimed = sum(i.file_size for i in infos)
            if claimed > limits.max_uncompressed_bytes:
                raise IntakeError(
                    "$",
                    f"zip entries claim {claimed} uncompressed bytes, more than the limit of "
                    f"{limits.max_uncompressed_bytes}",
                )
            total = 0
            self.progress.update(done=0, total=len(infos))
            for info in sorted(infos, key=lambda i: i.filename):
                self.progress["done"] += 1
                if not info.filename.lower().endswith((".json", ".jsonl")):
                    continue
                pointer = f"{info.filename}:$"
                budget = min(limits.max_document_bytes, limits.max_uncompressed_bytes - total)
                data = _read_capped(partial(archive.open, info), budget, info.filename)
                total += len(data)
                yield from _stream_documents(
                    partial(_bytes_reader, data, info.filename),
                    info.filename.lower().endswith(".jsonl"),
                    pointer,
                )

    def _dir_documents(self) -> Iterator[Document]:
        files = sorted(p for p in self.path.rglob("*.json") if p.is_file())
        if len(files) > self.limits.max_entries:
            raise IntakeError(
                "$", f"directory has {len(files)} JSON files, more than {self.limits.max_entries}"
            )
        self.progress.update(done=0, total=len(files))
        for file in files:
            self.progress["done"] += 1
            rel = file.relative_to(self.path).as_posix()

            def opener(file: Path = file) -> CountingReader:
                return CountingReader(file.open("rb"), self.limits.max_document_bytes, str(file.name))

            yield from _stream_documents(opener, False, f"{rel}:$")


def _bytes_reader(data: bytes, what: str) -> CountingReader:
    return CountingReader(io.BytesIO(data), len(data) + 1, what)


def _read_capped(opener: Any, budget: int, what: str) -> bytes:
    """Read a zip member, stopping as soon as the real decompressed size passes ``budget``."""
    out = bytearray()
    try:
        with opener() as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                out += chunk
                if len(out) > budget:
                    raise IntakeError(
                        f"{what}:$", f"zip entry decompresses past the limit of {budget} bytes (zip bomb?)"
                    )
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise IntakeError(f"{what}:$", f"unreadable zip entry: {exc}") from None
    return bytes(out)


def _stream_documents(opener: Any, jsonl: bool, root: str) -> Iterator[Document]:
    """Stream documents from one byte stream: a JSON object, a JSON array, or JSON Lines."""
    reader: CountingReader = opener()
    with reader:
        stream = io.BufferedReader(reader, buffer_size=_CHUNK)
        first = stream.peek(8)[:3]
        if first == _BOM:
            stream.read(3)
        first_char = _first_significant(stream)
        if first_char is None:
            raise IntakeError(root, "empty document (no JSON value)")
        try:
            if first_char == b"[" and not jsonl:
                for index, item in enumerate(ijson.items(stream, "item", use_float=True)):
                    yield Document(child(root, index), item)
            else:
                values = ijson.items(stream, "", multiple_values=True, use_float=True)
                for index, item in enumerate(values):
                    pointer = child(root, index) if jsonl or index > 0 else root
                    yield Document(pointer, item)
        except ijson.JSONError as exc:
            raise json_error(exc, reader, root) from None
        except UnicodeDecodeError as exc:
            raise IntakeError(f"{root} (byte {reader.count})", f"not UTF-8 text: {exc.reason}") from None


def _first_significant(stream: "io.BufferedReader[Any]") -> bytes | None:
    """Peek the first non-whitespace byte without consuming it."""
    while True:
        buf = stream.peek(1)
        if not buf:
            return None
        stripped = buf.lstrip(b" \t\r\n")
        if stripped:
            return stripped[:1]
        stream.read(len(buf))
