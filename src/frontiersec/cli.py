"""The ``frontiersec`` command line. Commands that act for a person take ``--as EMAIL``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, TypeVar

import typer

from frontiersec.clearinghouse.cli import findings_app, kb_app, sbom_app
from frontiersec.designation.cli import app as designation_app
from frontiersec.evals.cli import app as evals_app
from frontiersec.partners.cli import app as partners_app
from frontiersec.platform import cli_support
from frontiersec.platform.audit import service as audit
from frontiersec.platform.auth import service as auth
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.runtime import build_runtime
from frontiersec.review.cli import app as review_app
from frontiersec.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    help="frontiersec: the national AI-cyber program, end to end.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
users_app = typer.Typer(help="Users.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="Ed25519 signing keys.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (demo_app, "demo"),
    (users_app, "users"),
    (tokens_app, "tokens"),
    (orgs_app, "orgs"),
    (audit_app, "audit"),
    (keys_app, "keys"),
    (findings_app, "findings"),
    (kb_app, "kb"),
    (sbom_app, "sbom"),
):
    app.add_typer(sub, name=name)
app.add_typer(evals_app, name="evals")
app.add_typer(review_app, name="review")
app.add_typer(designation_app, name="designation")
app.add_typer(partners_app, name="partners")

T = TypeVar("T")
JsonOpt = cli_support.JsonOpt
AsOpt = cli_support.AsOpt
_settings = cli_support.load_settings
_fail = cli_support.fail
_unit = cli_support.unit
_actor = cli_support.actor
_emit = cli_support.emit


def _upgrade(settings: Settings) -> None:
    from frontiersec.platform.migrate import upgrade

    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (SQLite or PostgreSQL)."""
    s = _settings()
    _upgrade(s)
    typer.echo(f"database at head: {s.resolved_database_url.split('@')[-1]}")


@demo_app.command("load")
def demo_load(as_json: JsonOpt = False) -> None:
    """Create demo organisations and users, and load the real KEV catalog."""
    from frontiersec.demo import load_demo

    s = _settings()
    _upgrade(s)
    with _unit(s) as (rt, session):
        result = load_demo(session, s, rt.box)
    typer.echo(
        json.dumps(result, indent=2, default=str)
        if as_json
        else f"demo loaded: {result['users_created']} users created, KEV {result['kev']['catalog_version']} "
        f"({result['kev']['total']} entries, {result['kev']['added']} new)"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_demo: Annotated[
        bool, typer.Option("--no-demo", help="Do not load demo data into an empty database.")
    ] = False,
) -> None:
    """Migrate, load the demo into an empty database, and serve the web app, API and job consumers."""
    import uvicorn

    from frontiersec.app import create_app
    from frontiersec.demo import demo_logins, has_users, load_demo

    s = _settings()
    _upgrade(s)
    with _unit(s) as (rt, session):
        if not no_demo and not has_users(session):
            typer.echo(
                f"empty database: loading demo data (real KEV catalog from {s.demo_data / 'cisa-kev'}) ...",
                err=True,
            )
            load_demo(session, s, rt.box)
        demo = demo_logins(session)
    application = create_app(s, start_consumer=s.run_consumer_in_serve and not s.redis_url)
    typer.echo(
        f"\nfrontiersec is running at http://{host}:{port}/  (API docs: http://{host}:{port}/api/v1/docs)"
    )
    if demo:
        typer.echo(f"demo logins (password: {demo['demo_password']}):")
        for email, what in demo["demo_logins"]:
            typer.echo(f"  {email:32s} {what}")
    typer.echo("")
    uvicorn.run(application, host=host, port=port, log_level=s.log_level, proxy_headers=True)


@app.command()
def worker(workers: Annotated[int, typer.Option(help="Consumer threads.")] = 2) -> None:
    """Run job consumers (use with FRONTIERSEC_REDIS_URL, on as many machines as needed)."""
    import frontiersec.app  # noqa: F401  (importing the app registers every area's jobs)

    s = _settings()
    rt = build_runtime(s)
    if not s.redis_url:
        typer.echo("note: FRONTIERSEC_REDIS_URL is not set; consuming the local SQLite queue", err=True)
    rt.queue.run_consumer_forever(workers)


@orgs_app.command("list")
def orgs_list(as_json: JsonOpt = False) -> None:
    """List organisations."""
    with _unit() as (_rt, s):
        rows = [
            {"id": str(o.id), "slug": o.slug, "name": o.name, "kind": o.kind, "sector": o.sector or ""}
            for o in auth.list_orgs(s, SYSTEM)
        ]
    _emit(rows, ["slug", "name", "kind", "sector", "id"], as_json)


