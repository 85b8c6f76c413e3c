"""CycloneDX 1.4-1.6 (1.2-1.7 accepted) JSON intake, and SBOM component listing (CycloneDX, SPDX 2.3).

Findings come from ``vulnerabilities`` (VEX / VDR): one finding per vulnerability x ``affects``
entry, its ``ref`` resolved to the component's purl (a vulnerability without ``affects`` gives
one finding without a target). ``analysis.state`` becomes the finding's status. A plain SBOM
gives no findings; :func:`iter_components` lists its components for SBOM matching.

The whole document is validated against the official schema (``bom-1.6``, or ``bom-1.7`` for
specVersion 1.7); schema errors are warnings. Unusable: not an object, no or wrong
``bomFormat``, an unknown ``specVersion``, a purl that does not parse.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from packageurl import PackageURL

from .base import (
    AffectedPackage,
    AffectedRange,
    IntakeError,
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

__all__ = ["SUPPORTED_SPEC_VERSIONS", "Component", "iter_components", "parse_cyclonedx", "parse_spdx"]

SUPPORTED_SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
_CVSS_PREFIX = {"CVSSv2": "", "CVSSv3": "CVSS:3.0/", "CVSSv31": "CVSS:3.1/", "CVSSv4": "CVSS:4.0/"}


@dataclass(frozen=True, slots=True)
class Component:
    """An SBOM component (CycloneDX component or SPDX package)."""

    purl: str | None
    name: str | None
    version: str | None
    bom_ref: str | None


def _walk_components(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every component with its JSON path: metadata.component, components (nested) and their pedigree."""
    stack: list[tuple[str, Any]] = [
        (f"$.components[{i}]", c) for i, c in reversed(list(enumerate(_list(doc.get("components")))))
    ]
    meta_comp = _obj(doc.get("metadata")).get("component")
    if meta_comp is not None:
        stack.append(("$.metadata.component", meta_comp))
    while stack:
        pointer, comp = stack.pop()
        comp_obj = _obj(comp)
        if not comp_obj:
            continue
        yield pointer, comp_obj
        nested = _list(comp_obj.get("components"))
        stack.extend((f"{pointer}.components[{i}]", c) for i, c in reversed(list(enumerate(nested))))


def _check_header(doc: Any, pointer: str) -> str:
    if not isinstance(doc, Mapping):
        raise IntakeError(pointer, "a CycloneDX document must be a JSON object")
    if "bomFormat" not in doc:
        raise IntakeError(child(pointer, "bomFormat"), "CycloneDX document without bomFormat")
    if doc["bomFormat"] != "CycloneDX":
        raise IntakeError(
            child(pointer, "bomFormat"), f"bomFormat must be 'CycloneDX', got {doc['bomFormat']!r}"
        )
    spec = doc.get("specVersion")
    if spec not in SUPPORTED_SPEC_VERSIONS:
        raise IntakeError(child(pointer, "specVersion"), f"CycloneDX specVersion {spec!r} is not supported")
    return str(spec)


