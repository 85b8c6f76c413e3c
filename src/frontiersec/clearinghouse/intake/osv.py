"""OSV intake: one record, a JSON array of records, JSON Lines (``.jsonl``/``.jsonl.gz``), OSV zip
exports and directories of ``*.json`` -- plus osv-scanner's report, whose packages carry OSV records.

One finding per OSV record (its ``affected`` list kept whole, with OSV semantics); for an
osv-scanner report, one finding per scanned package x vulnerability, targeted at the package's
purl and version. Each record is validated against the official OSV schema (warnings only).
"""

from collections.abc import Iterator, Mapping
from typing import Any

from packageurl import PackageURL

from .base import (
    AffectedPackage,
    AffectedRange,
    NormalizedFinding,
    ParseContext,
    Severity,
    advisory_fingerprint,
    child,
    dedupe,
    normalize_cwe,
    parse_cvss,
    parse_datetime,
    validate_purl,
    worst,
)
from .base import (
    as_list as _list,
)
from .base import (
    as_obj as _obj,
)
from .base import (
    as_str as _str,
)
from .schemas import SchemaSet, report_errors
from .source import Source

__all__ = ["ECOSYSTEM_PURL_TYPES", "normalize_osv_record", "parse_osv", "purl_for"]

ECOSYSTEM_PURL_TYPES: dict[str, str] = {
    "pypi": "pypi",
    "npm": "npm",
    "go": "golang",
    "crates.io": "cargo",
    "maven": "maven",
    "rubygems": "gem",
    "packagist": "composer",
    "nuget": "nuget",
    "pub": "pub",
    "hex": "hex",
    "swifturl": "swift",
    "cran": "cran",
    "hackage": "hackage",
    "github actions": "github",
    "debian": "deb",
    "alpine": "apk",
}


def purl_for(ecosystem: str | None, name: str | None, version: str | None = None) -> str | None:
    """Build a purl for an OSV ecosystem + package name (``None`` where the ecosystem has no type)."""
    if not ecosystem or not name:
        return None
    ptype = ECOSYSTEM_PURL_TYPES.get(ecosystem.split(":")[0].strip().lower())
    if ptype is None:
        return None
    namespace: str | None = None
    pname = name
    if ptype == "maven" and ":" in name:
        namespace, pname = name.split(":", 1)
    elif ptype in ("golang", "npm", "composer", "github") and "/" in name:
        namespace, pname = name.rsplit("/", 1)
    try:
        return str(PackageURL(type=ptype, namespace=namespace, name=pname, version=version).to_string())
    except ValueError:
        return None


def _affected(raw: Any, pointer: str, ctx: ParseContext) -> AffectedPackage | None:
    item = _obj(raw)
    if not item:
        ctx.warn(pointer, "affected entry is not an object; skipped")
        return None
    package = _obj(item.get("package"))
    purl_raw = package.get("purl")
    purl = validate_purl(purl_raw, child(child(pointer, "package"), "purl")) if purl_raw is not None else None
    ranges: list[AffectedRange] = []
    for r_index, rng in enumerate(_list(item.get("ranges"))):
        rng_obj = _obj(rng)
        events: list[tuple[str, str]] = []
        for event in _list(rng_obj.get("events")):
            for kind, value in _obj(event).items():
                if isinstance(value, str):
                    events.append((str(kind), value))
        rtype = _str(rng_obj.get("type"))
        if rtype is None:
            ctx.warn(child(child(pointer, "ranges"), r_index), "range without a type; skipped")
            continue
        ranges.append(AffectedRange(rtype, tuple(events)))
    versions = tuple(v for v in _list(item.get("versions")) if isinstance(v, str))
    ecosystem, name = _str(package.get("ecosystem")), _str(package.get("name"))
    if purl is None:
        # the OSV schema makes purl optional (Go's vulndb never gives one); the ecosystem and name
        # determine it, and dedup layers 3-4 need a target
        purl = purl_for(ecosystem, name)
    return AffectedPackage(
        ecosystem=ecosystem,
        name=name,
        purl=purl,
        ranges=tuple(ranges),
        versions=versions,
    )


