"""The OpenAPI document is exact: every API route declares the errors it can answer with."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute

from frontiersec.app import create_app
from frontiersec.settings import Settings


def test_every_api_route_declares_its_errors(tmp_path: Path, shared_data: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, demo_data=shared_data))
    missing = []
    for route in app.routes:
        if (
            not isinstance(route, APIRoute)
            or not route.path.startswith("/api/v1")
            or not route.include_in_schema
        ):
            continue
        declared = {str(k) for k in route.responses}
        if not {"401", "403", "422"} <= declared:
            missing.append(f"{sorted(route.methods)} {route.path}")
        assert route.description or route.endpoint.__doc__, f"{route.path} has no docstring"
    assert not missing, f"routes without declared errors: {missing}"
    spec = app.openapi()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/kev" in spec["paths"]
