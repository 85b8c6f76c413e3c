"""Request plumbing shared by every router: the unit of work, who is asking, CSRF, body limits."""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.service import principal_from_token, principal_from_web_session
from frontiersec.platform.errors import AuthenticationRequired, PayloadTooLarge, PermissionDenied
from frontiersec.platform.runtime import Runtime

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "ApiPrincipal",
    "BodyLimitMiddleware",
    "DbSession",
    "WebPrincipal",
    "client_ip",
    "csrf_token_for",
    "get_runtime",
    "responses",
    "verify_csrf",
]

SESSION_COOKIE = "fs_session"
CSRF_COOKIE = "fs_csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_runtime(request: Request) -> Runtime:
    """The deployment's runtime (set by ``create_app``)."""
    rt: Runtime = request.app.state.runtime
    return rt


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    rt = get_runtime(request)
    session = rt.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def client_ip(request: Request) -> str | None:
    """The peer address (a proxy in front is expected to be configured in uvicorn)."""
    return request.client.host if request.client else None


def csrf_token_for(request: Request) -> str:
    """The double-submit CSRF token of this browser (cookie set by the middleware)."""
    token: str = getattr(request.state, "csrf_token", "")
    return token


def verify_csrf(request: Request, submitted: str | None) -> None:
    """Refuse an unsafe browser request whose token does not match the CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise PermissionDenied("missing or wrong CSRF token: reload the page and try again", code_hint="csrf")


def _api_principal(request: Request, session: DbSession) -> Principal:
    ip = client_ip(request)
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, raw = auth.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationRequired("use 'Authorization: Bearer <token>'")
        principal = principal_from_token(session, raw.strip(), ip=ip)
        required = "read" if request.method not in UNSAFE else "write"
        principal.require_scope(required)
        return principal
    raw_cookie = request.cookies.get(SESSION_COOKIE)
    if raw_cookie:
        principal_or_none = principal_from_web_session(session, raw_cookie, ip=ip)
        if principal_or_none is not None:
            if request.method in UNSAFE:
                verify_csrf(request, request.headers.get("x-csrf-token"))
            return principal_or_none
    raise AuthenticationRequired("sign in or send an API token")


ApiPrincipal = Annotated[Principal, Depends(_api_principal)]


async def _web_principal(request: Request, session: DbSession) -> Principal:
    raw_cookie = request.cookies.get(SESSION_COOKIE)
    principal = principal_from_web_session(session, raw_cookie, ip=client_ip(request)) if raw_cookie else None
    if principal is None:
        raise AuthenticationRequired("please sign in")
    if request.method in UNSAFE:
        submitted = request.headers.get("x-csrf-token")
        if submitted is None:
            form = await request.form()
            value = form.get("csrf_token")
            submitted = value if isinstance(value, str) else None
        verify_csrf(request, submitted)
    request.state.principal = principal
    return principal


WebPrincipal = Annotated[Principal, Depends(_web_principal)]


class BodyLimitMiddleware:
    """Refuse bodies over the limit (JSON and uploads separately), even when chunked."""

    def __init__(self, app: ASGIApp, *, max_json: int, max_upload: int) -> None:
        self.app = app
        self.max_json = max_json
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        ctype = headers.get("content-type", "")
        limit = self.max_upload if ctype.startswith("multipart/") else self.max_json
        if "application/x-www-form-urlencoded" in ctype:
            limit = self.max_json
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(f"request body exceeds {limit} bytes", errors=[], limit_bytes=limit)
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "type": "https://frontiersec.invalid/problems/payload-too-large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"request body exceeds the limit of {limit} bytes",
                "instance": scope.get("path", ""),
                "code": "payload-too-large",
                "errors": [{"field": "body", "message": f"larger than {limit} bytes"}],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def new_csrf_token() -> str:
    """A fresh random CSRF token."""
    return secrets.token_urlsafe(24)


def csrf_cookie_kwargs(secure: bool) -> dict[str, Any]:
    """Cookie attributes for the CSRF cookie."""
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": "/"}


_DESCRIPTIONS = {
    400: "Malformed request (problem+json)",
    401: "Not signed in, or the token is unknown, expired or revoked (problem+json)",
    403: "Forbidden: role, scope or CSRF (problem+json)",
    404: "Not found, or not visible to you (problem+json)",
    409: "Conflict with an existing record (problem+json)",
    412: "Precondition failed: a deadline has passed or a step waits for another (problem+json)",
    413: "Body too large (problem+json)",
    422: "Invalid input; `errors` names each field (problem+json)",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: the errors it can answer with, for an exact OpenAPI."""
    return {c: {"description": _DESCRIPTIONS[c]} for c in (401, 403, 422, *codes)}
