"""``frontiersec findings``, ``frontiersec kb`` and ``frontiersec sbom``: clearinghouse commands."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from frontiersec.clearinghouse import clusters as clusters_service
from frontiersec.clearinghouse import feeds as kb_feeds
from frontiersec.clearinghouse import findings as findings_service
from frontiersec.clearinghouse import kb
from frontiersec.platform import cli_support
from frontiersec.platform.auth import service as auth
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import FrontiersecError
from frontiersec.platform.runtime import build_runtime

__all__ = ["findings_app", "kb_app", "sbom_app"]

findings_app = typer.Typer(
    help="Findings: import scanner output, deduplicated across finders.", no_args_is_help=True
)
kb_app = typer.Typer(
    help="The vulnerability knowledge base: OSV advisories, KEV, EPSS scores, CWE names; `sync` fetches them.",
    no_args_is_help=True,
)
sbom_app = typer.Typer(help="SBOMs matched against the knowledge base.", no_args_is_help=True)

JsonOpt = cli_support.JsonOpt
AsOpt = cli_support.AsOpt
_settings = cli_support.load_settings
_unit = cli_support.unit
_actor = cli_support.actor


@kb_app.command("load-osv")
def kb_load_osv(
    path: Annotated[
        Path, typer.Argument(help="OSV .jsonl[.gz], OSV zip export, or a directory of OSV JSON.")
    ],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load OSV advisories (insert new, update changed by ``modified``); all-or-nothing per file."""
    s = _settings()
    started = time.perf_counter()
    with _unit(s) as (_rt, session):
        r = kb.load_osv(session, _actor(session, as_email), path)
    row = {
        "source": r.source,
        "records": r.records,
        "added": r.added,
        "updated": r.updated,
        "unchanged": r.unchanged,
    }
    if as_json:
        typer.echo(json.dumps(row))
    else:
        typer.echo(
            f"{r.source}: {r.records} records, {r.added} added, {r.updated} updated, "
            f"{r.unchanged} unchanged ({time.perf_counter() - started:.1f}s)"
        )


