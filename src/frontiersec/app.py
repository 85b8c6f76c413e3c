"""The ASGI application: ``create_app(settings)`` mounts every area's API and web routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.middleware.base import BaseHTTPMiddleware

import frontiersec
from frontiersec import dashboard, demo
from frontiersec.clearinghouse import api as clearinghouse_api
from frontiersec.clearinghouse import jobs as clearinghouse_jobs  # noqa: F401  (registers jobs)
from frontiersec.clearinghouse import web as clearinghouse_web
from frontiersec.designation import api as designation_api
from frontiersec.designation import jobs as designation_jobs  # noqa: F401
from frontiersec.designation import web as designation_web
from frontiersec.evals import api as evals_api
from frontiersec.evals import jobs as evals_jobs  # noqa: F401
from frontiersec.evals import web as evals_web
from frontiersec.partners import api as partners_api
from frontiersec.partners import jobs as partners_jobs  # noqa: F401
from frontiersec.partners import web as partners_web
from frontiersec.platform import api as platform_api
from frontiersec.platform import pages as platform_pages
from frontiersec.platform.db import session_scope
from frontiersec.platform.http import CSRF_COOKIE, BodyLimitMiddleware, csrf_cookie_kwargs, new_csrf_token
from frontiersec.platform.metrics import metrics_endpoint, metrics_middleware
from frontiersec.platform.problems import install_error_handlers
from frontiersec.platform.runtime import Runtime, build_runtime
from frontiersec.platform.signing import ensure_signing_key
from frontiersec.platform.web import PLATFORM_STATIC, Templates
from frontiersec.review import api as review_api
from frontiersec.review import jobs as review_jobs  # noqa: F401
from frontiersec.review import web as review_web
from frontiersec.settings import Settings

__all__ = ["create_app"]

log = structlog.get_logger(__name__)
ROOT = Path(frontiersec.__file__).parent
# (href, label, least role that may open it)
AREAS = ("clearinghouse", "evals", "review", "designation", "partners")
NAV = [
    ("/", "Dashboard", "viewer"),
    ("/vulns", "Vulnerabilities", "viewer"),
    ("/findings", "Findings", "viewer"),
    ("/kev", "KEV", "viewer"),
    ("/evals", "Evaluations", "viewer"),
    ("/review", "Review", "viewer"),
    ("/designation", "Designation", "viewer"),
    ("/partners", "Partners", "viewer"),
    ("/jobs", "Jobs", "viewer"),
    ("/orgs", "Organisations", "viewer"),
    ("/audit", "Audit", "admin"),
    ("/tokens", "Tokens", "viewer"),
    ("/webhooks", "Webhooks", "viewer"),
]


class _CsrfCookie(BaseHTTPMiddleware):
    """Give every browser a double-submit CSRF cookie; pages embed the same token in forms."""

    async def dispatch(self, request: Request, call_next):  # type: ignore[no-untyped-def]
        token = request.cookies.get(CSRF_COOKIE)
        fresh = token is None
        request.state.csrf_token = token or new_csrf_token()
        response: Response = await call_next(request)
        if fresh and not request.url.path.startswith(("/api/", "/static/", "/metrics", "/healthz")):
            secure = request.app.state.runtime.settings.secure_cookies
            response.set_cookie(CSRF_COOKIE, request.state.csrf_token, **csrf_cookie_kwargs(secure))
        return response


def create_app(
    settings: Settings, *, runtime: Runtime | None = None, start_consumer: bool = False
) -> FastAPI:
    """Build the app for ``settings`` (or an already built runtime, as tests do)."""
    rt = runtime or build_runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with session_scope(rt.sessions) as s:
            ensure_signing_key(s, rt.box)
        if start_consumer:
            requeued = rt.queue.requeue_interrupted()
            rt.queue.start_consumer(rt.settings.job_workers)
            log.info("jobs.consumer_started", workers=rt.settings.job_workers, requeued=requeued)
        try:
            yield
        finally:
            if start_consumer:
                rt.queue.stop_consumer()

    app = FastAPI(
        title="frontiersec",
        version=frontiersec.__version__,
        summary="The national AI-cyber program, end to end.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    templates = Templates([ROOT / "templates"] + [ROOT / area / "templates" for area in AREAS])
    templates.nav = NAV
    app.state.templates = templates
    app.state.demo_logins = demo.demo_logins

    install_error_handlers(app)
    app.add_middleware(_CsrfCookie)
    app.middleware("http")(metrics_middleware)
    app.add_middleware(
        BodyLimitMiddleware, max_json=settings.max_json_bytes, max_upload=settings.max_upload_bytes
    )

    app.mount("/static", StaticFiles(directory=str(PLATFORM_STATIC)), name="static")
    for router in (
        platform_api.router,
        platform_api.wellknown_router,
        clearinghouse_api.router,
        evals_api.router,
        review_api.router,
        designation_api.router,
        partners_api.router,
        platform_pages.router,
        clearinghouse_web.router,
        evals_web.router,
        review_web.router,
        designation_web.router,
        partners_web.router,
        dashboard.router,
    ):
        app.include_router(router)

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="frontiersec API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/app.css",
        )

    @app.get("/healthz", tags=["platform"])
    def healthz() -> JSONResponse:
        """Liveness and database reachability."""
        try:
            with rt.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": frontiersec.__version__})

    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    return app
