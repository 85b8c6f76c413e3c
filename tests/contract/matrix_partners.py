"""Authorization-matrix rows for the partners area (see ``matrix_common``).

A separate AI developer (not a matrix principal) nominates a bank (not a matrix principal either)
as trusted partner, naming organisation A as the co-deciding agency. So organisation A is the
agency side: all its members read; members vet; analysts and admins approve, decline and revoke;
nobody of A may issue a grant (the developer's), accept terms, report usage or import findings
(the partner's), or play the developer's gateway (403). Organisation B takes no part: 404. The
platform operator reads everything and decides nothing (403 on writes).

Every government agency may nominate (organisation B and the operator's organisation too), naming
the developer since the model has no review submission; viewers may not (403).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from frontiersec.partners import service
from frontiersec.partners.models import PartnerGrant
from frontiersec.partners.rules import CHECKLIST
from frontiersec.platform.auth.models import Organization
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.signing import ensure_signing_key
from tests.contract.matrix_common import (
    ADMIN_A,
    ADMIN_B,
    ANALYST_A,
    CSRF,
    MEMBER_A,
    MEMBER_B,
    OPERATOR,
    ORG_A,
    Row,
    SeedContext,
    next_n,
    only,
    signed_in,
)
from tests.factories import make_org, make_user, principal_of

MODEL = "matrix-partner-model"
_W: dict[str, Any] = {}


def _parties(ctx: SeedContext) -> tuple[Principal, Principal, Organization, Organization]:
    """(developer, partner) principals and their organisations, created once per matrix world."""
    if _W.get("rt") is not ctx.rt:
        lab = make_org(ctx.session, kind="ai_developer")
        bank = make_org(ctx.session, kind="critical_infrastructure_operator")
        bank.sector = "banking"
        _W.update(
            rt=ctx.rt,
            lab=lab,
            bank=bank,
            dev=make_user(ctx.session, lab, role="admin"),
            partner=make_user(ctx.session, bank, role="member"),
        )
        ensure_signing_key(ctx.session, ctx.rt.box)
    return (
        principal_of(ctx.session, _W["dev"]),
        principal_of(ctx.session, _W["partner"]),
        _W["lab"],
        _W["bank"],
    )


def _nomination(ctx: SeedContext) -> uuid.UUID:
    dev, _partner, _lab, bank = _parties(ctx)
    nom = service.nominate(
        ctx.session,
        dev,
        service.NominationInput(
            partner=bank.slug,
            model_name=MODEL,
            model_version=f"v{next_n()}",
            purpose="matrix",
            agency=ctx.org_a.slug,
        ),
    )
    return nom.id


def _grant(ctx: SeedContext) -> uuid.UUID:
    dev, partner, _lab, _bank = _parties(ctx)
    nid = _nomination(ctx)
    agency = ctx.principals[ANALYST_A]
    for item in CHECKLIST:
        service.check_item(ctx.session, agency, nid, item.key)
    service.approve(ctx.session, dev, nid)
    service.approve(ctx.session, agency, nid)
    g = service.issue_grant(
        ctx.session,
        dev,
        nid,
        service.GrantInput(ends_at=utcnow() + dt.timedelta(days=30), usage_cap=1_000_000),
        box=ctx.rt.box,
    )
    service.accept_terms(ctx.session, partner, g.id, terms_sha256=g.terms_sha256)
    return g.id


def seed(ctx: SeedContext) -> dict[str, str]:
    gid = _grant(ctx)
    grant = ctx.session.get(PartnerGrant, gid)
    assert grant is not None
    return {
        "nomination_id": str(grant.nomination_id),
        "grant_id": str(gid),
        "item_key": CHECKLIST[0].key,
    }


FRESH: dict[str, Callable[[SeedContext], str]] = {
    "nomination": lambda ctx: str(_nomination(ctx)),
    "grant": lambda ctx: str(_grant(ctx)),
}


def _form(**fields: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {**fields, "csrf_token": CSRF}


def _nominate_fields() -> dict[str, Any]:
    return {
        "partner": _W["bank"].slug,
        "developer": _W["lab"].slug,
        "model_name": MODEL,
        "model_version": f"n{next_n()}",
        "purpose": "matrix nomination",
    }


def _grant_body() -> dict[str, Any]:
    return {"ends_at": (utcnow() + dt.timedelta(days=30)).isoformat(), "usage_cap": 10}


def _grant_form() -> dict[str, Any]:
    return {
        "ends_at": (utcnow() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "usage_cap": "10",
        "csrf_token": CSRF,
    }


def _usage_form() -> dict[str, Any]:
    today = utcnow().date().isoformat()
    return {"count": "1", "period_start": today, "period_end": today, "csrf_token": CSRF}


AGENCIES = {MEMBER_A, ANALYST_A, ADMIN_A, MEMBER_B, ADMIN_B, OPERATOR}
READ = only(ORG_A | {OPERATOR}, 200, 404)  # org A (the agency side) and the operator read; B: 404
DECIDE_API = only({ANALYST_A, ADMIN_A}, 200, 404, viewer_a=403, member_a=403, operator=403)
DECIDE_WEB = only({ANALYST_A, ADMIN_A}, 303, 404, viewer_a=403, member_a=403, operator=403)
VET_API = only({MEMBER_A, ANALYST_A, ADMIN_A}, 200, 404, viewer_a=403, operator=403)
VET_WEB = only({MEMBER_A, ANALYST_A, ADMIN_A}, 303, 404, viewer_a=403, operator=403)
NOT_YOURS = only(ORG_A | {OPERATOR}, 403, 404)  # the developer's or the partner's act
N = "/api/v1/partners/nominations"
G = "/api/v1/partners/grants"

ROWS: list[Row] = [
    # --- API
    Row("GET", N, signed_in(200)),
    Row("POST", N, only(AGENCIES, 201, 403), json=_nominate_fields),
    Row("GET", N + "/{nomination_id}", READ),
    Row("POST", N + "/{fresh_nomination_id}/approve", DECIDE_API, json=lambda: {"note": "ok"}),
    Row("POST", N + "/{fresh_nomination_id}/decline", DECIDE_API, json=lambda: {"reason": "no"}),
    Row("POST", N + "/{fresh_nomination_id}/checklist/{item_key}", VET_API, json=lambda: {"done": True}),
    Row("POST", N + "/{nomination_id}/grants", NOT_YOURS, json=_grant_body),
    Row("GET", G, signed_in(200)),
    Row("GET", G + "/{grant_id}", READ),
    Row("GET", G + "/{grant_id}/signed", READ),
    Row("POST", G + "/{grant_id}/accept", NOT_YOURS, json=lambda: {"terms_sha256": "0" * 64}),
    Row(
        "POST",
        G + "/{grant_id}/usage",
        NOT_YOURS,
        json=lambda: {
            "count": 1,
            "period_start": utcnow().date().isoformat(),
            "period_end": utcnow().date().isoformat(),
        },
    ),
    Row("GET", G + "/{grant_id}/usage", READ),
    Row("POST", G + "/{grant_id}/check", NOT_YOURS, json=lambda: {"units": 1}),
    Row("POST", G + "/{fresh_grant_id}/revoke", DECIDE_API, json=lambda: {"reason": "matrix"}),
    Row("POST", G + "/{grant_id}/findings", NOT_YOURS, form=lambda: {"format": "auto"}),
    Row("GET", "/api/v1/partners/sectors", signed_in(200)),
    # --- web
    Row("GET", "/partners", signed_in(200)),
    Row(
        "POST",
        "/partners",
        only(AGENCIES, 303, 403),
        form=lambda: {**_nominate_fields(), "csrf_token": CSRF},
    ),
    Row("GET", "/partners/{nomination_id}", READ),
    Row("POST", "/partners/{fresh_nomination_id}/approve", DECIDE_WEB, form=_form()),
    Row("POST", "/partners/{fresh_nomination_id}/decline", DECIDE_WEB, form=_form(reason="no")),
    Row("POST", "/partners/{fresh_nomination_id}/checklist/{item_key}", VET_WEB, form=_form(done="1")),
    Row("POST", "/partners/{nomination_id}/grants", NOT_YOURS, form=_grant_form),
    Row("POST", "/partners/grants/{grant_id}/accept", NOT_YOURS, form=_form(terms_sha256="0" * 64)),
    Row("POST", "/partners/grants/{grant_id}/usage", NOT_YOURS, form=_usage_form),
    Row("POST", "/partners/grants/{fresh_grant_id}/revoke", DECIDE_WEB, form=_form(reason="matrix")),
    Row("GET", "/partners/grants/{grant_id}/signed", READ),
]
