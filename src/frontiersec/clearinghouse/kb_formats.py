"""Readers of the knowledge-base feeds as their publishers ship them (pure: no database, no network).

- FIRST's EPSS CSV (``epss_scores-YYYY-MM-DD.csv[.gz]``)::

      #model_version:v2025.03.14,score_date:2025-03-20T00:00:00+0000
      cve,epss,percentile
      CVE-1999-0001,0.01297,0.85528

- MITRE's CWE catalog: the XML (``cwec_vX.Y.xml``, also as MITRE's ``.xml.zip``; the ``cwe2``
  package ships v4.14) with weaknesses, categories and views; or a CWE view CSV (``1000.csv``,
  ``2000.csv`` as MITRE publishes them), which holds weaknesses only.

Errors are :class:`FeedFormatError` with the line (CSV) or element (XML) and the column at fault.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, cast

__all__ = [
    "CVE_ID",
    "CweCatalog",
    "CweRecord",
    "EpssHeader",
    "EpssRow",
    "FeedFormatError",
    "open_maybe_gzip",
    "parse_cwe_csv",
    "parse_cwe_id",
    "parse_cwe_xml",
    "read_epss",
]

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
_EPSS_META = re.compile(r"#model_version:(?P<model>[^,\s]+),score_date:(?P<date>\S+)")
_EPSS_COLUMNS = ("cve", "epss", "percentile")
_CWE_ID = re.compile(r"(?:CWE-)?(\d{1,6})", re.IGNORECASE)


class FeedFormatError(ValueError):
    """A feed file that does not have its publisher's format; ``where`` names line/element and column."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def open_maybe_gzip(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` itself, or a gunzipping reader when it starts with the gzip magic bytes."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(_Raw(stream))
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))
    return buffered


