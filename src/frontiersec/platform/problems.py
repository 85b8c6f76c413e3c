"""One error handler for the whole app: RFC 9457 problem+json for ``/api`` (and any
client that asks for JSON), an error page or an htmx toast for the web. A 500 shows no
internals."""

from __future__ import annotations

from html import escape
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontiersec.platform.errors import AuthenticationRequired, FieldError, FrontiersecError

__all__ = ["install_error_handlers", "problem_response"]

log = structlog.get_logger(__name__)
PROBLEM_TYPE_BASE = "https://frontiersec.invalid/problems/"


def _wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path.startswith("/.well-known/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Render one problem for the client that asked."""
    if _wants_json(request):
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + code,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.url.path,
            "code": code,
        }
        if errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
        if extra:
            body.update({k: v for k, v in extra.items() if k not in body})
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)
    if status == 401:
        nxt = request.url.path
        return RedirectResponse(f"/login?next={nxt}", status_code=303)
    templates: Any = getattr(request.app.state, "templates", None)
    if request.headers.get("hx-request") == "true":
        text = detail if not errors else "; ".join(f"{e.field}: {e.message}" for e in errors)
        html = f'<div class="toast toast-error" role="alert">{escape(title)}: {escape(text)}</div>'
        return HTMLResponse(
            html, status_code=status, headers={"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"}
        )
    if templates is None:
        return HTMLResponse(f"<h1>{escape(title)}</h1><p>{escape(detail)}</p>", status_code=status)
    rendered: Response = templates.render(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "errors": errors or []},
        status_code=status,
    )
    return rendered


def _loc_to_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error we know to one response shape."""

    @app.exception_handler(FrontiersecError)
    async def _frontiersec(request: Request, exc: FrontiersecError) -> Response:
        if isinstance(exc, AuthenticationRequired) or exc.status < 500:
            log.info("request.refused", path=request.url.path, status=exc.status, code=exc.code)
        else:
            log.error("request.error", path=request.url.path, code=exc.code)
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        malformed = False
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                malformed = True
                ctx = err.get("ctx") or {}
                errors.append(FieldError("body", f"malformed JSON: {ctx.get('error', 'cannot parse')}"))
                continue
            msg = err.get("msg", "invalid")
            if err.get("type") == "extra_forbidden":
                msg = "unknown field"
            errors.append(FieldError(_loc_to_field(tuple(err.get("loc", ()))), msg))
        if malformed:
            return problem_response(
                request,
                status=400,
                code="malformed-json",
                title="Malformed JSON",
                detail=errors[0].message,
                errors=errors,
            )
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem_response(
            request, status=422, code="invalid-input", title="Invalid input", detail=detail, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
        title = titles.get(exc.status_code, "HTTP error")
        code = title.lower().replace(" ", "-")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page: {request.url.path}"
        return problem_response(request, status=exc.status_code, code=code, title=title, detail=detail)

    @app.exception_handler(Exception)
    async def _crash(request: Request, _exc: Exception) -> Response:
        log.exception("request.crashed", path=request.url.path)
        return problem_response(
            request,
            status=500,
            code="internal-error",
            title="Internal error",
            detail="Something went wrong on our side; it has been logged.",
        )
