"""`frontiersec partners ...`: trusted partners from the command line (``--as EMAIL`` acts for a person).

Exit codes: 0 done (``check`` also exits 0 when access is denied: read ``decision``); 2 bad input
(e.g. a grant starting before the review window closes, with the field at fault); 1 refused or not
found.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from frontiersec.partners import service
from frontiersec.partners.api import detail_read, grant_read, row_read
from frontiersec.platform import cli_support
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.signing import jwks

__all__ = ["app"]

app = typer.Typer(
    help="Trusted partners: nominations, joint approval, vetting, signed access grants, usage, revocation.",
    no_args_is_help=True,
)

JsonOpt = cli_support.JsonOpt
AsOpt = cli_support.AsOpt


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        cli_support.fail(f"{field}: not an id: {value!r}", 2)


def _when(value: str | None, field: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        cli_support.fail(
            f"{field}: {value!r} is not a date or date-time (ISO 8601, e.g. 2026-07-01T00:00Z)", 2
        )
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _out(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def _detail_text(d: dict[str, Any]) -> str:
    lines = [
        f"{d['partner']} for {d['model_name']} {d['model_version']}: {d['status']}",
        f"  nomination {d['id']}  (you are: {d['your_side']})",
        f"  developer {d['developer']}: {d['developer_decision'] or 'not decided'}",
        f"  agency    {d['agency']}: {d['agency_decision'] or 'not decided'}",
    ]
    if d["checklist"]:
        done = sum(1 for i in d["checklist"] if i["done"])
        lines.append(f"  checklist {done}/{len(d['checklist'])} done")
    for g in d["grants"]:
        lines.append(
            f"  grant {g['id']}: {g['status_text']} ({g['used']}/{g['usage_cap']} {g['usage_unit']})"
        )
    return "\n".join(lines)


def _grant_text(g: dict[str, Any]) -> str:
    return (
        f"grant {g['id']}: {g['status_text']}\n"
        f"  {g['partner']} · {g['model_name']} {g['model_version']} · {g['access_level']}\n"
        f"  {g['starts_at']} → {g['ends_at']} · {g['used']}/{g['usage_cap']} {g['usage_unit']}\n"
        f"  terms {g['terms']['version']} sha256 {g['terms']['sha256']}"
    )


def _nomination(session: Any, principal: Any, nom_id: uuid.UUID) -> dict[str, Any]:
    return detail_read(service.get_nomination(session, principal, nom_id)).model_dump(mode="json")


def _grant(session: Any, principal: Any, grant_id: uuid.UUID) -> dict[str, Any]:
    v = service.get_grant(session, principal, grant_id)
    return grant_read(v, service.people_labels(session, {v.grant.accepted_by})).model_dump(mode="json")


@app.command("nominate")
def nominate(
    partner: Annotated[str, typer.Option("--partner", help="The nominated organisation (slug, name or id).")],
    model: Annotated[str, typer.Option("--model", help="Model name.")],
    version: Annotated[str, typer.Option("--version", help="Model version.")],
    purpose: Annotated[str, typer.Option("--purpose", help="What the partner will use the model for.")],
    agency: Annotated[
        str | None,
        typer.Option("--agency", help="Co-deciding agency (required when the developer nominates)."),
    ] = None,
    developer: Annotated[
        str | None,
        typer.Option("--developer", help="The model's developer (an agency nominating, no review)."),
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Nominate an organisation as trusted partner for a model version (developer or agency)."""
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        nom = service.nominate(
            session,
            principal,
            service.NominationInput(
                partner=partner,
                model_name=model,
                model_version=version,
                purpose=purpose,
                agency=agency,
                developer=developer,
            ),
        )
        d = _nomination(session, principal, nom.id)
    _out(d, as_json, _detail_text(d))


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="pending, approved or declined.")] = None,
    grants: Annotated[bool, typer.Option("--grants", help="List grants instead of nominations.")] = False,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Nominations (or, with --grants, grants) you take part in."""
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        if grants:
            views = service.list_grants(session, principal)
            people = service.people_labels(session, {v.grant.accepted_by for v in views})
            rows = [grant_read(v, people).model_dump(mode="json") for v in views]
            cols = ["id", "partner", "model_name", "model_version", "status", "used", "usage_cap", "ends_at"]
        else:
            rows = [
                row_read(r).model_dump(mode="json")
                for r in service.list_nominations(session, principal, status=status)
            ]
            cols = [
                "id",
                "partner",
                "partner_sector",
                "model_name",
                "model_version",
                "status",
                "developer_decision",
                "agency_decision",
            ]
    cli_support.emit(rows, cols, as_json)


@app.command("show")
def show(
    nomination_id: Annotated[str, typer.Argument(help="Nomination id.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One nomination: decisions, checklist, grants."""
    nid = _uuid(nomination_id, "NOMINATION_ID")
    with cli_support.unit() as (_rt, session):
        d = _nomination(session, cli_support.actor(session, as_email), nid)
    _out(d, as_json, _detail_text(d))


