"""Authorization-matrix rows for the designation area (see ``matrix_common``).

Organisation A plays the developer whose model is determined; the admin of organisation B (a
government agency) is the designation official; the operator reads everything but issues and
decides nothing; the transparency page, published commitments and verification are public.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from frontiersec.designation import service
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.signing import ensure_signing_key
from tests.contract.matrix_common import (
    ADMIN_A,
    ADMIN_B,
    ANALYST_A,
    CSRF,
    MEMBER_A,
    OPERATOR,
    OWNERS_A,
    Row,
    SeedContext,
    everyone,
    next_n,
    only,
    signed_in,
)
from tests.factories import make_user

POLICY = resources.files("frontiersec.designation").joinpath("policies", "cyber-2026.1.yaml").read_text()
OFFICIAL = ADMIN_B
SEES_DETERMINATION = OWNERS_A | {OFFICIAL}
DEVELOPER_ASKS = {MEMBER_A, ANALYST_A, ADMIN_A}
REASON = "Please reconsider: the declared compute was mis-entered."
_SEEDED: dict[str, str] = {}  # ids the web forms need (forms are not formatted with ids)


def _policy_yaml() -> str:
    return POLICY.replace('version: "2026.1"', f'version: "m{next_n()}"')


def _determination(ctx: SeedContext) -> str:
    det = service.issue_determination(
        ctx.session,
        ctx.principals[OFFICIAL],
        ctx.rt.box,
        model_name="matrix-model",
        model_version=f"v{next_n()}",
        policy_version="2026.1",
        developer_org_id=ctx.org_a.id,
        training_compute_flop=1e25,
    )
    return str(det.id)


def _reconsideration(ctx: SeedContext) -> str:
    import uuid

    det_id = _determination(ctx)
    rec = service.request_reconsideration(
        ctx.session,
        ctx.principals[MEMBER_A],
        uuid.UUID(det_id),
        reason=REASON,
        request_days=30,
        decision_days=30,
    )
    return str(rec.id)


def _official_user(ctx: SeedContext) -> str:
    user = make_user(ctx.session, ctx.org_b, role="member")
    service.grant_official(ctx.session, SYSTEM, user.email)
    return str(user.id)


def _agency_user_email(ctx: SeedContext) -> str:
    return make_user(ctx.session, ctx.org_b, role="member").email


def seed(ctx: SeedContext) -> dict[str, str]:
    ensure_signing_key(ctx.session, ctx.rt.box)  # the app's start would create it; seeds run first
    service.grant_official(ctx.session, SYSTEM, ctx.users[OFFICIAL].email)
    from frontiersec.platform.auth.service import principal_for_email

    # Re-read the official's principal (the group membership is checked per request anyway).
    ctx.principals[OFFICIAL] = principal_for_email(ctx.session, ctx.users[OFFICIAL].email, via="session")
    service.add_policy(ctx.session, ctx.principals[OFFICIAL], ctx.rt.box, POLICY)
    _SEEDED["org_id"] = str(ctx.org_a.id)
    return {
        "policy_version": "2026.1",
        "determination_id": _determination(ctx),
        "reconsideration_id": _reconsideration(ctx),
    }


FRESH: dict[str, Callable[[SeedContext], str]] = {
    "determination": _determination,
    "reconsideration": _reconsideration,
    "official_user": _official_user,
    "agency_user_email": _agency_user_email,
}


def _form(**fields: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {**fields, "csrf_token": CSRF}


ASK = only(DEVELOPER_ASKS, 201, 404, viewer_a=403, admin_b=403, operator=403)
DECIDE_API = only({OFFICIAL}, 200, 403, member_b=404)
DECIDE_WEB = only({OFFICIAL}, 303, 403, member_b=404)

ROWS: list[Row] = [
    # --- public
    Row("GET", "/api/v1/designation/policies/published", everyone(200)),
    Row("GET", "/api/v1/designation/transparency", everyone(200)),
    Row("POST", "/api/v1/designation/verify", everyone(200), json=lambda: {"payload": {}, "signature": {}}),
    Row("GET", "/transparency", everyone(200)),
    # --- API: officials group
    Row("GET", "/api/v1/designation/officials", only({OFFICIAL, OPERATOR}, 200, 403)),
    Row(
        "POST",
        "/api/v1/designation/officials",
        only({OPERATOR}, 201, 403),
        json=lambda: {"email": "{fresh_agency_user_email}"},
    ),
    Row("DELETE", "/api/v1/designation/officials/{fresh_official_user_id}", only({OPERATOR}, 204, 403)),
    # --- API: policies (confidential: officials and operators read; officials publish)
    Row("GET", "/api/v1/designation/policies", only({OFFICIAL, OPERATOR}, 200, 403)),
    Row(
        "POST",
        "/api/v1/designation/policies",
        only({OFFICIAL}, 201, 403),
        json=lambda: {"yaml": _policy_yaml()},
    ),
    Row("GET", "/api/v1/designation/policies/{policy_version}", only({OFFICIAL, OPERATOR}, 200, 404)),
    # --- API: determinations and notices (the developer organisation A and officials)
    Row("GET", "/api/v1/designation/determinations", signed_in(200)),
    Row(
        "POST",
        "/api/v1/designation/determinations",
        only({OFFICIAL}, 201, 403),
        json=lambda: {
            "model": "matrix-model",
            "version": f"api{next_n()}",
            "policy": "2026.1",
            "developer_org_id": "{org_id}",
            "training_compute_flop": 1e25,
        },
    ),
    Row("GET", "/api/v1/designation/determinations/{determination_id}", only(SEES_DETERMINATION, 200, 404)),
    Row(
        "GET",
        "/api/v1/designation/determinations/{determination_id}/signed",
        only(SEES_DETERMINATION, 200, 404),
    ),
    Row(
        "GET",
        "/api/v1/designation/determinations/{determination_id}/notice",
        only(SEES_DETERMINATION, 200, 404),
    ),
    Row("GET", "/api/v1/designation/notices", signed_in(200)),
    Row("POST", "/api/v1/designation/reevaluations", only({OFFICIAL}, 202, 403)),
    # --- API: reconsideration
    Row(
        "POST",
        "/api/v1/designation/determinations/{fresh_determination_id}/reconsiderations",
        ASK,
        json=lambda: {"reason": REASON},
    ),
    Row("GET", "/api/v1/designation/reconsiderations", signed_in(200)),
    Row(
        "GET", "/api/v1/designation/reconsiderations/{reconsideration_id}", only(SEES_DETERMINATION, 200, 404)
    ),
    Row("POST", "/api/v1/designation/reconsiderations/{fresh_reconsideration_id}/review", DECIDE_API),
    Row(
        "POST",
        "/api/v1/designation/reconsiderations/{fresh_reconsideration_id}/decision",
        DECIDE_API,
        json=lambda: {"outcome": "upheld", "rationale": "Applied as published."},
    ),
    # --- web
    Row("GET", "/designation", signed_in(200)),
    Row(
        "POST",
        "/designation/determine",
        only({OFFICIAL}, 303, 403),
        form=lambda: {
            "model": "matrix-model",
            "version": f"web{next_n()}",
            "policy": "2026.1",
            "developer": _SEEDED["org_id"],
            "training_compute_flop": "1e25",
            "csrf_token": CSRF,
        },
    ),
    Row("POST", "/designation/reevaluate", only({OFFICIAL}, 303, 403), form=_form()),
    Row("GET", "/designation/policies", only({OFFICIAL, OPERATOR}, 200, 403)),
    Row(
        "POST",
        "/designation/policies",
        only({OFFICIAL}, 303, 403),
        form=lambda: {"document": _policy_yaml(), "csrf_token": CSRF},
    ),
    Row("GET", "/designation/policies/{policy_version}", only({OFFICIAL, OPERATOR}, 200, 404)),
    Row("GET", "/designation/{determination_id}", only(SEES_DETERMINATION, 200, 404)),
    Row("GET", "/designation/{determination_id}/signed.json", only(SEES_DETERMINATION, 200, 404)),
    Row(
        "POST",
        "/designation/{fresh_determination_id}/reconsider",
        only(DEVELOPER_ASKS, 303, 404, viewer_a=403, admin_b=403, operator=403),
        form=_form(reason=REASON),
    ),
    Row("POST", "/designation/reconsiderations/{fresh_reconsideration_id}/review", DECIDE_WEB, form=_form()),
    Row(
        "POST",
        "/designation/reconsiderations/{fresh_reconsideration_id}/decide",
        DECIDE_WEB,
        form=_form(outcome="upheld", rationale="Applied as published."),
    ),
]
