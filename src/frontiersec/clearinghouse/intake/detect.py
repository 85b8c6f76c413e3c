"""Format detection by sniffing the first bytes of a file (and, weakly, its name).

Rules, first match wins, on the decompressed head (gzip is inflated; zip is an OSV export):

1. ``$schema`` naming sarif / cyclonedx / csaf / osv;
2. ``bomFormat`` -> cyclonedx; ``spdxVersion`` -> spdx; ``document.csaf_version`` -> csaf;
3. ``version`` + ``runs`` -> sarif;
4. ``schema_version`` or ``id`` + ``modified`` (top level, or inside an array / JSON Lines) -> osv;
   osv-scanner's report (``results[].packages[].vulnerabilities``) -> osv;
5. file name: ``.sarif``, ``.cdx.json``/``.bom.json``, ``.spdx.json``, ``.jsonl``/``.osv.json``.
"""

import io
import zlib
from typing import Literal

import ijson

from .base import IntakeError
from .source import GZIP_MAGIC, ZIP_EMPTY_MAGIC, ZIP_MAGIC

__all__ = ["DetectedFormat", "detect_format"]

DetectedFormat = Literal["sarif", "osv", "cyclonedx", "spdx", "csaf"]

_MAX_EVENTS = 20000


def _inflate_head(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 65536)
    except zlib.error as exc:
        raise IntakeError("$", f"corrupt gzip data: {exc}") from None


def _sniff(head: bytes) -> DetectedFormat | None:
    """Walk the JSON events of the (possibly truncated) head and decide from the keys seen."""
    top: set[str] = set()
    item_keys: set[str] = set()
    schema = ""
    csaf = False
    scanner_report = False
    try:
        events = ijson.parse(io.BytesIO(head), multiple_values=True)
        for count, (prefix, event, value) in enumerate(events):
            if count > _MAX_EVENTS:
                break
            if event == "map_key":
                if prefix == "":
                    top.add(str(value))
                elif prefix == "item":
                    item_keys.add(str(value))
                elif prefix == "document" and value == "csaf_version":
                    csaf = True
                elif prefix == "results.item.packages.item" and value == "vulnerabilities":
                    scanner_report = True
            elif prefix == "$schema" and event == "string":
                schema = str(value).lower()
            if schema or csaf or scanner_report or {"bomFormat", "spdxVersion"} & top:
                break
            if {"version", "runs"} <= top:
                break
    except (ijson.JSONError, UnicodeDecodeError, ValueError):
        pass  # a truncated head is expected; decide on what was seen
    for needle, fmt in (("sarif", "sarif"), ("cyclonedx", "cyclonedx"), ("csaf", "csaf"), ("osv", "osv")):
        if needle in schema:
            return fmt  # type: ignore[return-value]
    if "bomFormat" in top:
        return "cyclonedx"
    if "spdxVersion" in top:
        return "spdx"
    if csaf:
        return "csaf"
    if {"version", "runs"} <= top:
        return "sarif"
    if scanner_report:
        return "osv"
    for keys in (top, item_keys):
        if "schema_version" in keys or {"id", "modified"} <= keys:
            return "osv"
    return None


def detect_format(head_bytes: bytes, filename: str = "") -> DetectedFormat:
    """Name the format of a file from its first bytes (and its name as a last resort).

    Raises :class:`IntakeError` for an empty head or a file no rule recognises.
    """
    if not head_bytes:
        raise IntakeError("$", "empty file (0 bytes)")
    if head_bytes.startswith((ZIP_MAGIC, ZIP_EMPTY_MAGIC)):
        return "osv"
    head = _inflate_head(head_bytes) if head_bytes.startswith(GZIP_MAGIC) else head_bytes
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head.strip():
        raise IntakeError("$", "empty document (only whitespace)")
    found = _sniff(head)
    if found is not None:
        return found
    lower = filename.lower()
    for suffixes, fmt in (
        ((".sarif", ".sarif.json", ".sarif.gz"), "sarif"),
        ((".cdx.json", ".bom.json", ".cdx.json.gz"), "cyclonedx"),
        ((".spdx.json",), "spdx"),
        ((".osv.json", ".jsonl", ".jsonl.gz"), "osv"),
    ):
        if lower.endswith(suffixes):
            return fmt  # type: ignore[return-value]
    raise IntakeError("$", "unrecognised format: not SARIF, OSV, CycloneDX, SPDX or CSAF JSON")
