"""What every ``frontiersec`` sub-command shares: settings, one transaction per command, the
``--as EMAIL`` actor, ``--json`` output, and domain errors turned into a message and an exit code.

Exit codes: 0 success; 1 refused (not found, forbidden, conflict); 2 bad input (422/413).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from frontiersec.platform.auth import service as auth
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import FrontiersecError
from frontiersec.platform.logging import configure_logging
from frontiersec.platform.runtime import Runtime, build_runtime
from frontiersec.settings import Settings

__all__ = ["AsOpt", "JsonOpt", "actor", "emit", "fail", "load_settings", "table", "unit"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AsOpt = Annotated[str | None, typer.Option("--as", help="Act as this user (audited as them).")]


def load_settings() -> Settings:
    s = Settings()
    configure_logging(s.log_level, s.log_format)
    return s


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def error_exit(exc: FrontiersecError) -> NoReturn:
    """Print a domain error (with the fields at fault) and exit 2 for bad input, 1 otherwise."""
    detail = exc.detail
    if exc.errors and all(e.field not in detail for e in exc.errors):
        detail += " (" + "; ".join(f"{e.field}: {e.message}" for e in exc.errors) + ")"
    fail(detail, 2 if exc.status in (413, 422) else 1)


@contextmanager
def unit(settings: Settings | None = None) -> Iterator[tuple[Runtime, Session]]:
    """A runtime and one committed transaction; a domain error rolls back, prints, and exits non-zero."""
    rt = build_runtime(settings or load_settings())
    try:
        with session_scope(rt.sessions) as s:
            yield rt, s
    except FrontiersecError as exc:
        error_exit(exc)
    finally:
        rt.engine.dispose()


def actor(s: Session, as_email: str | None) -> Principal:
    """The person a command acts for (``--as EMAIL``), or the system operator when none is given."""
    return auth.principal_for_email(s, as_email) if as_email else SYSTEM


def table(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> None:
    if not rows:
        typer.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    typer.echo("  ".join(c.upper().ljust(widths[c]) for c in cols))
    for r in rows:
        typer.echo("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols))


def emit(rows: list[dict[str, Any]], cols: Sequence[str], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
    else:
        table(rows, cols)
