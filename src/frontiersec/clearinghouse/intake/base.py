"""Normalized shapes shared by every intake parser, and the parse context.

Every parser turns one file format into :class:`NormalizedFinding` values. A file is either
usable (findings, possibly with :class:`IntakeWarning` values recording each deviation from
the official schema) or unusable (:class:`IntakeError` with the JSON path and the reason).

Exception tree::

    Exception
     └── IntakeError          unusable file: .pointer (JSON path or byte offset) + .reason
"""

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from cvss import CVSS2, CVSS3, CVSS4, CVSSError
from packageurl import PackageURL

__all__ = [
    "AffectedPackage",
    "AffectedRange",
    "IntakeError",
    "IntakeLimits",
    "IntakeWarning",
    "NormalizedFinding",
    "ParseContext",
    "ParseOptions",
    "Parser",
    "Severity",
    "SourceFormat",
    "advisory_fingerprint",
    "child",
    "dedupe",
    "is_vuln_id",
    "location_fingerprint",
    "normalize_cwe",
    "normalize_path",
    "normalize_snippet",
    "parse_cvss",
    "parse_datetime",
    "validate_purl",
    "worst",
]

SourceFormat = Literal["sarif", "osv", "cyclonedx", "spdx", "csaf"]


class Severity(StrEnum):
    """Normalized severity of a finding."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"
    UNKNOWN = "unknown"

    @classmethod
    def from_score(cls, score: float | None) -> "Severity":
        """Map a 0-10 CVSS-like score (also SARIF ``security-severity``) to a band (CVSS v3 bands)."""
        if score is None:
            return cls.UNKNOWN
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        if score > 0.0:
            return cls.LOW
        return cls.INFO

    @classmethod
    def from_label(cls, label: object) -> "Severity":
        """Map a textual rating (``"HIGH"``, ``"moderate"``, ``"important"``, ``"none"``...) to a band."""
        if not isinstance(label, str):
            return cls.UNKNOWN
        return _SEVERITY_LABELS.get(label.strip().lower(), cls.UNKNOWN)


_SEVERITY_LABELS: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "error": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "low": Severity.LOW,
    "note": Severity.LOW,
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "none": Severity.INFO,
    "unknown": Severity.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class AffectedRange:
    """An OSV range: ``type`` (SEMVER, ECOSYSTEM, GIT) and its ordered ``(kind, value)`` events."""

    type: str
    events: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """One affected package, with OSV semantics (ranges and explicit versions)."""

    ecosystem: str | None
    name: str | None
    purl: str | None
    ranges: tuple[AffectedRange, ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NormalizedFinding:
    """A finding in the clearinghouse's own shape, whatever format it came from."""

    source_format: SourceFormat
    fingerprint: str
    source_pointer: str
    tool_name: str | None = None
    tool_version: str | None = None
    model_id: str | None = None
    model_version: str | None = None
    rule_id: str | None = None
    title: str | None = None
    message: str | None = None
    severity: Severity = Severity.UNKNOWN
    cwe_ids: tuple[str, ...] = ()
    target_purl: str | None = None
    target_repo: str | None = None
    target_commit: str | None = None
    path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    snippet: str | None = None
    aliases: tuple[str, ...] = ()
    affected: tuple[AffectedPackage, ...] = ()
    cvss_vectors: tuple[str, ...] = ()
    published: datetime | None = None
    status: str | None = None
    """VEX-style status where the format carries one (``affected``, ``not_affected``, ``fixed``,
    ``under_investigation``, CycloneDX ``analysis.state`` values, ``suppressed`` for SARIF)."""


@dataclass(frozen=True, slots=True)
class IntakeWarning:
    """A deviation the parser tolerated: where (JSON path) and what."""

    pointer: str
    message: str


