"""CSAF 2.0 intake (``csaf_security_advisory``, ``csaf_vex`` and any other category).

Counting rule: **one finding per vulnerability x distinct product id named in its
``product_status``** (a product listed under several statuses counts once, with the most
relevant status: affected > under_investigation > fixed > not_affected > recommended); a
vulnerability whose ``product_status`` names no product gives one finding without a target.
Products are resolved through ``product_tree`` (nested ``branches``, ``full_product_names``,
``relationships``), with ``product_identification_helper.purl`` as the target purl.

A file may hold one document or one document per line (JSON Lines, ``.jsonl.gz``).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from .base import (
    AffectedPackage,
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

__all__ = ["STATUS_ORDER", "CsafProduct", "csaf_products", "parse_csaf", "parse_csaf_document"]

STATUS_ORDER: tuple[tuple[str, str], ...] = (
    ("known_affected", "affected"),
    ("first_affected", "affected"),
    ("last_affected", "affected"),
    ("under_investigation", "under_investigation"),
    ("fixed", "fixed"),
    ("first_fixed", "fixed"),
    ("known_not_affected", "not_affected"),
    ("recommended", "recommended"),
)


@dataclass(frozen=True, slots=True)
class CsafProduct:
    """A product of the product tree: id, full name, purl, and version when a branch names one."""

    product_id: str
    name: str | None
    purl: str | None
    version: str | None


def _product(raw: Any, pointer: str, version: str | None) -> CsafProduct | None:
    prod = _obj(raw)
    pid = _str(prod.get("product_id"))
    if pid is None:
        return None
    helper = _obj(prod.get("product_identification_helper"))
    purl = (
        validate_purl(helper["purl"], child(child(pointer, "product_identification_helper"), "purl"))
        if "purl" in helper
        else None
    )
    return CsafProduct(pid, _str(prod.get("name")), purl, version)


def csaf_products(tree: Mapping[str, Any], pointer: str = "$.product_tree") -> dict[str, CsafProduct]:
    """Every product of a CSAF ``product_tree`` by product id (first definition wins)."""
    products: dict[str, CsafProduct] = {}

    def add(prod: CsafProduct | None) -> None:
        if prod is not None and prod.product_id not in products:
            products[prod.product_id] = prod

    stack: list[tuple[str, Any, str | None]] = [
        (child(child(pointer, "branches"), i), b, None) for i, b in enumerate(_list(tree.get("branches")))
    ]
    while stack:
        b_pointer, branch, version = stack.pop()
        branch_obj = _obj(branch)
        if branch_obj.get("category") in ("product_version", "product_version_range"):
            version = _str(branch_obj.get("name")) or version
        if "product" in branch_obj:
            add(_product(branch_obj["product"], child(b_pointer, "product"), version))
        stack.extend(
            (child(child(b_pointer, "branches"), i), b, version)
            for i, b in enumerate(_list(branch_obj.get("branches")))
        )
    for index, full in enumerate(_list(tree.get("full_product_names"))):
        add(_product(full, child(child(pointer, "full_product_names"), index), None))
    for index, rel in enumerate(_list(tree.get("relationships"))):
        r_pointer = child(child(pointer, "relationships"), index)
        add(_product(_obj(rel).get("full_product_name"), child(r_pointer, "full_product_name"), None))
    return products


def _scores_for(vuln: Mapping[str, Any], product_id: str | None) -> tuple[Severity, tuple[str, ...]]:
    severities: list[Severity] = []
    vectors: list[str] = []
    for score in _list(vuln.get("scores")):
        score_obj = _obj(score)
        if product_id is not None and product_id not in _list(score_obj.get("products")):
            continue
        for key in ("cvss_v3", "cvss_v2"):
            cvss = _obj(score_obj.get(key))
            parsed = parse_cvss(cvss.get("vectorString"))
            if parsed is not None:
                vectors.append(parsed[0])
                severities.append(Severity.from_score(parsed[1]))
            elif isinstance(cvss.get("baseScore"), int | float):
                severities.append(Severity.from_score(float(cvss["baseScore"])))
    return worst(severities), dedupe(vectors)


def _text(vuln: Mapping[str, Any]) -> tuple[str | None, str | None]:
    notes = {
        str(_obj(n).get("category")): _str(_obj(n).get("text")) for n in reversed(_list(vuln.get("notes")))
    }
    message = notes.get("description") or notes.get("summary") or notes.get("details")
    return _str(vuln.get("title")), message


def parse_csaf_document(doc: Any, pointer: str, ctx: ParseContext) -> Iterator[NormalizedFinding]:
    """Findings of one CSAF 2.0 document (see the module docstring for the counting rule)."""
    schemas: SchemaSet | None = ctx.schemas
    if not isinstance(doc, Mapping):
        raise IntakeError(pointer, "a CSAF document must be a JSON object")
    document = _obj(doc.get("document"))
    version = document.get("csaf_version")
    if version != "2.0":
        raise IntakeError(
            child(child(pointer, "document"), "csaf_version"), f"CSAF version {version!r} is not supported"
        )
    if schemas is not None:
        report_errors(schemas.csaf, doc, pointer, ctx, "CSAF 2.0 schema")
    products = csaf_products(_obj(doc.get("product_tree")), child(pointer, "product_tree"))
    tracking = _obj(document.get("tracking"))
    publisher = _obj(document.get("publisher"))
    doc_date = parse_datetime(tracking.get("initial_release_date"))
    for v_index, vuln in enumerate(_list(doc.get("vulnerabilities"))):
        v_pointer = child(child(pointer, "vulnerabilities"), v_index)
        ctx.received += 1
        vuln_obj = _obj(vuln)
        if not vuln_obj:
            ctx.reject(v_pointer, "a vulnerability must be an object")
            continue
        ids = [_str(_obj(i).get("text")) or "" for i in _list(vuln_obj.get("ids"))]
        aliases = dedupe([_str(vuln_obj.get("cve")) or "", *ids])
        primary = (
            aliases[0] if aliases else f"{_str(tracking.get('id')) or 'csaf'}#vulnerabilities[{v_index}]"
        )
        title, message = _text(vuln_obj)
        cwe = _obj(vuln_obj.get("cwe"))
        cwes = normalize_cwe([cwe.get("id")]) if cwe else ()
        published = parse_datetime(vuln_obj.get("release_date")) or parse_datetime(
            vuln_obj.get("discovery_date")
        )
        status = _obj(vuln_obj.get("product_status"))
        seen: dict[str, tuple[str, str]] = {}
        for category, normalized in STATUS_ORDER:
            for p_index, pid in enumerate(_list(status.get(category))):
                if isinstance(pid, str) and pid not in seen:
                    seen[pid] = (
                        normalized,
                        child(child(child(v_pointer, "product_status"), category), p_index),
                    )
        entries: list[tuple[str | None, str | None, str]] = [
            (pid, st, ptr) for pid, (st, ptr) in seen.items()
        ]
        if not entries:
            entries = [(None, None, v_pointer)]
        for pid, finding_status, f_pointer in entries:
            product = products.get(pid) if pid is not None else None
            if pid is not None and product is None:
                ctx.warn(f_pointer, f"product id {pid!r} is not defined in product_tree")
            severity, vectors = _scores_for(vuln_obj, pid)
            if severity is Severity.UNKNOWN:
                severity, _ = _scores_for(vuln_obj, None)
            purl = product.purl if product else None
            affected = (
                (
                    AffectedPackage(
                        ecosystem=str(PackageURL.from_string(purl).type) if purl else None,
                        name=product.name if product else pid,
                        purl=purl,
                        versions=(product.version,) if product and product.version else (),
                    ),
                )
                if pid is not None
                else ()
            )
            yield NormalizedFinding(
                source_format="csaf",
                fingerprint=advisory_fingerprint(
                    primary, [purl or (product.name if product else None) or pid or ""]
                ),
                source_pointer=f_pointer,
                tool_name=_str(publisher.get("name")) or ctx.options.tool_name,
                model_id=ctx.options.model_id,
                model_version=ctx.options.model_version,
                rule_id=primary,
                title=title or _str(document.get("title")),
                message=message,
                severity=severity,
                cwe_ids=cwes,
                target_purl=purl,
                aliases=aliases,
                affected=affected,
                cvss_vectors=vectors,
                published=published or doc_date,
                status=finding_status,
            )


def parse_csaf(source: Source, ctx: ParseContext) -> Iterator[NormalizedFinding]:
    """Findings of every CSAF document in the source (one JSON document, or JSON Lines of them)."""
    for doc in source.documents():
        yield from parse_csaf_document(doc.value, doc.pointer, ctx)
