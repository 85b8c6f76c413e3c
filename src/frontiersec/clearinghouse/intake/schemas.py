"""Compiled validators for the official schemas, offline, cached per schema directory.

The directory is always passed in (the app reads it from a setting); nothing here knows where
the shared data lives. Validation never rejects a file by itself: each schema error becomes an
:class:`~frontiersec.clearinghouse.intake.base.IntakeWarning` with its JSON path, and the parser
decides separately what is unusable.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator, Draft202012Validator, FormatChecker
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7

from .base import ParseContext, child

__all__ = ["SchemaSet", "load_schemas", "report_errors"]

_SARIF_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_MAX_ERRORS_PER_ELEMENT = 10


def _check_datetime(value: object) -> bool:
    """RFC 3339 ``date-time``: ISO 8601 date and time with an explicit offset."""
    if not isinstance(value, str):
        return True
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    if len(text) < 16 or text[10] not in "Tt":
        return False
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date-time")(_check_datetime)


@dataclass(frozen=True, slots=True)
class SchemaSet:
    """The validators intake uses, compiled once per schema directory."""

    sarif_log: Validator
    sarif_run: Validator
    sarif_result: Validator
    osv: Validator
    cyclonedx_16: Validator
    cyclonedx_17: Validator | None
    csaf: Validator


def _load(path: Path) -> Any:
    with path.open("rb") as fh:
        return json.load(fh)


def _resource(contents: Any, spec: Any) -> Resource[Any]:
    return Resource.from_contents(contents, default_specification=spec)


@lru_cache(maxsize=8)
def _load_cached(schemas_dir: Path) -> SchemaSet:
    registry: Registry[Any] = Registry()

    sarif = _load(schemas_dir / "sarif-2.1.0" / "sarif-schema-2.1.0.json")
    registry = registry.with_resource(_SARIF_ID, _resource(sarif, DRAFT4))

    osv = _load(schemas_dir / "osv" / "osv-schema.json")

    cdx_dir = schemas_dir / "cyclonedx"
    for name in ("spdx.schema.json", "jsf-0.82.schema.json"):
        res = _resource(_load(cdx_dir / name), DRAFT7)
        registry = registry.with_resource(name, res)
        registry = registry.with_resource(f"http://cyclonedx.org/schema/{name}", res)
    if (cdx_dir / "cryptography-defs.schema.json").exists():
        res = _resource(_load(cdx_dir / "cryptography-defs.schema.json"), DRAFT7)
        registry = registry.with_resource("http://cyclonedx.org/schema/cryptography-defs.schema.json", res)
    bom16 = _load(cdx_dir / "bom-1.6.schema.json")
    bom17 = _load(cdx_dir / "bom-1.7.schema.json") if (cdx_dir / "bom-1.7.schema.json").exists() else None

    csaf_dir = schemas_dir / "csaf-2.0"
    for version in ("2.0", "3.0", "3.1"):
        cvss_schema = _load(csaf_dir / "referenced_schema" / "first" / f"cvss-v{version}.json")
        spec = DRAFT7 if version == "3.1" else DRAFT4
        # The files' $id carries a query string the CSAF schema does not use: register the bare URL.
        registry = registry.with_resource(
            f"https://www.first.org/cvss/cvss-v{version}.json", _resource(cvss_schema, spec)
        )
    csaf = _load(csaf_dir / "csaf_json_schema.json")
    registry = registry.crawl()

    def sarif_def(name: str) -> Validator:
        return Draft4Validator(
            {"$ref": f"{_SARIF_ID}#/definitions/{name}"}, registry=registry, format_checker=_FORMATS
        )

    return SchemaSet(
        sarif_log=Draft4Validator(sarif, registry=registry, format_checker=_FORMATS),
        sarif_run=sarif_def("run"),
        sarif_result=sarif_def("result"),
        osv=Draft202012Validator(osv, registry=registry, format_checker=_FORMATS),
        cyclonedx_16=Draft7Validator(bom16, registry=registry, format_checker=_FORMATS),
        cyclonedx_17=(
            Draft202012Validator(bom17, registry=registry, format_checker=_FORMATS)
            if bom17 is not None and "2020-12" in str(bom17.get("$schema", ""))
            else Draft7Validator(bom17, registry=registry, format_checker=_FORMATS)
            if bom17 is not None
            else None
        ),
        csaf=Draft202012Validator(csaf, registry=registry, format_checker=_FORMATS),
    )


def load_schemas(schemas_dir: Path) -> SchemaSet:
    """Compile (once per resolved directory) the SARIF, OSV, CycloneDX and CSAF validators."""
    return _load_cached(Path(schemas_dir).resolve())


def report_errors(validator: Validator, instance: Any, pointer: str, ctx: ParseContext, label: str) -> int:
    """Validate ``instance`` and record each error as a warning at its JSON path; return the count."""
    count = 0
    for error in validator.iter_errors(instance):
        count += 1
        if count > _MAX_ERRORS_PER_ELEMENT:
            ctx.warn(pointer, f"{label}: more schema errors not shown")
            break
        where = pointer
        for part in error.absolute_path:
            where = child(where, part)
        message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
        ctx.warn(where, f"{label}: {message}")
    return count


def is_mapping(value: object) -> bool:
    """True for JSON objects."""
    return isinstance(value, Mapping)
