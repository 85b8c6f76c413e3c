"""The single entry point of intake: :func:`parse_file`, and the format -> parser table."""

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import ijson

from .base import (
    IntakeError,
    IntakeLimits,
    IntakeWarning,
    NormalizedFinding,
    ParseContext,
    ParseOptions,
    Parser,
)
from .csaf import parse_csaf
from .cyclonedx import parse_cyclonedx, parse_spdx
from .detect import DetectedFormat, detect_format
from .osv import parse_osv
from .sarif import parse_sarif
from .schemas import load_schemas
from .source import HEAD_BYTES, Source

__all__ = ["PARSERS", "ParseResult", "parse_file"]

PARSERS: dict[str, Parser] = {
    "sarif": parse_sarif,
    "osv": parse_osv,
    "cyclonedx": parse_cyclonedx,
    "spdx": parse_spdx,
    "csaf": parse_csaf,
}

# Errors from the byte and JSON layers that mean "unusable input", never a bug of ours.
_INPUT_ERRORS = (
    ijson.JSONError,
    UnicodeError,
    OSError,
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    RecursionError,
    OverflowError,
)


class ParseResult:
    """Findings of one file, yielded lazily (iterate once), with warnings and element counts.

    ``warnings``, ``received`` (elements seen: SARIF results, OSV records, CycloneDX and CSAF
    vulnerabilities) and ``rejected`` (elements skipped as unusable) grow while iterating.
    Iteration raises only :class:`IntakeError`.
    """

    def __init__(
        self,
        fmt: DetectedFormat,
        path: Path,
        findings: Iterator[NormalizedFinding],
        ctx: ParseContext,
        source: Source | None = None,
    ):
        self.format: DetectedFormat = fmt
        self.path = path
        self._findings = findings
        self._ctx = ctx
        self._source = source

    @property
    def fraction(self) -> float:
        """How far reading has come, 0.0 to 1.0 (bytes read over the file's size; see
        :meth:`Source.fraction`); 0.0 when unknown."""
        return self._source.fraction() if self._source is not None else 0.0

    @property
    def warnings(self) -> list[IntakeWarning]:
        """Deviations tolerated so far, each with its JSON path."""
        return self._ctx.warnings

    @property
    def received(self) -> int:
        """Elements seen so far."""
        return self._ctx.received

    @property
    def rejected(self) -> int:
        """Elements rejected so far (each also has a warning)."""
        return self._ctx.rejected

    def __iter__(self) -> Iterator[NormalizedFinding]:
        try:
            yield from self._findings
        except IntakeError:
            raise
        except _INPUT_ERRORS as exc:
            raise IntakeError("$", f"unreadable input: {type(exc).__name__}: {exc}") from None

    def collect(self) -> list[NormalizedFinding]:
        """Consume every finding into a list."""
        return list(self)


def parse_file(
    path: Path | str,
    fmt: DetectedFormat | str = "auto",
    options: ParseOptions | None = None,
    *,
    schemas_dir: Path | None = None,
    limits: IntakeLimits | None = None,
) -> ParseResult:
    """Open ``path`` (file, ``.gz``, ``.zip`` or directory), detect or check its format, and parse lazily.

    ``schemas_dir`` is the folder of official schemas (``sarif-2.1.0/``, ``osv/``, ``cyclonedx/``,
    ``csaf-2.0/``); ``None`` skips schema validation. Raises :class:`IntakeError` at once for an
    empty, unreadable or unrecognised file; format errors surface while iterating.
    """
    path = Path(path)
    limits = limits or IntakeLimits()
    try:
        if path.is_dir():
            head = b""
        else:
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise IntakeError("$", f"cannot read {path.name}: {exc.strerror or exc}") from None
    if not path.is_dir() and not head:
        raise IntakeError("$", "empty file (0 bytes)")
    if fmt == "auto":
        detected: DetectedFormat = "osv" if path.is_dir() else detect_format(head, path.name)
    elif fmt in PARSERS:
        detected = fmt  # type: ignore[assignment]
    else:
        raise IntakeError("$", f"unknown format {fmt!r}; expected one of {sorted(PARSERS)} or 'auto'")
    ctx = ParseContext(
        options=options or ParseOptions(),
        limits=limits,
        schemas=load_schemas(schemas_dir) if schemas_dir is not None else None,
    )
    source = Source.from_path(path, head, limits)
    if source.container == "zip" and detected not in ("osv", "csaf"):
        raise IntakeError("$", f"zip archives are accepted for OSV exports only, not {detected}")
    return ParseResult(detected, path, PARSERS[detected](source, ctx), ctx, source)
