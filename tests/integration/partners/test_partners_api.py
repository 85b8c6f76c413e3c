"""Trusted partners through the API: two-party approval, the vetting checklist, grant window rules,
terms before activation, the gateway's access check, revocation, findings with the model as their
provenance, and what other organisations get (404)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse.models import Finding, ImportBatch
from frontiersec.partners.models import PartnerGrant, PartnerNomination, PartnerUsage
from frontiersec.partners.rules import CHECKLIST
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.audit.service import verify_chain
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.runtime import Runtime
from frontiersec.platform.signing import jwks, verify_document
from tests.factories import bearer
from tests.integration.partners.conftest import MODEL, World, active_grant, approved, nominate, submit_model

P = "/api/v1/partners"


def _h(session: Session, user: Any) -> dict[str, str]:
    h = bearer(session, user)
    session.commit()
    return h


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


def _fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def _nominate(client: TestClient, h: dict[str, str], w: World, **over: Any) -> Any:
    body = {
        "partner": w.bank.slug,
        "model_name": MODEL,
        "model_version": "2.0",
        "purpose": "Find and fix vulnerabilities in online banking",
        "agency": w.agency.slug,
        **over,
    }
    return client.post(f"{P}/nominations", json=body, headers=h)


# --------------------------------------------------------------------------- approval


def test_two_party_approval_each_side_once(client: TestClient, session: Session, world: World) -> None:
    w = world
    dev, officer, member = _h(session, w.dev), _h(session, w.officer), _h(session, w.agency_member)
    r = _nominate(client, dev, w)
    assert r.status_code == 201, r.text
    nom = r.json()
    nid = nom["id"]
    assert nom["status"] == "pending"
    assert nom["your_side"] == "developer"
    assert [i["key"] for i in nom["checklist"]] == [c.key for c in CHECKLIST]
    assert nom["partner_sector"] == "banks"

    # The developer approves; approving again is a 409 naming the side, and changes nothing.
    r = client.post(f"{P}/nominations/{nid}/approve", json={"note": "known partner"}, headers=dev)
    assert r.status_code == 200, r.text
    assert r.json()["developer_decision"] == "approved"
    assert r.json()["status"] == "pending"
    body = _problem(client.post(f"{P}/nominations/{nid}/approve", headers=dev), 409)
    assert "developer side already approved" in body["detail"]
    assert "each side decides once" in body["detail"]

    # The agency's approval would be the second: refused until every required check is done.
    body = _problem(client.post(f"{P}/nominations/{nid}/approve", headers=officer), 412)
    for c in CHECKLIST:
        assert (c.label in body["detail"]) == c.required
    assert client.get(f"{P}/nominations/{nid}", headers=officer).json()["agency_decision"] is None

    # A member of the agency vets (who and when are kept); the optional check may stay open.
    for c in CHECKLIST:
        if c.required:
            r = client.post(f"{P}/nominations/{nid}/checklist/{c.key}", json={"note": "seen"}, headers=member)
            assert r.status_code == 200, r.text
            assert r.json()["done"]
            assert r.json()["checked_by"] == w.agency_member.email
    # ... but a member may not decide.
    _problem(client.post(f"{P}/nominations/{nid}/approve", headers=member), 403)

    r = client.post(f"{P}/nominations/{nid}/approve", headers=officer)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "approved"
    assert d["agency_decision"] == "approved"
    assert {(a["side"], a["decided_by"]) for a in d["approvals"]} == {
        ("developer", w.dev.email),
        ("agency", w.officer.email),
    }
    body = _problem(client.post(f"{P}/nominations/{nid}/approve", headers=officer), 409)
    assert "agency side already approved" in body["detail"]

    actions = set(session.execute(select(AuditEntry.action).where(AuditEntry.object_id == nid)).scalars())
    assert {"partners.nominate", "partners.approve", "partners.checklist"} <= actions


def test_decline_needs_a_reason_and_ends_the_nomination(
    client: TestClient, session: Session, world: World
) -> None:
    w = world
    dev, officer = _h(session, w.dev), _h(session, w.officer)
    nid = _nominate(client, dev, w).json()["id"]
    body = _problem(
        client.post(f"{P}/nominations/{nid}/decline", json={"reason": "  "}, headers=officer), 422
    )
    assert _fields(body) == {"reason"}
    assert client.get(f"{P}/nominations/{nid}", headers=dev).json()["status"] == "pending"

    r = client.post(
        f"{P}/nominations/{nid}/decline", json={"reason": "not a critical operator"}, headers=officer
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "declined"
    assert d["agency_decision"] == "declined"
    assert d["approvals"][0]["reason"] == "not a critical operator"
    # The developer can no longer approve; the partner sees the outcome and the reason.
    _problem(client.post(f"{P}/nominations/{nid}/approve", headers=dev), 409)
    seen = client.get(f"{P}/nominations/{nid}", headers=_h(session, w.partner)).json()
    assert seen["status"] == "declined"
    assert seen["approvals"][0]["reason"] == "not a critical operator"
    assert seen["checklist"] == []  # the vetting is the deciding sides' business
    # A new nomination of the same partner is possible once the old one is declined.
    assert _nominate(client, dev, w).status_code == 201


def test_who_may_decide(client: TestClient, session: Session, world: World) -> None:
    w = world
    dev = _h(session, w.dev)
    nid = _nominate(client, dev, w).json()["id"]
    # Nominating the same partner twice for the same version while it is open: 409.
    _problem(_nominate(client, dev, w), 409)
    # The partner takes part but does not decide (403); unrelated organisations get 404.
    body = _problem(client.post(f"{P}/nominations/{nid}/approve", headers=_h(session, w.partner)), 403)
    assert "developer or the agency" in body["detail"]
    for u in (w.other_agency, w.outsider):
        h = _h(session, u)
        _problem(client.post(f"{P}/nominations/{nid}/approve", headers=h), 404)
        _problem(client.post(f"{P}/nominations/{nid}/decline", json={"reason": "x"}, headers=h), 404)
        _problem(client.get(f"{P}/nominations/{nid}", headers=h), 404)
        assert client.get(f"{P}/nominations", headers=h).json() == []
    # The operator reads but does not take part.
    op = _h(session, w.operator)
    assert client.get(f"{P}/nominations/{nid}", headers=op).json()["your_side"] == "observer"
    _problem(client.post(f"{P}/nominations/{nid}/approve", headers=op), 403)
    assert _count(session, PartnerNomination) == 1


def test_nomination_input_errors(client: TestClient, session: Session, world: World) -> None:
    w = world
    dev = _h(session, w.dev)
    assert _fields(_problem(_nominate(client, dev, w, agency=None), 422)) == {"agency"}
    assert _fields(_problem(_nominate(client, dev, w, agency=w.bank.slug), 422)) == {"agency"}
    assert _fields(_problem(_nominate(client, dev, w, partner="no-such-org"), 422)) == {"partner"}
    assert _fields(_problem(_nominate(client, dev, w, partner=w.lab.slug), 422)) == {"partner"}
    assert _fields(_problem(_nominate(client, dev, w, model_version="2 0"), 422)) == {"model_version"}
    # A bank cannot nominate itself or anyone.
    _problem(_nominate(client, _h(session, w.partner), w), 403)
    # An agency nominating a model nobody submitted must name the developer.
    officer = _h(session, w.officer)
    body = _problem(_nominate(client, officer, w, agency=None), 422)
    assert _fields(body) == {"developer"}
    r = _nominate(client, officer, w, agency=None, developer=w.lab.slug)
    assert r.status_code == 201, r.text
    assert r.json()["nominated_side"] == "agency"
    assert r.json()["developer"] == w.lab.name
    assert _count(session, PartnerNomination) == 1


def test_agency_nominates_a_submitted_model(
    client: TestClient, session: Session, rt: Runtime, world: World
) -> None:
    w = world
    submit_model(session, rt, w)
    r = _nominate(client, _h(session, w.officer), w, agency=None)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["developer_org_id"] == str(w.lab.id)
    assert d["agency_org_id"] == str(w.agency.id)
    # The developer sees it as its own.
    assert (
        client.get(f"{P}/nominations/{d['id']}", headers=_h(session, w.dev)).json()["your_side"]
        == "developer"
    )


# --------------------------------------------------------------------------- grants


def _grant_body(**over: Any) -> dict[str, Any]:
    return {"ends_at": (utcnow() + dt.timedelta(days=60)).isoformat(), "usage_cap": 1000, **over}


def test_grant_cannot_start_before_the_review_window_ends_unless_waived(
    client: TestClient, session: Session, rt: Runtime, world: World
) -> None:
    w = world
    sub = submit_model(session, rt, w, days=10)
    nid = approved(session, w)
    dev = _h(session, w.dev)
    closes = sub.window_closes_at

    # Starting now, inside the window: refused on starts_at, with the window's end in the reason.
    body = _problem(
        client.post(
            f"{P}/nominations/{nid}/grants", json=_grant_body(starts_at=utcnow().isoformat()), headers=dev
        ),
        422,
    )
    assert _fields(body) == {"starts_at"}
    assert closes.isoformat() in body["errors"][0]["message"]
    # A waiver needs a reason.
    body = _problem(
        client.post(
            f"{P}/nominations/{nid}/grants",
            json=_grant_body(starts_at=utcnow().isoformat(), waive_review_window=True),
            headers=dev,
        ),
        422,
    )
    assert _fields(body) == {"waiver_reason"}
    # End before start; start in the past.
    start = closes + dt.timedelta(days=1)
    body = _problem(
        client.post(
            f"{P}/nominations/{nid}/grants",
            json=_grant_body(
                starts_at=start.isoformat(), ends_at=(start - dt.timedelta(hours=1)).isoformat()
            ),
            headers=dev,
        ),
        422,
    )
    assert _fields(body) == {"ends_at"}
    past = utcnow() - dt.timedelta(days=2)
    body = _problem(
        client.post(
            f"{P}/nominations/{nid}/grants",
            json=_grant_body(starts_at=past.isoformat(), waive_review_window=True, waiver_reason="x"),
            headers=dev,
        ),
        422,
    )
    assert _fields(body) == {"starts_at"}
    assert "in the past" in body["detail"]
    assert _count(session, PartnerGrant) == 0  # nothing written on error

    # Without a start: it starts when the window closes.
    r = client.post(f"{P}/nominations/{nid}/grants", json=_grant_body(), headers=dev)
    assert r.status_code == 201, r.text
    g = r.json()
    assert dt.datetime.fromisoformat(g["starts_at"]) == closes
    assert g["status"] == "awaiting_terms"
    assert not g["window_waived"]

    # With an explicit, reasoned waiver: starts now, and the waiver is recorded and signed.
    r = client.post(
        f"{P}/nominations/{nid}/grants",
        json=_grant_body(
            starts_at=utcnow().isoformat(),
            waive_review_window=True,
            waiver_reason="active exploitation in sector",
        ),
        headers=dev,
    )
    assert r.status_code == 201, r.text
    g = r.json()
    assert g["window_waived"]
    assert g["waiver_reason"] == "active exploitation in sector"
    doc = client.get(f"{P}/grants/{g['id']}/signed", headers=dev).json()
    payload = verify_document(doc, jwks(session))
    assert payload["review_window"] == {
        "closes_at": closes.isoformat(),
        "waived": True,
        "waiver_reason": "active exploitation in sector",
    }
    entry = session.execute(
        select(AuditEntry).where(AuditEntry.action == "partners.grant.issue", AuditEntry.object_id == g["id"])
    ).scalar_one()
    assert entry.details["window_waived"] is True
    assert entry.actor_email == w.dev.email


def test_only_the_developer_grants_and_only_after_both_approved(
    client: TestClient, session: Session, world: World
) -> None:
    w = world
    dev = _h(session, w.dev)
    nid = nominate(session, w)
    body = _problem(client.post(f"{P}/nominations/{nid}/grants", json=_grant_body(), headers=dev), 412)
    assert "both the developer and the agency" in body["detail"]
    nid2 = approved(session, w, version="3.0")
    _problem(
        client.post(f"{P}/nominations/{nid2}/grants", json=_grant_body(), headers=_h(session, w.officer)), 403
    )
    _problem(
        client.post(f"{P}/nominations/{nid2}/grants", json=_grant_body(), headers=_h(session, w.partner)), 403
    )
    _problem(
        client.post(f"{P}/nominations/{nid2}/grants", json=_grant_body(), headers=_h(session, w.outsider)),
        404,
    )
    for bad in (0, -5):
        body = _problem(
            client.post(f"{P}/nominations/{nid2}/grants", json=_grant_body(usage_cap=bad), headers=dev), 422
        )
        assert _fields(body) == {"usage_cap"}
    assert _count(session, PartnerGrant) == 0


def test_terms_must_be_accepted_before_the_grant_activates(
    client: TestClient, session: Session, rt: Runtime, world: World
) -> None:
    w = world
    nid = approved(session, w)
    dev, bank = _h(session, w.dev), _h(session, w.partner)
    g = client.post(f"{P}/nominations/{nid}/grants", json=_grant_body(usage_cap=10), headers=dev).json()
    gid = g["id"]
    r = client.post(f"{P}/grants/{gid}/check", json={"units": 1}, headers=dev).json()
    assert (r["allowed"], r["decision"], r["code"]) == (False, "denied", "awaiting_terms")

    # The partner sees its grant with the terms; only the partner may accept, naming the text's hash.
    mine = client.get(f"{P}/grants", headers=bank).json()
    assert [x["id"] for x in mine] == [gid]
    terms = mine[0]["terms"]
    assert terms["text"].startswith("Trusted-partner early access")
    assert terms["accepted_at"] is None
    _problem(
        client.post(f"{P}/grants/{gid}/accept", json={"terms_sha256": terms["sha256"]}, headers=dev), 403
    )
    body = _problem(
        client.post(f"{P}/grants/{gid}/accept", json={"terms_sha256": "0" * 64}, headers=bank), 422
    )
    assert _fields(body) == {"terms_sha256"}
    r = client.post(f"{P}/grants/{gid}/accept", json={"terms_sha256": terms["sha256"]}, headers=bank)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert r.json()["terms"]["accepted_by"] == w.partner.email
    _problem(
        client.post(f"{P}/grants/{gid}/accept", json={"terms_sha256": terms["sha256"]}, headers=bank), 409
    )

    r = client.post(f"{P}/grants/{gid}/check", json={"units": 1}, headers=dev).json()
    assert (r["allowed"], r["code"], r["used"], r["remaining"]) == (True, "active", 1, 9)
    entry = session.execute(
        select(AuditEntry).where(
            AuditEntry.action == "partners.grant.accept_terms", AuditEntry.object_id == gid
        )
    ).scalar_one()
    assert entry.details["terms_sha256"] == terms["sha256"]
    assert entry.actor_email == w.partner.email


def test_revocation_denies_the_very_next_check(
    client: TestClient, session: Session, rt: Runtime, world: World
) -> None:
    w = world
    g = active_grant(session, rt, w)
    dev, officer = _h(session, w.dev), _h(session, w.officer)
    first = client.post(f"{P}/grants/{g.id}/check", json={"units": 1}, headers=dev).json()
    assert first["allowed"] is True

    body = _problem(client.post(f"{P}/grants/{g.id}/revoke", json={"reason": ""}, headers=officer), 422)
    assert _fields(body) == {"reason"}
    _problem(
        client.post(f"{P}/grants/{g.id}/revoke", json={"reason": "x"}, headers=_h(session, w.partner)), 403
    )
    r = client.post(f"{P}/grants/{g.id}/revoke", json={"reason": "credential leaked"}, headers=officer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked"
    assert r.json()["revoked_side"] == "agency"

    nxt = client.post(f"{P}/grants/{g.id}/check", json={"units": 1}, headers=dev).json()
    assert (nxt["allowed"], nxt["decision"], nxt["code"]) == (False, "denied", "revoked")
    assert nxt["used"] == 1  # the denied call was not counted
    _problem(client.post(f"{P}/grants/{g.id}/revoke", json={"reason": "again"}, headers=dev), 409)
    checks = list(
        session.execute(
            select(AuditEntry.details)
            .where(AuditEntry.action == "partners.grant.check", AuditEntry.object_id == str(g.id))
            .order_by(AuditEntry.seq)
        ).scalars()
    )
    assert [c["allowed"] for c in checks] == [True, False]
    assert verify_chain(session).ok


def test_over_cap_is_denied(client: TestClient, session: Session, rt: Runtime, world: World) -> None:
    w = world
    g = active_grant(session, rt, w, cap=5)
    dev, bank = _h(session, w.dev), _h(session, w.partner)
    assert client.post(f"{P}/grants/{g.id}/check", json={"units": 3}, headers=dev).json()["allowed"]
    r = client.post(f"{P}/grants/{g.id}/check", json={"units": 3}, headers=dev).json()
    assert (r["allowed"], r["code"], r["used"]) == (False, "over_cap", 3)
    assert client.post(f"{P}/grants/{g.id}/check", json={"units": 2}, headers=dev).json()["allowed"]
    r = client.post(f"{P}/grants/{g.id}/check", json={"units": 1}, headers=dev).json()
    assert (r["allowed"], r["code"], r["remaining"]) == (False, "over_cap", 0)
    _problem(client.post(f"{P}/grants/{g.id}/check", json={"units": -1}, headers=dev), 422)
    # Only allowed checks are in the usage ledger.
    ledger = client.get(f"{P}/grants/{g.id}/usage", headers=bank).json()
    assert sorted(u["units"] for u in ledger) == [2, 3]
    assert {u["source"] for u in ledger} == {"gateway"}


def test_partner_usage_reports(client: TestClient, session: Session, rt: Runtime, world: World) -> None:
    w = world
    g = active_grant(session, rt, w, cap=100)
    dev, bank = _h(session, w.dev), _h(session, w.partner)
    today = utcnow().date()
    body = _problem(
        client.post(
            f"{P}/grants/{g.id}/usage",
            json={"count": 0, "period_start": today.isoformat(), "period_end": today.isoformat()},
            headers=bank,
        ),
        422,
    )
    assert _fields(body) == {"count"}
    body = _problem(
        client.post(
            f"{P}/grants/{g.id}/usage",
            json={
                "count": 5,
                "period_start": today.isoformat(),
                "period_end": (today - dt.timedelta(days=1)).isoformat(),
            },
            headers=bank,
        ),
        422,
    )
    assert _fields(body) == {"period_end"}
    body = _problem(
        client.post(
            f"{P}/grants/{g.id}/usage",
            json={"count": 5, "period_start": "2020-01-01", "period_end": "2020-01-31"},
            headers=bank,
        ),
        422,
    )
    assert _fields(body) == {"period_start"}
    _problem(
        client.post(
            f"{P}/grants/{g.id}/usage",
            json={"count": 5, "period_start": today.isoformat(), "period_end": today.isoformat()},
            headers=dev,
        ),
        403,
    )
    assert _count(session, PartnerUsage) == 0
    r = client.post(
        f"{P}/grants/{g.id}/usage",
        json={"count": 120, "period_start": today.isoformat(), "period_end": today.isoformat()},
        headers=bank,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["used"], r.json()["over_cap"]) == (120, True)
    # Reported usage past the cap: the gateway's next check is denied.
    c = client.post(f"{P}/grants/{g.id}/check", json={"units": 1}, headers=dev).json()
    assert (c["allowed"], c["code"]) == (False, "over_cap")


def test_partner_findings_carry_the_model_as_provenance(
    client: TestClient, session: Session, rt: Runtime, world: World, shared_data: Path
) -> None:
    w = world
    g = active_grant(session, rt, w)
    bank = _h(session, w.partner)
    sarif = shared_data / "scanner-reports" / "sarif" / "njsscan.sarif"
    manifest = json.loads((shared_data / "scanner-reports" / "manifest.json").read_text())
    files = manifest["files"] if isinstance(manifest, dict) and "files" in manifest else manifest
    entry = next(f for f in files if f["path"] == "sarif/njsscan.sarif")

    # Someone else cannot import under the grant.
    with sarif.open("rb") as fh:
        _problem(
            client.post(
                f"{P}/grants/{g.id}/findings",
                files={"file": ("njsscan.sarif", fh)},
                headers=_h(session, w.dev),
            ),
            403,
        )
    with sarif.open("rb") as fh:
        r = client.post(f"{P}/grants/{g.id}/findings", files={"file": ("njsscan.sarif", fh)}, headers=bank)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["model_id"] == f"{MODEL}@2.0"
    assert out["received"] == entry["results"]
    session.expire_all()
    batch = session.get(ImportBatch, uuid.UUID(out["batch_id"]))
    assert batch is not None
    assert batch.model_id == f"{MODEL}@2.0"
    assert batch.owner_org_id == w.bank.id
    found = list(session.execute(select(Finding).where(Finding.batch_id == batch.id)).scalars())
    assert len(found) == out["new"] > 0
    assert {f.model_id for f in found} == {f"{MODEL}@2.0"}
    assert {f.owner_org_id for f in found} == {w.bank.id}

    # Once revoked, the partner can no longer import under the grant (and nothing is written).
    client.post(f"{P}/grants/{g.id}/revoke", json={"reason": "ended"}, headers=_h(session, w.dev))
    before = _count(session, ImportBatch)
    with sarif.open("rb") as fh:
        body = _problem(
            client.post(f"{P}/grants/{g.id}/findings", files={"file": ("njsscan.sarif", fh)}, headers=bank),
            412,
        )
    assert "revoked" in body["detail"]
    assert _count(session, ImportBatch) == before


def test_other_organisations_get_404(client: TestClient, session: Session, rt: Runtime, world: World) -> None:
    w = world
    g = active_grant(session, rt, w)
    for u in (w.other_agency, w.outsider):
        h = _h(session, u)
        _problem(client.get(f"{P}/grants/{g.id}", headers=h), 404)
        _problem(client.get(f"{P}/grants/{g.id}/signed", headers=h), 404)
        _problem(client.post(f"{P}/grants/{g.id}/check", json={"units": 1}, headers=h), 404)
        _problem(client.post(f"{P}/grants/{g.id}/revoke", json={"reason": "x"}, headers=h), 404)
        _problem(client.get(f"{P}/grants/{g.id}/usage", headers=h), 404)
        assert client.get(f"{P}/grants", headers=h).json() == []
        assert all(c["partners"] == 0 for c in client.get(f"{P}/sectors", headers=h).json())
    # The participants see it: the partner its own grant, both deciding sides.
    for u in (w.dev, w.officer, w.partner):
        assert client.get(f"{P}/grants/{g.id}", headers=_h(session, u)).status_code == 200
    # The partner may not play the gateway.
    _problem(client.post(f"{P}/grants/{g.id}/check", json={"units": 1}, headers=_h(session, w.partner)), 403)


def test_sector_counts(client: TestClient, session: Session, rt: Runtime, world: World) -> None:
    w = world
    active_grant(session, rt, w)
    counts = {c["key"]: c for c in client.get(f"{P}/sectors", headers=_h(session, w.officer)).json()}
    assert {"banks", "utilities", "hospitals", "state_local"} <= set(counts)
    assert (counts["banks"]["partners"], counts["banks"]["active_grants"]) == (1, 1)
    assert counts["utilities"]["partners"] == 0


def test_signed_grant_verifies_offline_and_fails_after_tampering(
    client: TestClient, session: Session, rt: Runtime, world: World
) -> None:
    w = world
    g = active_grant(session, rt, w, cap=77)
    doc = client.get(f"{P}/grants/{g.id}/signed", headers=_h(session, w.partner)).json()
    keys = client.get("/.well-known/frontiersec-keys.json").json()
    payload = verify_document(doc, keys)
    assert payload["usage_cap"] == {"limit": 77, "unit": "calls"}
    assert payload["partner"]["id"] == str(w.bank.id)
    assert payload["model"] == {
        "name": MODEL,
        "version": "2.0",
    }
    assert payload["terms"]["sha256"] == g.terms_sha256
    doc["payload"]["usage_cap"]["limit"] = 77_000
    with pytest.raises(InvalidInput):
        verify_document(doc, keys)


def test_approval_of_unrelated_nomination_is_not_leaked(
    client: TestClient, session: Session, world: World
) -> None:
    w = world
    nid = nominate(session, w)
    r = client.get(f"{P}/nominations/{nid}", headers=_h(session, w.other_agency))
    body = _problem(r, 404)
    assert w.bank.name not in json.dumps(body)