class IntakeError(Exception):
    """The file cannot be used. ``pointer`` says where (JSON path or ``byte N``), ``reason`` why."""

    def __init__(self, pointer: str, reason: str) -> None:
        super().__init__(f"{pointer}: {reason}")
        self.pointer = pointer
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Caller-supplied facts about the submission; used where the file itself is silent."""

    model_id: str | None = None
    model_version: str | None = None
    tool_name: str | None = None


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """Resource limits for archives and compressed input (zip bombs, gzip bombs)."""

    max_uncompressed_bytes: int = 2 * 1024**3
    max_entries: int = 100_000
    max_document_bytes: int = 256 * 1024**2
    """Largest single non-streamed JSON document (OSV record, CycloneDX, CSAF, SPDX) read in memory."""
    max_warnings: int = 1000
    schema_results_full: int = 200
    """SARIF: results validated against the schema one by one before sampling starts."""
    schema_results_per_run: int = 2
    """SARIF: the first results of every run are always validated (each tool's shape is checked)."""
    schema_sample_every: int = 1000
    """SARIF: past ``schema_results_full``, one result in this many is validated."""


@dataclass(slots=True)
class ParseContext:
    """Mutable per-parse state: options, validators, collected warnings and element counters."""

    options: ParseOptions = field(default_factory=ParseOptions)
    limits: IntakeLimits = field(default_factory=IntakeLimits)
    schemas: Any = None
    """A :class:`frontiersec.clearinghouse.intake.schemas.SchemaSet`, or ``None`` to skip validation."""
    warnings: list[IntakeWarning] = field(default_factory=list)
    received: int = 0
    rejected: int = 0
    warnings_dropped: int = 0

    def warn(self, pointer: str, message: str) -> None:
        """Record a tolerated deviation (bounded by ``limits.max_warnings``)."""
        if len(self.warnings) < self.limits.max_warnings:
            self.warnings.append(IntakeWarning(pointer, message))
        else:
            self.warnings_dropped += 1

    def reject(self, pointer: str, message: str) -> None:
        """Count an element that could not be used, and say why."""
        self.rejected += 1
        self.warn(pointer, f"element rejected: {message}")


class Parser(Protocol):
    """A format parser: yields findings from a byte-stream opener, recording into ``ctx``."""

    def __call__(self, source: Any, ctx: ParseContext) -> Iterator[NormalizedFinding]: ...


# --- helpers shared by the parsers -------------------------------------------------------------

_CWE_RE = re.compile(r"\bcwe[-_/: ]?0*(\d{1,5})\b", re.IGNORECASE)


def child(pointer: str, key: str | int) -> str:
    """Extend a JSON path: ``child("$.runs", 0) == "$.runs[0]"``, ``child("$", "a-b") == "$['a-b']"``."""
    if isinstance(key, int):
        return f"{pointer}[{key}]"
    if key.isidentifier():
        return f"{pointer}.{key}"
    return f"{pointer}[{key!r}]"


def normalize_cwe(values: Iterable[object]) -> tuple[str, ...]:
    """Extract ``CWE-<n>`` ids from tags/strings/ints (``external/cwe/cwe-079`` -> ``CWE-79``), in order."""
    out: list[str] = []
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            found = [str(value)]
        elif isinstance(value, str):
            found = _CWE_RE.findall(value)
            if not found and value.strip().isdigit():
                found = [value.strip().lstrip("0") or "0"]
        else:
            continue
        for num in found:
            cwe = f"CWE-{int(num)}"
            if cwe not in out:
                out.append(cwe)
    return tuple(out)


def normalize_path(uri: str, bases: Iterable[str] = ()) -> str:
    """Normalize a location: forward slashes, no ``file://``, no leading ``./``, relative to a base.

    ``bases`` are the (already normalized) absolute URIs of the run's ``originalUriBaseIds``; a
    path under one of them is made relative to it.
    """
    path = uri.replace("\\", "/")
    if path.lower().startswith("file://"):
        path = path[7:]
        if path.startswith("localhost/"):
            path = path[9:]
    for base in sorted(bases, key=len, reverse=True):
        if base and path.startswith(base):
            path = path[len(base) :].lstrip("/")
            break
    while path.startswith("./"):
        path = path[2:]
    return path


def normalize_snippet(snippet: str | None) -> str:
    """Collapse whitespace runs to one space and strip, so reformatting keeps the fingerprint.

    (``str.split()`` splits on exactly the characters that ``\\s`` matches in a ``str`` pattern.)
    """
    return " ".join(snippet.split()) if snippet else ""


def _sha256(*parts: str) -> str:
    """SHA-256 of every part followed by a NUL byte (UTF-8, lone surrogates passed through), hex."""
    text = "\x00".join(parts) + "\x00"
    data = text.encode() if text.isascii() else text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def location_fingerprint(
    rule_id: str | None,
    path: str | None,
    start_line: int | None,
    snippet: str | None,
    partial_fingerprints: Mapping[str, object] | None = None,
) -> str:
    """Layer-1 dedup key of a code finding (SHA-256, hex).

    When the tool gave ``partialFingerprints`` they win:
    ``sha256("sarif-pfp", rule, normalized path, k1=v1, k2=v2...)`` with the keys sorted by their
    Unicode code points (the SARIF-documented stable keys such as ``primaryLocationLineHash`` then
    come out in one fixed order whatever the file's order). The path stays in because CodeQL's
    line hashes depend on the line's text only: the same line in two files must not collide.
    Otherwise ``sha256("loc", rule, normalized path, start line, whitespace-collapsed snippet)``.
    """
    if partial_fingerprints:
        items = [f"{k}={partial_fingerprints[k]}" for k in sorted(partial_fingerprints)]
        return _sha256("sarif-pfp", rule_id or "", path or "", *items)
    line = "" if start_line is None else str(start_line)
    return _sha256("loc", rule_id or "", path or "", line, normalize_snippet(snippet))


def advisory_fingerprint(primary_id: str, packages: Iterable[str]) -> str:
    """Layer-1 dedup key of an advisory finding: ``sha256("adv", id, sorted affected package keys)``."""
    return _sha256("adv", primary_id, *sorted(set(packages)))


def validate_purl(value: object, pointer: str) -> str:
    """Parse a purl with packageurl-python and return its canonical string; else :class:`IntakeError`."""
    if not isinstance(value, str):
        raise IntakeError(pointer, f"purl must be a string, got {type(value).__name__}")
    try:
        return str(PackageURL.from_string(value).to_string())
    except ValueError as exc:
        raise IntakeError(pointer, f"purl does not parse: {value!r} ({exc})") from None


def parse_datetime(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp into a tz-aware datetime; naive or unparsable values give ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def parse_cvss(vector: object) -> tuple[str, float] | None:
    """Parse a CVSS v2/v3.x/v4.0 vector with the ``cvss`` library: ``(clean vector, base score)``.

    Returns ``None`` for anything the library rejects (the caller records a warning).
    """
    if not isinstance(vector, str) or not vector.strip():
        return None
    text = vector.strip()
    try:
        if text.startswith("CVSS:4.0/"):
            v4 = CVSS4(text)
            return str(v4.clean_vector()), float(v4.base_score)
        if text.startswith("CVSS:3."):
            v3 = CVSS3(text)
            return str(v3.clean_vector()), float(v3.base_score)
        v2 = CVSS2(text[1:-1] if text.startswith("(") and text.endswith(")") else text)
        return str(v2.clean_vector()), float(v2.base_score)
    except (CVSSError, ValueError, KeyError, IndexError, TypeError, ArithmeticError):
        return None


def worst(severities: Iterable[Severity]) -> Severity:
    """The most severe of ``severities`` (``UNKNOWN`` if none is known)."""
    order = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]
    found = set(severities)
    for level in order:
        if level in found:
            return level
    return Severity.UNKNOWN


_ALIAS_RE = re.compile(
    r"^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+|RUSTSEC-\d{4}-\d{4}|"
    r"GO-\d{4}-\d{4,}|OSV-\d{4}-\d+|MAL-\d{4}-\d+|GSD-\d{4}-\d+)$",
    re.IGNORECASE,
)


def is_vuln_id(value: object) -> bool:
    """True for CVE / GHSA / PYSEC / RUSTSEC / GO / OSV / MAL / GSD identifiers."""
    return isinstance(value, str) and _ALIAS_RE.match(value.strip()) is not None


def dedupe(values: Iterable[str]) -> tuple[str, ...]:
    """Order-preserving de-duplication of non-empty strings."""
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return tuple(out)


def as_obj(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (tolerant reading of real files)."""
    if type(value) is dict:  # the common case, without the ABC check
        return value
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None