@kb_app.command("load-epss")
def kb_load_epss(
    path: Annotated[Path, typer.Argument(help="FIRST's EPSS CSV (epss_scores-YYYY-MM-DD.csv[.gz]).")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load EPSS scores (insert new CVEs, update changed scores); all-or-nothing per file."""
    s = _settings()
    started = time.perf_counter()
    with _unit(s) as (_rt, session):
        r = kb_feeds.load_epss(session, _actor(session, as_email), path)
    if as_json:
        typer.echo(json.dumps(r.__dict__))
        return
    typer.echo(
        f"{r.source}: {r.rows} scores (model {r.model_version}, scored {r.score_date}), {r.added} added, "
        f"{r.updated} updated, {r.unchanged} unchanged ({time.perf_counter() - started:.1f}s)"
    )


@kb_app.command("load-cwe")
def kb_load_cwe(
    path: Annotated[
        Path | None,
        typer.Argument(help="CWE XML (cwec_vX.Y.xml[.zip]) or view CSV[.gz]; default: the cwe2 package's."),
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load MITRE's CWE catalog: names, kinds and parent/child links (upsert by CWE id)."""
    s = _settings()
    with _unit(s) as (_rt, session):
        r = kb_feeds.load_cwe(session, _actor(session, as_email), path)
    if as_json:
        typer.echo(json.dumps(r.__dict__))
        return
    typer.echo(
        f"{r.source}: CWE {r.version or '?'}: {r.weaknesses} weaknesses, {r.categories} categories, "
        f"{r.views} views, {r.relations} links; {r.added} added, {r.updated} updated, {r.unchanged} unchanged"
    )


@kb_app.command("sync")
def kb_sync(
    ctx: typer.Context,
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="kev, osv, epss or all (repeatable; default all).")
    ] = None,
    ecosystem: Annotated[
        list[str] | None,
        typer.Option("--ecosystem", help="OSV ecosystem, e.g. PyPI (repeatable; default from settings)."),
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch KEV, OSV and EPSS from their publishers when changed (ETag / Last-Modified), verify, load.

    Each feed loads in its own transaction; one that cannot be fetched or does not verify loads
    nothing and keeps its previous state. Exits 1 when any feed failed.
    """
    s = _settings()
    # An embedding program (or a test) may pass an httpx transport in the Click context object.
    transport = ctx.obj.get("http_transport") if isinstance(ctx.obj, dict) else None
    rt = build_runtime(s)
    try:
        with session_scope(rt.sessions) as session:
            principal = _actor(session, as_email)
        outcomes = kb_feeds.sync_feeds(
            rt.sessions,
            principal,
            s,
            feeds=feed or ["all"],
            ecosystems=ecosystem or [],
            transport=transport,
            progress=lambda line: typer.echo(line, err=as_json),
        )
    except FrontiersecError as exc:
        cli_support.error_exit(exc)
    finally:
        rt.engine.dispose()
    failed = [o for o in outcomes if o.status == "failed"]
    if as_json:
        typer.echo(json.dumps([o.as_dict() for o in outcomes]))
    else:
        counts = {k: sum(o.status == k for o in outcomes) for k in ("loaded", "unchanged", "failed")}
        typer.echo(
            f"{len(outcomes)} feeds: {counts['loaded']} loaded, {counts['unchanged']} unchanged, {counts['failed']} failed"
        )
    if failed:
        raise typer.Exit(1)


@kb_app.command("feeds")
def kb_feed_list(as_json: JsonOpt = False) -> None:
    """What `kb sync` last saw of each feed: status, ETag, when checked and loaded, last error."""
    s = _settings()
    with _unit(s) as (_rt, session):
        rows = [
            {
                "feed": f.feed,
                "status": f.last_status,
                "checked": f.last_checked_at.isoformat(timespec="seconds") if f.last_checked_at else "",
                "loaded": f.last_loaded_at.isoformat(timespec="seconds") if f.last_loaded_at else "",
                "etag": f.etag or "",
                "error": f.last_error or "",
                "url": f.url,
            }
            for f in kb_feeds.feed_states(session)
        ]
    cli_support.emit(rows, ["feed", "status", "checked", "loaded", "etag", "error"], as_json)


@sbom_app.command("match")
def sbom_match(
    sbom: Annotated[Path, typer.Argument(help="CycloneDX or SPDX 2.3 JSON SBOM.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List every SBOM component with the knowledge-base advisories affecting its version."""
    s = _settings()
    try:
        fh = sbom.open("rb")
    except OSError as exc:
        typer.echo(f"error: cannot read {sbom}: {exc.strerror}", err=True)
        raise typer.Exit(2) from exc
    with fh, _unit(s) as (_rt, session):
        result = kb.match_sbom(session, _actor(session, as_email), fh, label=sbom.name)
    out = result.as_dict()
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(f"{'COMPONENT':60} {'ADVISORY':22} {'FIXED':12} AFFECTED")
    vulnerable = 0
    for c in out["components"]:
        label = c["purl"] or f"{c['name']}@{c['version']}"
        if c.get("skipped"):
            typer.echo(f"{label:60} (skipped: {c['skipped']})")
        elif not c["vulnerabilities"]:
            typer.echo(f"{label:60} -")
        else:
            vulnerable += 1
            for v in c["vulnerabilities"]:
                typer.echo(f"{label:60} {v['id']:22} {v['fixed'] or '-':12} {v['affected_range']}")
    typer.echo(
        f"{len(out['components'])} components, {vulnerable} vulnerable, {out['advisories']} advisories in the index"
    )


@findings_app.command("import")
def findings_import(
    file: Annotated[
        Path, typer.Argument(help="SARIF, OSV, CycloneDX (VEX) or CSAF file (.json, .gz, .zip).")
    ],
    fmt: Annotated[str, typer.Option("--format", help="auto, sarif, osv, cyclonedx, spdx or csaf.")] = "auto",
    org: Annotated[
        str | None, typer.Option(help="Finder organisation slug or name (default: program office).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model id that produced the findings.")] = None,
    reparse: Annotated[
        bool,
        typer.Option(
            "--reparse",
            help="Read every finding even when the file is byte for byte an earlier import "
            "(by default such a file is recognised by its SHA-256 and counted as all duplicates).",
        ),
    ] = False,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import one file of findings in one transaction: duplicates counted, aliases clustered, finders credited."""
    s = _settings()
    started = time.perf_counter()
    with _unit(s) as (_rt, session):
        finder = auth.find_org(session, org) if org else auth.ensure_program_office(session)
        r = findings_service.import_findings(
            session,
            _actor(session, as_email),
            file,
            org=finder,
            fmt=fmt,
            model_id=model,
            schemas_dir=s.schemas_dir,
            reuse_identical=not reparse,
        )
    elapsed = time.perf_counter() - started
    row: dict[str, Any] = {
        "batch_id": str(r.batch_id),
        "format": r.format,
        "received": r.received,
        "new": r.new,
        "duplicates": r.duplicates,
        "rejected": r.rejected,
        "clusters_created": r.clusters_created,
        "clusters_joined": r.clusters_joined,
        "identical": r.identical,
        "warnings": r.warnings,
    }
    if as_json:
        typer.echo(json.dumps(row))
        return
    typer.echo(
        f"{file.name} ({r.format}): {r.received} received, {r.new} new, {r.duplicates} duplicates, "
        f"{r.rejected} rejected; {r.clusters_created} new clusters, {r.clusters_joined} joined "
        f"({elapsed:.2f}s)"
    )
    if r.identical:
        typer.echo("  identical to an earlier import (same SHA-256): not read again; --reparse reads it")
    for w in r.warnings[:20]:
        typer.echo(f"  warning: {w}")
    if len(r.warnings) > 20:
        typer.echo(f"  ... {len(r.warnings) - 20} more warnings")


# ---------------------------------------------------------------- findings, vulnerabilities, manual decisions

_Sev = Annotated[str | None, typer.Option(help="critical, high, medium, low, info or unknown.")]
_Cwe = Annotated[str | None, typer.Option(help="CWE id, e.g. CWE-79.")]
_Finder = Annotated[str | None, typer.Option(help="Finder organisation: slug, name or id.")]
_Target = Annotated[str | None, typer.Option(help="Substring of the purl, repository or path.")]
_Kev = Annotated[bool | None, typer.Option("--kev/--no-kev", help="Only with (or without) a CVE in KEV.")]
_Limit = Annotated[int, typer.Option(help="At most this many rows (1-500).")]


def _finding_row(r: clusters_service.FindingRow) -> dict[str, Any]:
    f = r.finding
    return {
        "id": str(f.id),
        "vuln": str(f.cluster_id),
        "severity": f.severity,
        "title": (f.title or f.rule_id or "")[:70],
        "rule_id": f.rule_id,
        "cwe": ",".join(f.cwe_ids or []),
        "target": f.target_purl or f.target_repo or f.path or "",
        "line": f.start_line,
        "tool": f.tool_name or "",
        "model_id": f.model_id,
        "finder": r.finder,
        "found_at": f.found_at.isoformat(),
        "status": f.status or "",
        "kev": r.kev,
        "aliases": list(f.aliases or []),
    }


def _vuln_row(r: clusters_service.ClusterRow) -> dict[str, Any]:
    c = r.cluster
    return {
        "id": str(c.id),
        "title": (c.title or "")[:70],
        "severity": r.severity,
        "aliases": ",".join(c.aliases or []),
        "kev": ",".join(r.kev),
        "findings": r.findings,
        "finders": r.finders,
        "first_finder": r.first_finder or "",
        "first_found_at": c.first_found_at.isoformat() if c.first_found_at else "",
        "status": c.status,
    }


def _detail(d: clusters_service.ClusterDetail) -> dict[str, Any]:
    c = d.cluster
    return {
        "id": str(c.id),
        "title": c.title,
        "status": c.status,
        "severity": d.severity,
        "aliases": list(c.aliases or []),
        "kev": [k.cve_id for k in d.kev],
        "merged_into_id": str(c.merged_into_id) if c.merged_into_id else None,
        "credit": [
            {
                "org": x["org"],
                "found_at": x["found_at"].isoformat() if x["found_at"] else None,
                "first": x["first"],
            }
            for x in d.credit
        ],
        "findings": [_finding_row(r) for r in d.findings],
        "hidden_findings": d.hidden_findings,
        "history": [
            {
                "at": e.created_at.isoformat(),
                "kind": e.kind,
                "layer": e.layer,
                "layer_name": e.layer_name,
                "score": e.score,
                "reason": e.reason,
                "actor": e.actor,
                "other_vuln": str(e.other_cluster_id) if e.other_cluster_id else None,
                "finding": str(e.finding_id) if e.finding_id else None,
                "findings_moved": e.finding_ids,
            }
            for e in d.history
        ],
    }


def _print_detail(out: dict[str, Any]) -> None:
    typer.echo(f"{out['title']}  [{out['severity']}, {out['status']}]  {out['id']}")
    if out["aliases"]:
        typer.echo(f"  aliases: {', '.join(out['aliases'])}")
    if out["kev"]:
        typer.echo(f"  KEV: {', '.join(out['kev'])}")
    if out["merged_into_id"]:
        typer.echo(f"  merged into {out['merged_into_id']}")
    for c in out["credit"]:
        typer.echo(f"  {'first finder' if c['first'] else 'co-finder   '}  {c['org']}  {c['found_at']}")
    typer.echo(f"  findings: {len(out['findings'])} visible, {out['hidden_findings']} not visible to you")
    for f in out["findings"]:
        typer.echo(f"    {f['id']}  {f['severity']:8} {f['finder']:24} {f['title']}")
    typer.echo("  history:")
    for e in out["history"]:
        who = f" by {e['actor']}" if e["actor"] else ""
        typer.echo(
            f"    {e['at'][:19]}  layer {e['layer']} ({e['layer_name']}) {e['kind']}{who}: {e['reason']}"
        )


@findings_app.command("list")
def findings_list(
    q: Annotated[str | None, typer.Option(help="Text in title, message, rule or path.")] = None,
    target: _Target = None,
    severity: _Sev = None,
    cwe: _Cwe = None,
    finder: _Finder = None,
    status: Annotated[str | None, typer.Option(help="The finding's status (affected, fixed, ...).")] = None,
    kev: _Kev = None,
    tool: Annotated[str | None, typer.Option(help="Exact tool name.")] = None,
    vuln: Annotated[str | None, typer.Option(help="Only findings of this vulnerability (id).")] = None,
    sort: Annotated[str, typer.Option(help="found_at, severity, rule, tool or target.")] = "found_at",
    limit: _Limit = 50,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Findings you may see, newest first, with filters."""
    s = _settings()
    try:
        cluster_id = uuid.UUID(vuln) if vuln else None
    except ValueError:
        cli_support.fail(f"--vuln: not a vulnerability id: {vuln!r}", 2)
    with _unit(s) as (_rt, session):
        rows, _nxt, total = clusters_service.list_findings(
            session,
            _actor(session, as_email),
            clusters_service.FindingFilters(
                q=q,
                target=target,
                severity=severity,
                cwe=cwe,
                finder=finder,
                status=status,
                kev=kev,
                tool=tool,
                cluster_id=cluster_id,
                sort=sort,
                limit=limit,
            ),
        )
        out = [_finding_row(r) for r in rows]
    if as_json:
        typer.echo(json.dumps({"total": total, "items": out}, indent=2))
        return
    cli_support.table(out, ["severity", "title", "target", "tool", "finder", "found_at", "vuln"])
    typer.echo(f"{len(out)} of {total} matching")


@findings_app.command("vulns")
def findings_vulns(
    q: Annotated[str | None, typer.Option(help="Text in the title, or a CVE/GHSA/OSV id.")] = None,
    target: _Target = None,
    severity: _Sev = None,
    cwe: _Cwe = None,
    finder: _Finder = None,
    status: Annotated[
        str | None, typer.Option(help="new or merged (merged are left out by default).")
    ] = None,
    kev: _Kev = None,
    sort: Annotated[
        str, typer.Option(help="first_found_at, severity, findings, finders or title.")
    ] = "first_found_at",
    limit: _Limit = 50,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Vulnerabilities (deduplicated clusters of findings) you may see, with counts and credit."""
    s = _settings()
    with _unit(s) as (_rt, session):
        rows, _nxt, total = clusters_service.list_clusters(
            session,
            _actor(session, as_email),
            clusters_service.ClusterFilters(
                q=q,
                target=target,
                severity=severity,
                cwe=cwe,
                finder=finder,
                status=status,
                kev=kev,
                sort=sort,
                limit=limit,
            ),
        )
        out = [_vuln_row(r) for r in rows]
    if as_json:
        typer.echo(json.dumps({"total": total, "items": out}, indent=2))
        return
    cli_support.table(out, ["id", "severity", "title", "kev", "findings", "finders", "first_finder"])
    typer.echo(f"{len(out)} of {total} matching")


def _vuln_id(session: Any, principal: Any, ref: str, field: str) -> Any:
    return clusters_service.find_cluster(session, principal, ref, field_name=field)


@findings_app.command("vuln")
def findings_vuln(
    vuln: Annotated[str, typer.Argument(help="Vulnerability id, or a CVE/GHSA/OSV id it holds.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One vulnerability: credit (first finder, co-finders), findings, merge history, KEV."""
    s = _settings()
    with _unit(s) as (_rt, session):
        p = _actor(session, as_email)
        out = _detail(clusters_service.get_cluster(session, p, _vuln_id(session, p, vuln, "vuln")))
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        _print_detail(out)


@findings_app.command("merge")
def findings_merge(
    into: Annotated[str, typer.Argument(help="The vulnerability to keep (id, or a CVE/GHSA id it holds).")],
    source: Annotated[str, typer.Argument(help="The vulnerability to fold into it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the merge).")] = "",
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge one vulnerability into another by hand (analysts); recorded as layer 0 with who and why."""
    s = _settings()
    with _unit(s) as (_rt, session):
        p = _actor(session, as_email)
        target = clusters_service.merge_clusters(
            session, p, _vuln_id(session, p, into, "into"), _vuln_id(session, p, source, "source"), reason
        )
        out = _detail(clusters_service.get_cluster(session, p, target.id))
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        _print_detail(out)


@findings_app.command("split")
def findings_split(
    vuln: Annotated[str, typer.Argument(help="The vulnerability to split (id, or a CVE/GHSA id it holds).")],
    finding_ids: Annotated[list[str], typer.Argument(help="Ids of the findings to move out.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the split).")] = "",
    restore: Annotated[
        str | None, typer.Option(help="A vulnerability merged into this one: move the findings back (undo).")
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move findings out of a vulnerability by hand (analysts), into a new one or back to a merged one."""
    s = _settings()
    try:
        ids = [uuid.UUID(x) for x in finding_ids]
        restore_id = uuid.UUID(restore) if restore else None
    except ValueError as exc:
        cli_support.fail(f"not an id: {exc}", 2)
    with _unit(s) as (_rt, session):
        p = _actor(session, as_email)
        _src, dst = clusters_service.split_cluster(
            session, p, _vuln_id(session, p, vuln, "vuln"), ids, reason, restore_id=restore_id
        )
        out = _detail(clusters_service.get_cluster(session, p, dst.id))
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        _print_detail(out)