def normalize_osv_record(
    record: Any,
    pointer: str,
    ctx: ParseContext,
    *,
    target_purl: str | None = None,
    path: str | None = None,
    tool_name: str | None = None,
    fingerprint_extra: tuple[str, ...] = (),
) -> NormalizedFinding | None:
    """Turn one OSV record into a finding (``None``, counted as rejected, when it has no id)."""
    schemas: SchemaSet | None = ctx.schemas
    if not isinstance(record, Mapping):
        ctx.reject(pointer, "an OSV record must be an object")
        return None
    if schemas is not None:
        report_errors(schemas.osv, record, pointer, ctx, "OSV schema")
    vuln_id = _str(record.get("id"))
    if vuln_id is None:
        ctx.reject(pointer, "OSV record has no id")
        return None
    affected = [
        a
        for i, raw in enumerate(_list(record.get("affected")))
        if (a := _affected(raw, child(child(pointer, "affected"), i), ctx)) is not None
    ]
    severities: list[Severity] = []
    vectors: list[str] = []
    for s_index, sev in enumerate(_list(record.get("severity"))):
        score = _obj(sev).get("score")
        parsed = parse_cvss(score)
        if parsed is None:
            if isinstance(score, str) and score.startswith("CVSS"):
                ctx.warn(child(child(pointer, "severity"), s_index), f"CVSS vector does not parse: {score!r}")
            continue
        vectors.append(parsed[0])
        severities.append(Severity.from_score(parsed[1]))
    db = _obj(record.get("database_specific"))
    severities.append(Severity.from_label(db.get("severity")))
    cwe_values: list[object] = list(_list(db.get("cwe_ids")))
    for raw in _list(record.get("affected")):
        for key in ("database_specific", "ecosystem_specific"):
            specific = _obj(_obj(raw).get(key))
            severities.append(Severity.from_label(specific.get("severity")))
            cwe_values.extend(_obj(c).get("cweId") for c in _list(specific.get("cwes")))
    summary = _str(record.get("summary"))
    details = _str(record.get("details"))
    aliases = dedupe(
        [vuln_id, *[a for a in _list(record.get("aliases")) if isinstance(a, str)]]
        + [r for r in _list(record.get("related")) if isinstance(r, str)]
    )
    package_keys = [f"{a.ecosystem}/{a.name}" for a in affected] or [a.purl or "" for a in affected]
    return NormalizedFinding(
        source_format="osv",
        fingerprint=advisory_fingerprint(vuln_id, [*package_keys, *fingerprint_extra]),
        source_pointer=pointer,
        tool_name=tool_name or ctx.options.tool_name,
        model_id=ctx.options.model_id,
        model_version=ctx.options.model_version,
        rule_id=vuln_id,
        title=summary or (details.strip().splitlines()[0][:200] if details and details.strip() else vuln_id),
        message=details or summary,
        severity=worst(severities),
        cwe_ids=normalize_cwe(cwe_values),
        target_purl=target_purl or next((a.purl for a in affected if a.purl), None),
        path=path,
        aliases=aliases,
        affected=tuple(affected),
        cvss_vectors=dedupe(vectors),
        published=parse_datetime(record.get("published")),
        status="affected",
    )


def _scanner_report(doc: Mapping[str, Any], pointer: str, ctx: ParseContext) -> Iterator[NormalizedFinding]:
    """osv-scanner's JSON report: results[].packages[].vulnerabilities[] are OSV records."""
    for r_index, result in enumerate(_list(doc.get("results"))):
        r_ptr = child(child(pointer, "results"), r_index)
        src_path = _str(_obj(_obj(result).get("source")).get("path"))
        for p_index, pkg in enumerate(_list(_obj(result).get("packages"))):
            p_ptr = child(child(r_ptr, "packages"), p_index)
            package = _obj(_obj(pkg).get("package"))
            purl = purl_for(
                _str(package.get("ecosystem")), _str(package.get("name")), _str(package.get("version"))
            )
            for v_index, vuln in enumerate(_list(_obj(pkg).get("vulnerabilities"))):
                ctx.received += 1
                finding = normalize_osv_record(
                    vuln,
                    child(child(p_ptr, "vulnerabilities"), v_index),
                    ctx,
                    target_purl=purl,
                    path=src_path,
                    tool_name="osv-scanner",
                    fingerprint_extra=(purl or "", src_path or ""),
                )
                if finding is not None:
                    yield finding


def parse_osv(source: Source, ctx: ParseContext) -> Iterator[NormalizedFinding]:
    """Stream findings from OSV records (any container) or an osv-scanner report."""
    for doc in source.documents():
        value = doc.value
        if isinstance(value, Mapping) and "id" not in value and isinstance(value.get("results"), list):
            yield from _scanner_report(value, doc.pointer, ctx)
            continue
        if isinstance(value, Mapping) and "id" not in value and "vulns" in value:
            # osv.dev API answer: {"vulns": [...]}
            for index, rec in enumerate(_list(value.get("vulns"))):
                ctx.received += 1
                finding = normalize_osv_record(rec, child(child(doc.pointer, "vulns"), index), ctx)
                if finding is not None:
                    yield finding
            continue
        ctx.received += 1
        finding = normalize_osv_record(value, doc.pointer, ctx)
        if finding is not None:
            yield finding