@app.command("approve")
def approve(
    nomination_id: Annotated[str, typer.Argument(help="Nomination id.")],
    note: Annotated[str | None, typer.Option("--note", help="Optional note kept with the decision.")] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve for your side (developer or agency); each side once."""
    nid = _uuid(nomination_id, "NOMINATION_ID")
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        service.approve(session, principal, nid, note=note)
        d = _nomination(session, principal, nid)
    _out(d, as_json, _detail_text(d))


@app.command("decline")
def decline(
    nomination_id: Annotated[str, typer.Argument(help="Nomination id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")] = "",
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decline for your side, with a reason."""
    nid = _uuid(nomination_id, "NOMINATION_ID")
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        service.decline(session, principal, nid, reason=reason)
        d = _nomination(session, principal, nid)
    _out(d, as_json, _detail_text(d))


@app.command("checklist")
def checklist(
    nomination_id: Annotated[str, typer.Argument(help="Nomination id.")],
    key: Annotated[str | None, typer.Argument(help="The check to mark (omit to list the checklist).")] = None,
    undo: Annotated[bool, typer.Option("--undo", help="Mark the check not done.")] = False,
    note: Annotated[str, typer.Option("--note", help="What was checked and how.")] = "",
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the vetting checklist, or mark one check done (developer or agency side)."""
    nid = _uuid(nomination_id, "NOMINATION_ID")
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        if key is not None:
            service.check_item(session, principal, nid, key, done=not undo, note=note)
        items = _nomination(session, principal, nid)["checklist"]
    cli_support.emit(items, ["key", "done", "required", "checked_by", "checked_at", "label"], as_json)


@app.command("grant")
def grant(
    nomination_id: Annotated[str, typer.Argument(help="Nomination id (approved).")],
    ends: Annotated[str, typer.Option("--ends", help="When access ends (ISO 8601; UTC without an offset).")],
    cap: Annotated[int, typer.Option("--cap", help="Usage cap (number of calls or tokens).")],
    starts: Annotated[
        str | None,
        typer.Option("--starts", help="When access starts (default: now, or the review window's end)."),
    ] = None,
    unit: Annotated[str, typer.Option("--unit", help="calls or tokens.")] = "calls",
    access: Annotated[str, typer.Option("--access", help="black-box, grey-box or white-box.")] = "black-box",
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Default: the nomination's purpose.")
    ] = None,
    waive_window: Annotated[
        bool, typer.Option("--waive-review-window", help="Let access start before the review window closes.")
    ] = False,
    waiver_reason: Annotated[
        str | None, typer.Option("--waiver-reason", help="Why (required with a waiver).")
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a signed access grant to an approved partner (the developer)."""
    nid = _uuid(nomination_id, "NOMINATION_ID")
    ends_at = _when(ends, "--ends")
    assert ends_at is not None
    with cli_support.unit() as (rt, session):
        principal = cli_support.actor(session, as_email)
        g = service.issue_grant(
            session,
            principal,
            nid,
            service.GrantInput(
                ends_at=ends_at,
                usage_cap=cap,
                starts_at=_when(starts, "--starts"),
                usage_unit=unit,
                access_level=access,
                purpose=purpose,
                waive_review_window=waive_window,
                waiver_reason=waiver_reason,
            ),
            box=rt.box,
        )
        out = _grant(session, principal, g.id)
    _out(out, as_json, _grant_text(out))


@app.command("accept")
def accept(
    grant_id: Annotated[str, typer.Argument(help="Grant id.")],
    terms_sha256: Annotated[
        str | None,
        typer.Option("--terms-sha256", help="SHA-256 of the terms you accept (printed by `show-grant`)."),
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Accept a grant's terms for the partner (the grant activates at its start)."""
    gid = _uuid(grant_id, "GRANT_ID")
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        if terms_sha256 is None:
            raise InvalidInput.on("terms_sha256", "read the terms (`show-grant`) and pass --terms-sha256")
        service.accept_terms(session, principal, gid, terms_sha256=terms_sha256)
        out = _grant(session, principal, gid)
    _out(out, as_json, _grant_text(out))


@app.command("show-grant")
def show_grant(
    grant_id: Annotated[str, typer.Argument(help="Grant id.")],
    signed: Annotated[bool, typer.Option("--signed", help="Print the signed grant document.")] = False,
    terms: Annotated[bool, typer.Option("--terms", help="Print the terms text too.")] = False,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One grant (or, with --signed, the signed document to verify offline)."""
    gid = _uuid(grant_id, "GRANT_ID")
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        if signed:
            doc = service.signed_grant(session, principal, gid)
        else:
            out = _grant(session, principal, gid)
    if signed:
        typer.echo(json.dumps(doc, indent=2))
        return
    text = _grant_text(out) + ("\n\n" + out["terms"]["text"] if terms else "")
    _out(out, as_json, text)


@app.command("usage")
def usage(
    grant_id: Annotated[str, typer.Argument(help="Grant id.")],
    count: Annotated[int, typer.Option("--count", help="Units used in the period.")],
    period: Annotated[str, typer.Option("--period", help="YYYY-MM-DD/YYYY-MM-DD (or one day YYYY-MM-DD).")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report usage for a period (the partner)."""
    gid = _uuid(grant_id, "GRANT_ID")
    first, _, last = period.partition("/")
    try:
        start = dt.date.fromisoformat(first)
        end = dt.date.fromisoformat(last or first)
    except ValueError:
        cli_support.fail(f"--period: {period!r} is not YYYY-MM-DD/YYYY-MM-DD", 2)
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        u = service.report_usage(session, principal, gid, count=count, period_start=start, period_end=end)
        out = _grant(session, principal, gid)
    row = {
        "usage_id": str(u.id),
        "units": u.units,
        "used": out["used"],
        "cap": out["usage_cap"],
        "unit": out["usage_unit"],
    }
    _out(row, as_json, f"recorded {u.units} {out['usage_unit']}: {out['used']}/{out['usage_cap']} used")


@app.command("check")
def check(
    grant_id: Annotated[str, typer.Argument(help="Grant id.")],
    units: Annotated[int, typer.Option("--units", help="Units about to be served (0 only asks).")] = 1,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask, as the developer's gateway would, whether the partner may be served now."""
    gid = _uuid(grant_id, "GRANT_ID")
    with cli_support.unit() as (_rt, session):
        r = service.check_grant(session, cli_support.actor(session, as_email), gid, units=units)
    row = {
        "grant_id": str(r.grant_id),
        "allowed": r.allowed,
        "decision": "allowed" if r.allowed else "denied",
        "code": r.code,
        "reason": r.reason,
        "status": r.status,
        "used": r.used,
        "cap": r.cap,
        "unit": r.unit,
    }
    _out(row, as_json, f"{row['decision']}: {r.reason}")


@app.command("revoke")
def revoke(
    grant_id: Annotated[str, typer.Argument(help="Grant id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")] = "",
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a grant at once, with a reason (developer or agency)."""
    gid = _uuid(grant_id, "GRANT_ID")
    with cli_support.unit() as (_rt, session):
        principal = cli_support.actor(session, as_email)
        service.revoke_grant(session, principal, gid, reason=reason)
        out = _grant(session, principal, gid)
    _out(out, as_json, _grant_text(out))


@app.command("findings")
def findings(
    grant_id: Annotated[str, typer.Argument(help="Grant id (active).")],
    file: Annotated[Path, typer.Argument(help="SARIF, OSV, CycloneDX (VEX) or CSAF file.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, sarif, osv, cyclonedx, spdx or csaf.")] = "auto",
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import findings made with the model into the clearinghouse, the model as their provenance."""
    gid = _uuid(grant_id, "GRANT_ID")
    if not file.is_file():
        cli_support.fail(f"FILE: no file {file}", 2)
    s = cli_support.load_settings()
    with cli_support.unit(s) as (_rt, session):
        principal = cli_support.actor(session, as_email)
        r = service.import_partner_findings(session, principal, gid, file, fmt=fmt, schemas_dir=s.schemas_dir)
        g = service.get_grant(session, principal, gid).grant
    row = {
        "batch_id": str(r.batch_id),
        "model_id": f"{g.model_name}@{g.model_version}",
        "format": r.format,
        "received": r.received,
        "new": r.new,
        "duplicates": r.duplicates,
        "rejected": r.rejected,
    }
    _out(row, as_json, f"imported {r.new} new findings ({r.duplicates} duplicates) as {row['model_id']}")


@app.command("sectors")
def sectors(as_email: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Approved trusted partners and active grants by sector."""
    with cli_support.unit() as (_rt, session):
        rows = [c.__dict__ for c in service.sector_counts(session, cli_support.actor(session, as_email))]
    cli_support.emit(rows, ["label", "partners", "active_grants"], as_json)


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A signed grant (`show-grant ID --signed`).")],
    keys: Annotated[
        Path | None, typer.Option("--keys", help="JWK set (a saved /.well-known/frontiersec-keys.json).")
    ] = None,
) -> None:
    """Verify a signed access grant offline: exit 0 when the signature checks out, 1 otherwise."""
    try:
        document = json.loads(file.read_text())
        keyset = json.loads(keys.read_text()) if keys else None
    except (OSError, ValueError) as exc:
        cli_support.fail(f"cannot read: {exc}", 2)
    if keyset is None:
        with cli_support.unit() as (_rt, session):
            keyset = jwks(session)
    try:
        payload = service.verify_grant(document, keyset)
    except InvalidInput as exc:
        cli_support.fail(f"NOT VALID: {exc.detail}", 1)
    typer.echo(
        f"valid: grant {payload['grant_id']} of {payload['model']['name']} {payload['model']['version']} "
        f"to {payload['partner']['name']}, {payload['starts_at']} → {payload['ends_at']}"
    )
