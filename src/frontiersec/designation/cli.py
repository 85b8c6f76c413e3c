"""`frontiersec designation ...` commands: policies, determinations, verification, reconsideration."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import rfc8785
import typer
from sqlalchemy.orm import Session

from frontiersec.designation import service
from frontiersec.platform import cli_support
from frontiersec.platform.auth import service as auth
from frontiersec.platform.signing import jwks

app = typer.Typer(
    help="Designation of covered frontier models: policies, signed determinations, reconsideration.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="Designation policy versions (confidential; commitments are public).", no_args_is_help=True
)
officials_app = typer.Typer(help="The designation officials group.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(officials_app, name="officials")

JsonOpt = cli_support.JsonOpt
AsOpt = cli_support.AsOpt
IdArg = Annotated[str, typer.Argument(help="Determination id (UUID).")]


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        cli_support.fail(f"{what}: {value!r} is not a UUID", 2)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        cli_support.fail(f"cannot read {path}: {exc}", 2)


def _det_row(view: service.DeterminationView, request_days: int) -> dict[str, Any]:
    r = view.row
    clock = service.reconsideration_clock(r, request_days)
    return {
        "id": str(r.id),
        "model": r.model_name,
        "version": r.model_version,
        "developer": view.developer,
        "result": r.result,
        "basis": r.basis,
        "status": r.status,
        "policy": r.policy_version,
        "policy_commitment": r.policy_commitment,
        "issued_at": r.issued_at.isoformat(),
        "reevaluation_due": r.reevaluation_reason,
        "reconsideration_deadline": clock["deadline"].isoformat(),
        "reconsideration_open": clock["open"],
        "criteria": view.criteria,
        "evidence": r.evidence,
    }


# --------------------------------------------------------------------------- officials


@officials_app.command("add")
def officials_add(email: Annotated[str, typer.Argument(help="User to add.")], as_email: AsOpt = None) -> None:
    """Add a government-agency user to the designation officials group (operators)."""
    with cli_support.unit() as (_rt, s):
        service.grant_official(s, cli_support.actor(s, as_email), email)
    typer.echo(f"{email} is a designation official")


@officials_app.command("remove")
def officials_remove(
    email: Annotated[str, typer.Argument(help="User to remove.")], as_email: AsOpt = None
) -> None:
    """Remove a user from the designation officials group (operators)."""
    with cli_support.unit() as (_rt, s):
        user = auth.principal_for_email(s, email)
        assert user.user_id is not None
        service.revoke_official(s, cli_support.actor(s, as_email), user.user_id)
    typer.echo(f"{email} is no longer a designation official")


@officials_app.command("list")
def officials_list(as_email: AsOpt = None, as_json: JsonOpt = False) -> None:
    """List designation officials."""
    with cli_support.unit() as (_rt, s):
        rows = service.list_officials(s, cli_support.actor(s, as_email))
    cli_support.emit(
        [{**r, "user_id": str(r["user_id"])} for r in rows], ["email", "display_name", "granted_at"], as_json
    )


# --------------------------------------------------------------------------- policies


@policy_app.command("add")
def policy_add(
    file: Annotated[Path, typer.Argument(help="Policy YAML (schema frontiersec/designation-policy@1).")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate, encrypt and publish a new policy version (designation officials)."""
    text = _read(file)
    with cli_support.unit() as (rt, s):
        row = service.add_policy(s, cli_support.actor(s, as_email), rt.box, text)
        out = {"id": str(row.id), "version": row.version, "title": row.title, "commitment": row.commitment}
    typer.echo(
        json.dumps(out, indent=2)
        if as_json
        else f"policy {out['version']} published, commitment {out['commitment']}"
    )