def _tool(doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
    tools = _obj(doc.get("metadata")).get("tools")
    candidates: list[Any] = _list(tools)
    if isinstance(tools, Mapping):  # 1.5+: {"components": [...], "services": [...]}
        candidates = _list(tools.get("components")) + _list(tools.get("services"))
    for tool in candidates:
        name = _str(_obj(tool).get("name"))
        if name:
            return name, _str(_obj(tool).get("version"))
    return None, None


def _ratings(vuln: Mapping[str, Any], pointer: str, ctx: ParseContext) -> tuple[Severity, tuple[str, ...]]:
    labels: list[Severity] = []
    scored: list[Severity] = []
    vectors: list[str] = []
    for index, rating in enumerate(_list(vuln.get("ratings"))):
        rating_obj = _obj(rating)
        labels.append(Severity.from_label(rating_obj.get("severity")))
        vector = _str(rating_obj.get("vector"))
        method = _str(rating_obj.get("method")) or ""
        if vector and method in _CVSS_PREFIX:
            prefix = _CVSS_PREFIX[method]
            full = vector if vector.startswith("CVSS:") or not prefix else prefix + vector
            parsed = parse_cvss(full)
            if parsed is None:
                ctx.warn(
                    child(child(child(pointer, "ratings"), index), "vector"),
                    f"CVSS vector does not parse: {vector!r}",
                )
            else:
                vectors.append(parsed[0])
                scored.append(Severity.from_score(parsed[1]))
        score = rating_obj.get("score")
        if isinstance(score, int | float) and not isinstance(score, bool) and method.startswith("CVSS"):
            scored.append(Severity.from_score(float(score)))
    severity = worst(labels)
    if severity is Severity.UNKNOWN:
        severity = worst(scored)
    return severity, dedupe(vectors)


def _affected_versions(affect: Mapping[str, Any]) -> tuple[tuple[AffectedRange, ...], tuple[str, ...]]:
    ranges: list[AffectedRange] = []
    versions: list[str] = []
    for entry in _list(affect.get("versions")):
        entry_obj = _obj(entry)
        if entry_obj.get("status", "affected") not in ("affected", "unknown"):
            continue
        if _str(entry_obj.get("version")):
            versions.append(str(entry_obj["version"]))
        if _str(entry_obj.get("range")):
            ranges.append(AffectedRange("VERS", (("range", str(entry_obj["range"])),)))
    return tuple(ranges), tuple(versions)


def _ecosystem(purl: str | None) -> str | None:
    if purl is None:
        return None
    return str(PackageURL.from_string(purl).type)


def _vulnerability_findings(
    doc: Mapping[str, Any],
    vuln: Any,
    pointer: str,
    refs: Mapping[str, tuple[str | None, str | None]],
    ctx: ParseContext,
) -> Iterator[NormalizedFinding]:
    vuln_obj = _obj(vuln)
    if not vuln_obj:
        ctx.reject(pointer, "a vulnerability must be an object")
        return
    vuln_id = _str(vuln_obj.get("id")) or _str(vuln_obj.get("bom-ref"))
    if vuln_id is None:
        ctx.reject(pointer, "vulnerability has neither id nor bom-ref")
        return
    severity, vectors = _ratings(vuln_obj, pointer, ctx)
    tool_name, tool_version = _tool(doc)
    analysis = _obj(vuln_obj.get("analysis"))
    aliases = dedupe([vuln_id, *[_str(_obj(r).get("id")) or "" for r in _list(vuln_obj.get("references"))]])
    cwes = normalize_cwe(_list(vuln_obj.get("cwes")))
    description = _str(vuln_obj.get("description"))
    detail = _str(vuln_obj.get("detail"))
    published = parse_datetime(vuln_obj.get("published"))
    affects = _list(vuln_obj.get("affects"))
    targets: list[tuple[str, Mapping[str, Any]]] = [
        (child(child(pointer, "affects"), i), _obj(a)) for i, a in enumerate(affects)
    ] or [(pointer, {})]
    for a_pointer, affect in targets:
        ref = _str(affect.get("ref"))
        purl: str | None = None
        name: str | None = None
        if ref is not None:
            if ref in refs:
                purl, name = refs[ref]
            elif ref.startswith("pkg:"):
                purl = validate_purl(ref, child(a_pointer, "ref"))
            else:
                ctx.warn(child(a_pointer, "ref"), f"affects ref {ref!r} names no component of this BOM")
        ranges, versions = _affected_versions(affect)
        affected = (
            (
                AffectedPackage(
                    ecosystem=_ecosystem(purl), name=name, purl=purl, ranges=ranges, versions=versions
                ),
            )
            if ref is not None
            else ()
        )
        yield NormalizedFinding(
            source_format="cyclonedx",
            fingerprint=advisory_fingerprint(vuln_id, [purl or ref or ""]),
            source_pointer=a_pointer,
            tool_name=tool_name or ctx.options.tool_name,
            tool_version=tool_version,
            model_id=ctx.options.model_id,
            model_version=ctx.options.model_version,
            rule_id=vuln_id,
            title=(description or detail or vuln_id).strip().splitlines()[0][:200]
            if (description or detail)
            else vuln_id,
            message=detail or description,
            severity=severity,
            cwe_ids=cwes,
            target_purl=purl,
            aliases=aliases,
            affected=affected,
            cvss_vectors=vectors,
            published=published,
            status=_str(analysis.get("state")),
        )


def parse_cyclonedx(source: Source, ctx: ParseContext) -> Iterator[NormalizedFinding]:
    """Findings from a CycloneDX BOM's ``vulnerabilities`` (none for a plain SBOM)."""
    schemas: SchemaSet | None = ctx.schemas
    for doc in source.documents():
        spec = _check_header(doc.value, doc.pointer)
        bom: Mapping[str, Any] = doc.value
        if schemas is not None:
            validator = (
                schemas.cyclonedx_17 if spec == "1.7" and schemas.cyclonedx_17 else schemas.cyclonedx_16
            )
            report_errors(validator, bom, doc.pointer, ctx, f"CycloneDX {spec} schema")
        refs: dict[str, tuple[str | None, str | None]] = {}
        for c_pointer, comp in _walk_components(bom):
            purl = validate_purl(comp["purl"], child(c_pointer, "purl")) if "purl" in comp else None
            ref = _str(comp.get("bom-ref"))
            if ref is not None:
                refs.setdefault(ref, (purl, _str(comp.get("name"))))
        for index, vuln in enumerate(_list(bom.get("vulnerabilities"))):
            ctx.received += 1
            yield from _vulnerability_findings(
                bom, vuln, child(child(doc.pointer, "vulnerabilities"), index), refs, ctx
            )


def parse_spdx(source: Source, ctx: ParseContext) -> Iterator[NormalizedFinding]:
    """SPDX 2.x JSON is an SBOM: it carries no findings. Checks the header and every purl."""
    for doc in source.documents():
        for _ in _spdx_components(doc.value, doc.pointer):
            ctx.received += 0  # components are not findings; iter_components lists them
    return
    yield  # pragma: no cover - makes this a generator


def _spdx_components(doc: Any, pointer: str) -> Iterator[Component]:
    if not isinstance(doc, Mapping) or not _str(doc.get("spdxVersion")):
        raise IntakeError(child(pointer, "spdxVersion"), "SPDX document without spdxVersion")
    if not str(doc["spdxVersion"]).startswith("SPDX-2."):
        raise IntakeError(
            child(pointer, "spdxVersion"), f"SPDX version {doc['spdxVersion']!r} is not supported"
        )
    for index, package in enumerate(_list(doc.get("packages"))):
        pkg = _obj(package)
        purl: str | None = None
        for r_index, ref in enumerate(_list(pkg.get("externalRefs"))):
            ref_obj = _obj(ref)
            if ref_obj.get("referenceType") == "purl":
                loc = child(child(child(child(pointer, "packages"), index), "externalRefs"), r_index)
                purl = validate_purl(ref_obj.get("referenceLocator"), child(loc, "referenceLocator"))
                break
        yield Component(purl, _str(pkg.get("name")), _str(pkg.get("versionInfo")), _str(pkg.get("SPDXID")))


def iter_components(stream: IO[bytes], max_bytes: int = 256 * 1024**2) -> Iterator[Component]:
    """List the components of a CycloneDX (any 1.x) or SPDX 2.x JSON SBOM read from ``stream``.

    Raises :class:`IntakeError` for invalid JSON, a document that is neither, or a bad purl.
    """
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise IntakeError("$", f"SBOM larger than {max_bytes} bytes")
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise IntakeError(f"$ (byte {exc.pos})", f"invalid JSON at byte {exc.pos}: {exc.msg}") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise IntakeError("$", f"unreadable JSON: {exc}") from None
    if isinstance(doc, Mapping) and "spdxVersion" in doc:
        yield from _spdx_components(doc, "$")
        return
    _check_header(doc, "$")
    for pointer, comp in _walk_components(doc):
        purl = validate_purl(comp["purl"], child(pointer, "purl")) if "purl" in comp else None
        yield Component(purl, _str(comp.get("name")), _str(comp.get("version")), _str(comp.get("bom-ref")))
