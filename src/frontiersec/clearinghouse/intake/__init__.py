"""Clearinghouse intake: pure, streaming parsers of SARIF, OSV, CycloneDX, SPDX and CSAF into findings.

No database, no web, no settings: callers pass the schema directory and options explicitly.
"""

from .base import (
    AffectedPackage,
    AffectedRange,
    IntakeError,
    IntakeLimits,
    IntakeWarning,
    NormalizedFinding,
    ParseOptions,
    Severity,
)
from .csaf import parse_csaf_document
from .cyclonedx import Component, iter_components
from .detect import DetectedFormat, detect_format
from .registry import PARSERS, ParseResult, parse_file
from .schemas import SchemaSet, load_schemas

__all__ = [
    "PARSERS",
    "AffectedPackage",
    "AffectedRange",
    "Component",
    "DetectedFormat",
    "IntakeError",
    "IntakeLimits",
    "IntakeWarning",
    "NormalizedFinding",
    "ParseOptions",
    "ParseResult",
    "SchemaSet",
    "Severity",
    "detect_format",
    "iter_components",
    "load_schemas",
    "parse_csaf_document",
    "parse_file",
]