@policy_app.command("list")
def policy_list(as_email: AsOpt = None, as_json: JsonOpt = False) -> None:
    """List policy versions (designation officials and operators; audited)."""
    with cli_support.unit() as (_rt, s):
        rows = [
            {
                "version": p.version,
                "title": p.title,
                "effective": p.effective,
                "commitment": p.commitment,
                "confidential_thresholds": p.confidential_thresholds,
                "published_at": p.created_at.isoformat(),
            }
            for p in service.list_policies(s, cli_support.actor(s, as_email))
        ]
    cli_support.emit(rows, ["version", "effective", "commitment", "title"], as_json)


@policy_app.command("show")
def policy_show(
    version: Annotated[str, typer.Argument(help="Policy version.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a policy version's document (designation officials and operators; audited)."""
    with cli_support.unit() as (rt, s):
        view = service.get_policy(s, cli_support.actor(s, as_email), rt.box, version)
        out = {"version": view.row.version, "commitment": view.row.commitment, "document": view.document}
        text = view.yaml_text
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(f"# policy {out['version']} · commitment {out['commitment']}")
        typer.echo(text)


@policy_app.command("published")
def policy_published(as_json: JsonOpt = False) -> None:
    """Print every version's public commitment and summary (save it for offline verification)."""
    with cli_support.unit() as (_rt, s):
        rows = [
            {
                "version": p.version,
                "title": p.title,
                "effective": p.effective,
                "commitment": p.commitment,
                "published_at": p.created_at.isoformat(),
                "summary": p.summary,
            }
            for p in service.published_policies(s)
        ]
    cli_support.emit(rows, ["version", "effective", "commitment", "title"], as_json)


# --------------------------------------------------------------------------- determinations


@app.command("determine")
def determine(
    model: Annotated[str, typer.Option("--model", help="Model name.")],
    version: Annotated[str, typer.Option("--version", help="Model version.")],
    policy: Annotated[str, typer.Option("--policy", help="Policy version to apply.")],
    developer: Annotated[
        str | None,
        typer.Option(
            "--developer", help="Developer organisation (slug or name) when no submission names it."
        ),
    ] = None,
    compute_flop: Annotated[
        float | None, typer.Option("--compute-flop", help="Declared training compute (FLOP).")
    ] = None,
    params: Annotated[int | None, typer.Option("--params", help="Declared parameter count.")] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply a policy version to a model version's evidence and issue a signed determination."""
    settings = cli_support.load_settings()
    with cli_support.unit(settings) as (rt, s):
        principal = cli_support.actor(s, as_email)
        dev_id = auth.find_org(s, developer).id if developer else None
        row = service.issue_determination(
            s,
            principal,
            rt.box,
            model_name=model,
            model_version=version,
            policy_version=policy,
            developer_org_id=dev_id,
            training_compute_flop=compute_flop,
            parameter_count=params,
        )
        out = _det_row(
            service.get_determination(s, principal, rt.box, row.id), settings.reconsideration_request_days
        )
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
    else:
        typer.echo(f"determination {out['id']}: {model} {version} → {out['result']} (policy {policy})")
        for c in out["criteria"]:
            typer.echo(f"  {c['label']:40} {c['status']:8} {c['reason']}")


@app.command("list")
def list_determinations(as_email: AsOpt = None, as_json: JsonOpt = False) -> None:
    """List determinations you may see (developers: their own)."""
    settings = cli_support.load_settings()
    with cli_support.unit(settings) as (rt, s):
        principal = cli_support.actor(s, as_email)
        rows = service.list_determinations(s, principal)
        out = [
            _det_row(v, settings.reconsideration_request_days)
            for v in service.determination_views(s, principal, rt.box, rows)
        ]
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
    else:
        cli_support.table(
            out, ["id", "model", "version", "developer", "result", "policy", "status", "issued_at"]
        )


@app.command("show")
def show(
    determination_id: IdArg,
    signed: Annotated[
        bool, typer.Option("--signed", help="Print the signed document (RFC 8785 canonical JSON).")
    ] = False,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one determination, or with --signed its signed document for offline verification."""
    settings = cli_support.load_settings()
    det_id = _uuid(determination_id, "determination")
    with cli_support.unit(settings) as (rt, s):
        principal = cli_support.actor(s, as_email)
        view = service.get_determination(s, principal, rt.box, det_id)
        document = dict(view.row.document)
        out = _det_row(view, settings.reconsideration_request_days)
        notice = service.notice_of(s, det_id)
        headline = notice.headline if notice else ""
    if signed:
        typer.echo(rfc8785.dumps(document).decode())
        return
    if as_json:
        typer.echo(json.dumps({**out, "notice": headline}, indent=2, default=str))
        return
    typer.echo(headline)
    typer.echo(f"result {out['result']} · policy {out['policy']} (commitment {out['policy_commitment']})")
    typer.echo(f"issued {out['issued_at']} · reconsideration until {out['reconsideration_deadline']}")
    for c in out["criteria"]:
        iv = f"[{c['low']:.3f}, {c['high']:.3f}]" if c.get("low") is not None else ""
        measured = "" if c.get("measured") is None else f"{c['measured']:.4g}"
        typer.echo(f"  {c['label']:40} {measured:>10} {iv:18} {c['status']:8} {c['reason']}")


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        cli_support.fail(f"cannot read {what} {path}: {exc.strerror}", 2)
    except (UnicodeDecodeError, ValueError) as exc:
        cli_support.fail(f"invalid: {what} {path} is not valid JSON ({exc})", 1 if what == "document" else 2)


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="Signed determination (from `show --signed` or the API).")],
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys",
            help="JWK set (a saved /.well-known/frontiersec-keys.json). Default: this deployment's keys.",
        ),
    ] = None,
    policies: Annotated[
        Path | None,
        typer.Option(
            "--policies",
            help="Published commitments (saved /api/v1/designation/policies/published). Default: this deployment's.",
        ),
    ] = None,
) -> None:
    """Verify a signed determination offline: the Ed25519 signature against the published keys,
    and the cited policy commitment against the published commitment of that version.
    Exit 0 when both check out, 1 otherwise (the reason is printed)."""
    document = _load_json(file, "document")
    keyset: Any = _load_json(keys, "key set") if keys else None
    published_list: Any = _load_json(policies, "published policies") if policies else None
    if keyset is None or published_list is None:
        with cli_support.unit() as (_rt, s):
            keyset = keyset if keyset is not None else jwks(s)
            published_list = published_list if published_list is not None else _published(s)
    if isinstance(keyset, list):  # `frontiersec keys list --json`
        keyset = {"keys": keyset}
    if not isinstance(keyset, dict):
        cli_support.fail("--keys: not a JWK set", 2)
    try:
        published = {str(p["version"]): str(p["commitment"]) for p in published_list}
    except (TypeError, KeyError):
        cli_support.fail("--policies: expected a list of {version, commitment}", 2)
    report = service.verify_signed_determination(document, keyset, published)
    if not report.ok:
        cli_support.fail(f"invalid: {report.reason}", 1)
    typer.echo(
        f"valid: determination {report.determination_id} ({report.result}) signed by key {report.kid}; "
        f"policy {report.policy_version} commitment {report.commitment} matches the published one"
    )


def _published(s: Session) -> list[dict[str, str]]:
    return [{"version": p.version, "commitment": p.commitment} for p in service.published_policies(s)]


# --------------------------------------------------------------------------- reconsideration


def _recon_out(r: Any) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "determination_id": str(r.determination_id),
        "status": r.status,
        "requested_at": r.requested_at.isoformat(),
        "request_deadline": r.request_deadline.isoformat(),
        "decision_due": r.decision_due.isoformat(),
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "decision_rationale": r.decision_rationale,
        "new_determination_id": str(r.new_determination_id) if r.new_determination_id else None,
    }


@app.command("reconsider")
def reconsider(
    determination_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Arguments for reconsideration (10+ characters).")],
    compute_flop: Annotated[
        float | None, typer.Option("--compute-flop", help="Corrected declared compute.")
    ] = None,
    params: Annotated[
        int | None, typer.Option("--params", help="Corrected declared parameter count.")
    ] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Request reconsideration of a determination (the developer, within the request period)."""
    settings = cli_support.load_settings()
    det_id = _uuid(determination_id, "determination")
    with cli_support.unit(settings) as (_rt, s):
        row = service.request_reconsideration(
            s,
            cli_support.actor(s, as_email),
            det_id,
            reason=reason,
            request_days=settings.reconsideration_request_days,
            decision_days=settings.reconsideration_decision_days,
            training_compute_flop=compute_flop,
            parameter_count=params,
        )
        out = _recon_out(row)
    typer.echo(
        json.dumps(out, indent=2)
        if as_json
        else f"reconsideration {out['id']} requested; decision due {out['decision_due']}"
    )


@app.command("review")
def review(
    reconsideration_id: Annotated[str, typer.Argument(help="Reconsideration id.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take up a reconsideration request (designation officials)."""
    rid = _uuid(reconsideration_id, "reconsideration")
    with cli_support.unit() as (_rt, s):
        out = _recon_out(service.start_review(s, cli_support.actor(s, as_email), rid))
    typer.echo(json.dumps(out, indent=2) if as_json else f"reconsideration {rid} is under review")


@app.command("decide")
def decide(
    reconsideration_id: Annotated[str, typer.Argument(help="Reconsideration id (or the determination id).")],
    outcome: Annotated[str, typer.Option("--outcome", help="upheld, reversed or modified.")],
    rationale: Annotated[
        str, typer.Option("--rationale", help="Reasons given to the developer (10+ characters).")
    ],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide a reconsideration (designation officials). Given a determination id, decides its
    open request."""
    rid = _uuid(reconsideration_id, "reconsideration")
    with cli_support.unit() as (rt, s):
        principal = cli_support.actor(s, as_email)
        rid = service.open_reconsideration_for(s, principal, rid)
        row = service.decide_reconsideration(s, principal, rt.box, rid, outcome=outcome, rationale=rationale)
        out = _recon_out(row)
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        extra = f"; new determination {out['new_determination_id']}" if out["new_determination_id"] else ""
        typer.echo(f"reconsideration {out['id']} {out['status']}{extra}")


@app.command("reconsiderations")
def reconsiderations(as_email: AsOpt = None, as_json: JsonOpt = False) -> None:
    """List reconsiderations you may see, with their clocks."""
    with cli_support.unit() as (_rt, s):
        out = [_recon_out(r) for r in service.list_reconsiderations(s, cli_support.actor(s, as_email))]
    cli_support.emit(
        out, ["id", "determination_id", "status", "requested_at", "decision_due", "decided_at"], as_json
    )


@app.command("reevaluate")
def reevaluate(as_email: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Re-run every determination marked re-evaluation due (new policy or model version)."""
    with cli_support.unit() as (rt, s):
        rows = service.reevaluate_due(s, cli_support.actor(s, as_email), rt.box)
        out = [
            {
                "id": str(r.id),
                "model": r.model_name,
                "version": r.model_version,
                "policy": r.policy_version,
                "result": r.result,
                "supersedes": str(r.supersedes_id),
            }
            for r in rows
        ]
    cli_support.emit(out, ["id", "model", "version", "policy", "result", "supersedes"], as_json)


@app.command("transparency")
def transparency(as_json: JsonOpt = False) -> None:
    """Print the public transparency figures."""
    with cli_support.unit() as (_rt, s):
        data = service.transparency(s)
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    d, r = data["determinations"], data["reconsiderations"]
    typer.echo(f"determinations issued: {d['issued']} {d['by_result']}")
    typer.echo(f"reconsiderations: {r['requested']} {r['by_status']}")
    typer.echo(f"median days: {data['median_days']}")
    for p in data["policies"]:
        typer.echo(f"policy {p['version']}: {p['commitment']}")
