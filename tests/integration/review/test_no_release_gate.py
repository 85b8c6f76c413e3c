"""The order allows no licensing, preclearance or permitting: nothing in frontiersec may approve,
block or delay a release. Every route of the app (all areas), its OpenAPI operations and schema
fields, and every CLI command are scanned for such a gate; and a whole review leaves the
developer's release date as it was submitted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from frontiersec.cli import app as cli_app
from frontiersec.platform.runtime import Runtime
from frontiersec.review import service
from frontiersec.review.models import ReviewSubmission
from tests.factories import bearer
from tests.integration.review.conftest import People, submit

VERBS = r"(approv|block|authori[sz]|permit|licen[cs]|preclear|clear|allow|deny|den(y|ied)|gate|hold|halt|stop|delay|veto|reject|sign[-_ ]?off)"
GATE = re.compile(
    rf"{VERBS}\w*[-_ /.]*(the[-_ ])?(model[-_ ])?release|release\w*([-_ /.]*\{{[^}}]*\}})?[-_ /.]*{VERBS}|release[-_]?(license|licence|permit|clearance|gate|blocked|approved|allowed)",
    re.IGNORECASE,
)


def _flat_routes(routes: list[Any]) -> Iterator[Any]:
    for r in routes:
        if hasattr(r, "effective_candidates"):  # FastAPI's included-router branch
            yield from _flat_routes(r.effective_candidates())
        else:
            yield r


def _names_in_schema(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            out.add(str(k))
            if k in ("title", "operationId", "summary") and isinstance(v, str):
                out.add(v)
            _names_in_schema(v, out)
    elif isinstance(node, list):
        for v in node:
            _names_in_schema(v, out)


def _commands(app: typer.Typer, prefix: str = "") -> set[str]:
    names = set()
    for cmd in app.registered_commands:
        name = cmd.name or (cmd.callback.__name__ if cmd.callback else "")
        names.add(f"{prefix}{name}")
        for p in getattr(cmd.callback, "__annotations__", {}):
            names.add(p)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            names |= _commands(group.typer_instance, f"{prefix}{group.name} ")
    return names


def test_the_pattern_catches_what_it_must() -> None:
    for bad in (
        "/api/v1/review/approve-release",
        "block_release",
        "release_approved",
        "releaseBlocked",
        "POST /release/{id}/approve",
        "authorize-model-release",
        "release_permit",
        "veto_release",
    ):
        assert GATE.search(bad), bad
    for fine in (
        "release_date",
        "/api/v1/review/submissions",
        "approve_export",
        "window_closes_at",
        "review.close_window",
        "revoke_grant",
        "findings/{id}/response",
    ):
        assert not GATE.search(fine), fine


def test_no_route_operation_field_or_command_approves_or_blocks_a_release(app: FastAPI) -> None:
    names: set[str] = set()
    for route in _flat_routes(list(app.routes)):
        for attr in ("path", "name", "operation_id", "summary"):
            value = getattr(route, attr, None)
            if isinstance(value, str):
                names.add(value)
        endpoint = getattr(route, "endpoint", None)
        if endpoint is not None:
            names.add(endpoint.__name__)
            names.update(getattr(endpoint, "__annotations__", {}))
    assert len([n for n in names if n.startswith("/api/v1/")]) > 20  # the scan sees every area
    _names_in_schema(app.openapi(), names)
    names |= _commands(cli_app)
    offending = sorted(n for n in names if GATE.search(n))
    assert offending == [], f"release gates found: {offending}"


def test_a_whole_review_leaves_the_release_date_as_submitted(
    client: TestClient, session: Session, rt: Runtime, people: People
) -> None:
    sid = submit(session, rt, people, days=9)
    sub = session.get(ReviewSubmission, sid)
    assert sub is not None
    release, closes = sub.release_date, sub.window_closes_at
    team, dev = bearer(session, people.evaluator), bearer(session, people.dev)
    session.commit()
    url = f"/api/v1/review/submissions/{sid}"
    report = {
        "summary": "High cyber capability.",
        "findings": [{"title": "t", "severity": "critical", "detail": "d"}],
    }
    assert client.post(f"{url}/report", json=report, headers=team).status_code == 201
    fid = client.get(url, headers=dev).json()["report"]["findings"][0]["id"]
    body = {"response": "disputed", "comment": "we disagree"}
    assert client.post(f"{url}/findings/{fid}/response", json=body, headers=dev).status_code == 200
    # Even a critical finding the developer disputes changes neither the date nor the deadline.
    assert client.get(url, headers=dev).json()["release_date"] == release.isoformat()
    service.close_window(session, sid, box=rt.box, now=closes)
    session.commit()
    session.expire_all()
    sub = session.get(ReviewSubmission, sid)
    assert sub is not None
    assert (sub.release_date, sub.window_closes_at, sub.status) == (release, closes, "closed")
    # No field of the API can carry a decision on the release.
    fields = set(client.get(url, headers=dev).json())
    assert not [f for f in fields if GATE.search(f) or f in ("approved", "blocked", "decision", "cleared")]
