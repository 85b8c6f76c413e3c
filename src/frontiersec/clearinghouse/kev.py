"""Pure reading of the CISA KEV catalog JSON (no I/O beyond the given bytes)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["KevCatalog", "KevFormatError", "KevRecord", "load_kev_json", "parse_kev", "parse_kev_document"]

_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


class KevFormatError(ValueError):
    """The document is not a usable KEV catalog; ``pointer`` names the element at fault."""

    def __init__(self, pointer: str, reason: str) -> None:
        super().__init__(f"{pointer}: {reason}")
        self.pointer = pointer
        self.reason = reason


@dataclass(frozen=True, slots=True)
class KevRecord:
    """One catalog entry with the catalog's own field names mapped to Python."""

    cve_id: str
    vendor_project: str
    product: str
    vulnerability_name: str
    date_added: dt.date
    short_description: str
    required_action: str
    due_date: dt.date
    known_ransomware_campaign_use: str
    notes: str
    cwes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KevCatalog:
    """The catalog header and its entries."""

    title: str
    catalog_version: str
    date_released: str
    records: tuple[KevRecord, ...]


def _date(value: Any, pointer: str) -> dt.date:
    if not isinstance(value, str):
        raise KevFormatError(pointer, "expected a YYYY-MM-DD date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise KevFormatError(pointer, f"not a date: {value!r}") from exc


def _str(item: dict[str, Any], key: str, pointer: str, *, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise KevFormatError(f"{pointer}.{key}", "missing or not a string")
    return value


def load_kev_json(data: bytes) -> Any:
    """The JSON document in ``data``; malformed JSON is a :class:`KevFormatError`."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise KevFormatError(
            "$", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc


def parse_kev(data: bytes) -> KevCatalog:
    """Parse a KEV catalog JSON document (``known_exploited_vulnerabilities.json``)."""
    return parse_kev_document(load_kev_json(data))


def parse_kev_document(doc: Any) -> KevCatalog:
    """Parse an already decoded KEV catalog document."""
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise KevFormatError("$.vulnerabilities", "missing: not a KEV catalog")
    records = []
    seen: set[str] = set()
    for i, item in enumerate(doc["vulnerabilities"]):
        p = f"$.vulnerabilities[{i}]"
        if not isinstance(item, dict):
            raise KevFormatError(p, "expected an object")
        cve = _str(item, "cveID", p)
        if not _CVE.match(cve):
            raise KevFormatError(f"{p}.cveID", f"not a CVE id: {cve!r}")
        if cve in seen:
            raise KevFormatError(f"{p}.cveID", f"duplicate entry {cve}")
        seen.add(cve)
        cwes = item.get("cwes") or []
        if not isinstance(cwes, list) or not all(isinstance(c, str) for c in cwes):
            raise KevFormatError(f"{p}.cwes", "expected a list of CWE ids")
        records.append(
            KevRecord(
                cve_id=cve,
                vendor_project=_str(item, "vendorProject", p),
                product=_str(item, "product", p),
                vulnerability_name=_str(item, "vulnerabilityName", p),
                date_added=_date(item.get("dateAdded"), f"{p}.dateAdded"),
                short_description=_str(item, "shortDescription", p),
                required_action=_str(item, "requiredAction", p),
                due_date=_date(item.get("dueDate"), f"{p}.dueDate"),
                known_ransomware_campaign_use=_str(item, "knownRansomwareCampaignUse", p, required=False)
                or "Unknown",
                notes=_str(item, "notes", p, required=False),
                cwes=tuple(cwes),
            )
        )
    return KevCatalog(
        title=str(doc.get("title", "")),
        catalog_version=str(doc.get("catalogVersion", "")),
        date_released=str(doc.get("dateReleased", "")),
        records=tuple(records),
    )