class _Raw(io.RawIOBase):
    """Adapts any binary file object to ``RawIOBase`` so it can be wrapped in a ``BufferedReader``."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(b))
        n = len(data)
        b[:n] = data
        return n


# ---------------------------------------------------------------------------------------------- EPSS


@dataclass(frozen=True, slots=True)
class EpssHeader:
    """The model and the day of an EPSS file (from its first, comment, line)."""

    model_version: str
    score_date: dt.date


@dataclass(frozen=True, slots=True)
class EpssRow:
    """One scored CVE; ``line`` is its 1-based line number in the file."""

    line: int
    cve_id: str
    epss: float
    percentile: float


def _probability(value: str, line: int, column: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise FeedFormatError(f"line {line}, column {column}", f"{value!r} is not a number") from None
    if not math.isfinite(x) or not 0.0 <= x <= 1.0:
        raise FeedFormatError(f"line {line}, column {column}", f"{value!r} is not between 0 and 1")
    return x


def _epss_header(first: str) -> EpssHeader:
    m = _EPSS_META.fullmatch(first.strip())
    if m is None:
        raise FeedFormatError(
            "line 1",
            "expected FIRST's '#model_version:<version>,score_date:<timestamp>' comment, "
            f"got {first.strip()[:80]!r}",
        )
    raw_date = m.group("date")
    try:
        when = dt.datetime.strptime(raw_date, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            day = dt.date.fromisoformat(raw_date[:10])
        except ValueError:
            raise FeedFormatError("line 1, column score_date", f"{raw_date!r} is not a timestamp") from None
    else:
        day = when.astimezone(dt.UTC).date()
    return EpssHeader(m.group("model"), day)


def read_epss(stream: IO[bytes]) -> tuple[EpssHeader, Iterator[EpssRow]]:
    """The header of an EPSS CSV (plain or gzip) and an iterator over its validated rows.

    The header (comment and column line) is checked at once; rows are checked as they are read:
    a CVE id of the form ``CVE-YYYY-NNNN…``, ``0 <= epss <= 1``, ``0 <= percentile <= 1``, and no
    CVE twice. Raises :class:`FeedFormatError` naming the line and column.
    """
    try:
        text = io.TextIOWrapper(open_maybe_gzip(stream), encoding="utf-8", newline="")
        first = text.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FeedFormatError("line 1", f"unreadable: {exc}") from exc
    header = _epss_header(first)
    reader = csv.reader(text)
    try:
        columns = next(reader, None)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise FeedFormatError("line 2", f"unreadable: {exc}") from exc
    if columns is None or tuple(c.strip() for c in columns) != _EPSS_COLUMNS:
        raise FeedFormatError("line 2", f"expected the columns cve,epss,percentile, got {columns!r}")
    return header, _epss_rows(reader)


def _epss_rows(reader: Iterator[list[str]]) -> Iterator[EpssRow]:
    seen: dict[str, int] = {}
    line = 2
    while True:
        try:
            cols = next(reader)
        except StopIteration:
            return
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
            raise FeedFormatError(f"line {line + 1}", f"unreadable: {exc}") from exc
        line += 1
        if not cols:
            continue
        if len(cols) != 3:
            raise FeedFormatError(f"line {line}", f"expected 3 columns, got {len(cols)}")
        cve = cols[0].strip()
        if not CVE_ID.fullmatch(cve):
            raise FeedFormatError(f"line {line}, column cve", f"{cve!r} is not a CVE id")
        if cve in seen:
            raise FeedFormatError(f"line {line}, column cve", f"{cve} already on line {seen[cve]}")
        seen[cve] = line
        yield EpssRow(
            line,
            cve,
            _probability(cols[1].strip(), line, "epss"),
            _probability(cols[2].strip(), line, "percentile"),
        )


# ----------------------------------------------------------------------------------------------- CWE


def parse_cwe_id(value: str | int) -> int | None:
    """``79`` for ``"CWE-79"``, ``"cwe-79"``, ``"79"`` or ``79``; ``None`` for anything else."""
    if isinstance(value, int):
        return value if value >= 0 else None
    m = _CWE_ID.fullmatch(value.strip())
    return int(m.group(1)) if m else None


@dataclass(frozen=True, slots=True)
class CweRecord:
    """One weakness, category or view, with its parents as ``(parent, view, nature)``."""

    cwe_id: int
    kind: str
    name: str
    status: str
    abstraction: str | None = None
    parents: tuple[tuple[int, int, str], ...] = ()


@dataclass
class CweCatalog:
    """A CWE catalog: its version and its entries."""

    version: str
    records: list[CweRecord] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _int_attr(el: ET.Element, attr: str, where: str) -> int:
    raw = el.get(attr)
    if raw is None or not raw.isdigit():
        raise FeedFormatError(where, f"attribute {attr} is {raw!r}, expected a number")
    return int(raw)


def parse_cwe_xml(stream: IO[bytes]) -> CweCatalog:
    """Read MITRE's CWE XML (``Weakness_Catalog``): weaknesses, categories and views with their links.

    Weaknesses' ``Related_Weakness Nature="ChildOf"`` become ``ChildOf`` links (per view);
    categories' ``Has_Member`` become ``MemberOf`` links of the member to the category.
    """
    catalog = CweCatalog(version="")
    kinds = {"Weakness": "weakness", "Category": "category", "View": "view"}
    try:
        for event, el in ET.iterparse(stream, events=("start", "end")):
            tag = _local(el.tag)
            if event == "start":
                if tag == "Weakness_Catalog":
                    catalog.version = el.get("Version") or ""
                continue
            if tag not in kinds:
                continue
            where = f"{tag}[@ID={el.get('ID')!r}]"
            cwe_id = _int_attr(el, "ID", where)
            # MITRE's XML has a few names with a trailing space (CWE-280, -600, -1290).
            name = (el.get("Name") or "").strip()
            if not name:
                raise FeedFormatError(where, "has no Name")
            parents: list[tuple[int, int, str]] = []
            if tag == "Weakness":
                for rel in el.iter():
                    if _local(rel.tag) == "Related_Weakness" and rel.get("Nature") == "ChildOf":
                        parents.append(
                            (_int_attr(rel, "CWE_ID", where), _int_attr(rel, "View_ID", where), "ChildOf")
                        )
            catalog.records.append(
                CweRecord(
                    cwe_id,
                    kinds[tag],
                    name,
                    el.get("Status") or "",
                    el.get("Abstraction") if tag == "Weakness" else None,
                    tuple(dict.fromkeys(parents)),
                )
            )
            if tag == "Category":
                for member in el.iter():
                    if _local(member.tag) == "Has_Member":
                        catalog.records.append(
                            CweRecord(
                                _int_attr(member, "CWE_ID", where),
                                "member",
                                "",
                                "",
                                parents=((cwe_id, _int_attr(member, "View_ID", where), "MemberOf"),),
                            )
                        )
            el.clear()
    except ET.ParseError as exc:
        raise FeedFormatError(f"line {exc.position[0]}", f"not well-formed XML: {exc}") from exc
    if not catalog.version:
        raise FeedFormatError("Weakness_Catalog", "not a CWE catalog (no Weakness_Catalog Version)")
    return _merge_members(catalog)


def _merge_members(catalog: CweCatalog) -> CweCatalog:
    """Fold the ``member`` pseudo-records (category links) into their members' parents."""
    extra: dict[int, list[tuple[int, int, str]]] = {}
    entries: list[CweRecord] = []
    for r in catalog.records:
        if r.kind == "member":
            extra.setdefault(r.cwe_id, []).extend(r.parents)
        else:
            entries.append(r)
    merged = [
        CweRecord(
            r.cwe_id,
            r.kind,
            r.name,
            r.status,
            r.abstraction,
            tuple(dict.fromkeys(r.parents + tuple(extra.get(r.cwe_id, ())))),
        )
        for r in entries
    ]
    return CweCatalog(catalog.version, merged)


