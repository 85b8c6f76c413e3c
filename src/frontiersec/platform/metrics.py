"""Prometheus metrics served at ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

__all__ = ["metrics_endpoint", "metrics_middleware"]

REQUESTS = Counter("frontiersec_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("frontiersec_http_request_seconds", "HTTP request latency", ["method", "route"])


async def metrics_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Count requests and time them by route template (not raw path, to bound cardinality)."""
    start = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    name = getattr(route, "path", "unmatched")
    LATENCY.labels(request.method, name).observe(time.perf_counter() - start)
    REQUESTS.labels(request.method, name, str(response.status_code)).inc()
    return response


def metrics_endpoint() -> Response:
    """The Prometheus exposition."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
