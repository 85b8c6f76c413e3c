"""Server-rendered pages: Jinja2 templates from every area, htmx, no build step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.http import csrf_token_for

__all__ = ["PLATFORM_STATIC", "Templates", "humanize_delta", "templates"]

PLATFORM_TEMPLATES = Path(__file__).parent / "templates"
PLATFORM_STATIC = Path(__file__).parent / "static"


def humanize_delta(when: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'3 days ago' / 'in 5 hours' style text."""
    if when is None:
        return "—"
    now = now or dt.datetime.now(dt.UTC)
    secs = (when - now).total_seconds()
    future = secs > 0
    secs = abs(secs)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if secs >= size:
            n = int(secs // size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


class Templates:
    """A Jinja2 environment over the platform's and each area's template folders."""

    def __init__(self, extra_dirs: Sequence[Path] = ()) -> None:
        loaders = [FileSystemLoader(str(PLATFORM_TEMPLATES))] + [FileSystemLoader(str(d)) for d in extra_dirs]
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["ago"] = humanize_delta
        self.env.filters["date"] = lambda d: d.strftime("%Y-%m-%d") if d else "—"
        self.env.filters["datetime"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else "—"
        self.nav: list[tuple[str, str, str]] = []

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """Render a page with the common context (principal, CSRF token, navigation)."""
        principal: Principal | None = getattr(request.state, "principal", None)
        ctx = {
            "request": request,
            "principal": principal,
            "csrf_token": csrf_token_for(request),
            "nav": [
                (href, label)
                for href, label, role in self.nav
                if principal is not None and principal.has_role(Role(role))
            ],
            "path": request.url.path,
            "is_htmx": request.headers.get("hx-request") == "true",
        }
        ctx.update(context or {})
        html = self.env.get_template(name).render(ctx)
        return HTMLResponse(html, status_code=status_code, headers=headers)


def templates(request: Request) -> Templates:
    """The app's :class:`Templates` (set by ``create_app``)."""
    tpl: Templates = request.app.state.templates
    return tpl