def _related(value: str, line: int) -> list[tuple[int, int, str]]:
    """``::NATURE:ChildOf:CWE ID:74:VIEW ID:1000:ORDINAL:Primary::…`` → ChildOf links."""
    out: list[tuple[int, int, str]] = []
    for chunk in value.split("::"):
        if not chunk.strip():
            continue
        parts = chunk.split(":")
        fields = dict(zip(parts[0::2], parts[1::2], strict=False))
        if fields.get("NATURE") != "ChildOf":
            continue
        parent, view = fields.get("CWE ID", ""), fields.get("VIEW ID", "")
        if not parent.isdigit() or not view.isdigit():
            raise FeedFormatError(
                f"line {line}, column Related Weaknesses", f"cannot read relation {chunk!r}"
            )
        out.append((int(parent), int(view), "ChildOf"))
    return list(dict.fromkeys(out))


def parse_cwe_csv(stream: IO[bytes], *, version: str = "") -> CweCatalog:
    """Read a CWE view CSV as MITRE publishes it (plain or gzip): weaknesses and their ChildOf links."""
    try:
        text = io.TextIOWrapper(open_maybe_gzip(stream), encoding="utf-8", newline="")
        reader = csv.DictReader(text)
        need = {"CWE-ID", "Name", "Status"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise FeedFormatError("line 1", f"expected the columns {sorted(need)}, got {reader.fieldnames!r}")
        catalog = CweCatalog(version)
        for row in reader:
            line = reader.line_num
            raw_id = (row.get("CWE-ID") or "").strip()
            if not raw_id.isdigit():
                raise FeedFormatError(f"line {line}, column CWE-ID", f"{raw_id!r} is not a number")
            name = (row.get("Name") or "").strip()
            if not name:
                raise FeedFormatError(f"line {line}, column Name", "is empty")
            catalog.records.append(
                CweRecord(
                    int(raw_id),
                    "weakness",
                    name,
                    (row.get("Status") or "").strip(),
                    (row.get("Weakness Abstraction") or "").strip() or None,
                    tuple(_related(row.get("Related Weaknesses") or "", line)),
                )
            )
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise FeedFormatError("file", f"unreadable: {exc}") from exc
    return catalog
