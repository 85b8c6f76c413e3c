"""``frontiersec findings``, ``frontiersec kb`` and ``frontiersec sbom``: clearinghouse commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from frontiersec.clearinghouse import findings as findings_service
from frontiersec.clearinghouse import kb
from frontiersec.platform import cli_support
from frontiersec.platform.auth import service as auth

__all__ = ["findings_app", "kb_app", "sbom_app"]

findings_app = typer.Typer(
    help="Findings: import scanner output, deduplicated across finders.", no_args_is_help=True
)
kb_app = typer.Typer(help="The vulnerability knowledge base (OSV advisories).", no_args_is_help=True)
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
    for w in r.warnings[:20]:
        typer.echo(f"  warning: {w}")
    if len(r.warnings) > 20:
        typer.echo(f"  ... {len(r.warnings) - 20} more warnings")