@orgs_app.command("create")
def orgs_create(
    name: Annotated[str, typer.Argument(help="Display name.")],
    kind: Annotated[
        str,
        typer.Option(
            help="government_agency, ai_developer, security_vendor, "
            "critical_infrastructure_operator, maintainer, researcher."
        ),
    ],
    sector: Annotated[str | None, typer.Option(help="Sector, e.g. banking.")] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an organisation."""
    with _unit() as (_rt, s):
        org = auth.create_org(s, _actor(s, as_email), name=name, kind=kind, sector=sector)
        row = {"id": str(org.id), "slug": org.slug, "name": org.name, "kind": org.kind}
    typer.echo(json.dumps(row) if as_json else f"created {org.name} ({org.slug}, {org.id})")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="Login email.")],
    org: Annotated[str, typer.Option(help="Organisation slug, name or id.")],
    role: Annotated[str, typer.Option(help="admin, analyst, member or viewer.")] = "member",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str | None, typer.Option(help="Password (12+ characters); prompted if omitted.")
    ] = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="API-only account.")] = False,
    operator: Annotated[bool, typer.Option("--operator", help="Make a platform operator.")] = False,
    as_email: AsOpt = None,
) -> None:
    """Create a user in an organisation."""
    if password is None and not no_password:
        if not sys.stdin.isatty():
            _fail("give --password or --no-password (no terminal to prompt on)", 2)
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _unit() as (_rt, s):
        o = auth.find_org(s, org)
        u = auth.create_user(
            s,
            _actor(s, as_email),
            email=email,
            display_name=name,
            password=password,
            org_id=o.id,
            role=role,
            is_operator=operator,
        )
    typer.echo(f"created {u.email} ({role} of {o.name})")


@users_app.command("list")
def users_list(
    org: Annotated[str, typer.Option(help="Organisation slug, name or id.")], as_json: JsonOpt = False
) -> None:
    """List the users of an organisation."""
    with _unit() as (_rt, s):
        o = auth.find_org(s, org)
        rows = [
            {"email": u.email, "name": u.display_name, "role": m.role, "active": u.is_active}
            for u, m in auth.list_members(s, SYSTEM, o.id)
        ]
    _emit(rows, ["email", "name", "role", "active"], as_json)


@tokens_app.command("create")
def tokens_create(
    as_email: Annotated[str, typer.Option("--as", help="The user the token belongs to.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="read, write, admin (repeat).")] = None,
    days: Annotated[int, typer.Option(help="Lifetime in days.")] = 90,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token; its secret is printed once."""
    with _unit() as (_rt, s):
        tok, raw = auth.create_token(
            s, _actor(s, as_email), name=name, scopes=scope or ["read"], expires_in_days=days
        )
        row = {
            "id": str(tok.id),
            "name": tok.name,
            "scopes": tok.scopes,
            "expires_at": tok.expires_at.isoformat(),
            "token": raw,
        }
    typer.echo(
        json.dumps(row)
        if as_json
        else f"{raw}\n(token {tok.id}; shown once, expires {tok.expires_at:%Y-%m-%d})"
    )


@tokens_app.command("list")
def tokens_list(
    as_email: Annotated[str, typer.Option("--as", help="Whose tokens.")], as_json: JsonOpt = False
) -> None:
    """List a user's tokens (never their secrets)."""
    with _unit() as (_rt, s):
        rows = [
            {
                "id": str(t.id),
                "name": t.name,
                "prefix": t.prefix,
                "scopes": ",".join(t.scopes),
                "expires_at": t.expires_at.date().isoformat(),
                "revoked": bool(t.revoked_at),
            }
            for t in auth.list_tokens(s, _actor(s, as_email))
        ]
    _emit(rows, ["id", "name", "prefix", "scopes", "expires_at", "revoked"], as_json)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id.")],
    as_email: Annotated[str, typer.Option("--as", help="The token's user.")],
) -> None:
    """Revoke a token; the next call with it is refused."""
    import uuid

    try:
        tid = uuid.UUID(token_id)
    except ValueError:
        _fail(f"{token_id!r} is not a token id", 2)
        return
    with _unit() as (_rt, s):
        auth.revoke_token(s, _actor(s, as_email), tid)
    typer.echo(f"revoked {token_id}")


@audit_app.command("verify")
def audit_verify(as_json: JsonOpt = False) -> None:
    """Recompute the whole hash chain; exit 1 naming the first broken entry."""
    with _unit() as (_rt, s):
        r = audit.verify_chain(s)
    if as_json:
        typer.echo(json.dumps(r.__dict__))
    elif r.ok:
        typer.echo(f"audit chain intact: {r.checked} entries verified")
    else:
        typer.echo(
            f"audit chain BROKEN at entry {r.first_broken_seq}: {r.reason} "
            f"({r.checked} entries verified before it)",
            err=True,
        )
    if not r.ok:
        raise typer.Exit(1)


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """List signing keys (public halves)."""
    from frontiersec.platform.signing import jwks

    with _unit() as (_rt, s):
        rows = [
            {"kid": k["kid"], "status": k["status"], "created": k["created"], "x": k["x"]}
            for k in jwks(s)["keys"]
        ]
    _emit(rows, ["kid", "status", "created", "x"], as_json)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Retire the active signing key and create a new one (old keys stay published)."""
    from frontiersec.platform.signing import rotate_key

    with _unit() as (rt, s):
        new = rotate_key(s, rt.box, SYSTEM)
    typer.echo(f"new signing key {new.kid}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv)
