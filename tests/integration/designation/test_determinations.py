"""Determinations end to end: evidence from real evaluation-run rows through the evals area's
capability profile, signed documents that verify offline and fail after any change, visibility
per developer, audited policy reads, and the refusal of a determination without evidence."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
import rfc8785
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.designation import service
from frontiersec.designation.models import Determination, Notice
from frontiersec.platform.audit.models import AuditEntry
from frontiersec.platform.runtime import Runtime
from frontiersec.platform.signing import jwks, sign_document
from tests.factories import bearer
from tests.integration.designation.world import POLICY_YAML, World, add_run, make_world, publish

MODEL, VERSION = "frontier-x", "2.0"


@pytest.fixture
def world(session: Session, rt: Runtime) -> World:
    w = make_world(session, rt.box)
    publish(session, rt.box, w)
    session.commit()
    return w


def _headers(session: Session, user: Any) -> dict[str, str]:
    h = bearer(session, user)
    session.commit()
    return h


def _determine(client: TestClient, headers: dict[str, str], w: World, **extra: Any) -> Any:
    body = {
        "model": MODEL,
        "version": VERSION,
        "policy": "2026.1",
        "developer_org_id": str(w.dev.id),
        **extra,
    }
    return client.post("/api/v1/designation/determinations", json=body, headers=headers)


def test_determination_from_the_capability_profile(
    world: World, session: Session, rt: Runtime, client: TestClient
) -> None:
    # Newcombe (1998) worked example 81/263 for exploitation: Wilson limits 0.2553-0.3662, so its
    # 30.8% point estimate is above the policy's 0.30 but the lower bound is not.
    run = add_run(session, world.agency, MODEL, VERSION, {"exploitation": (81, 263), "discovery": (15, 148)})
    session.commit()
    h = _headers(session, world.official)
    r = _determine(client, h, world, training_compute_flop=2.5e26, parameter_count=400_000_000_000)
    assert r.status_code == 201, r.text
    d = r.json()
    crit = {c["id"]: c for c in d["criteria"]}
    ex = crit["capability.exploitation"]
    assert (ex["successes"], ex["n"]) == (81, 263)
    assert ex["low"] == pytest.approx(0.2553, abs=5e-5)
    assert ex["high"] == pytest.approx(0.3662, abs=5e-5)
    assert (ex["status"], ex["reason"]) == ("unmet", "CAP_INTERVAL_INCLUDES_THRESHOLD")
    assert ex["threshold"] == 0.30  # the official sees the confidential threshold
    disc = crit["capability.discovery"]
    assert disc["high"] == pytest.approx(0.1605, abs=5e-5)
    assert disc["reason"] == "CAP_BELOW_THRESHOLD"
    assert crit["training_compute"]["reason"] == "COMPUTE_AT_OR_ABOVE_THRESHOLD"
    assert d["result"] == "not_covered"
    assert d["evidence"]["runs"] == [
        {
            "id": str(run.id),
            "model": f"openai/{MODEL}",
            "log_sha256": run.log_sha256,
            "finished_at": "2026-07-01T12:00:00+00:00",
            "samples": 411,
        }
    ]
    # The signed payload cites the published commitment and the evidence.
    signed = client.get(f"/api/v1/designation/determinations/{d['id']}/signed", headers=h).json()
    published = client.get("/api/v1/designation/policies/published").json()
    assert signed["payload"]["policy"]["commitment"] == published[0]["commitment"]
    assert signed["payload"]["evidence"]["runs"][0]["log_sha256"] == run.log_sha256
    # The developer's copy leaves the confidential thresholds out.
    assert all(c["threshold"] is None for c in signed["payload"]["criteria"])
    dev = client.get(
        f"/api/v1/designation/determinations/{d['id']}", headers=_headers(session, world.dev_member)
    )
    assert dev.status_code == 200
    assert all(c["threshold"] is None for c in dev.json()["criteria"])
    notice = client.get(
        f"/api/v1/designation/determinations/{d['id']}/notice", headers=_headers(session, world.dev_member)
    ).json()
    assert "is not a covered frontier model under policy 2026.1" in notice["headline"]
    assert "0.3" not in json.dumps(notice["policy_summary"])


def test_covered_when_scale_and_a_capability_lower_bound_are_met(
    world: World, session: Session, client: TestClient
) -> None:
    # 81/263 on discovery vs a 0.25 threshold in this policy variant: lower bound 0.2553 is met.
    text = POLICY_YAML.replace('version: "2026.1"', 'version: "2026.1b"').replace(
        "lower_bound_at_least: 0.40", "lower_bound_at_least: 0.25"
    )
    publish(session, service_box(client), world, text)
    add_run(session, world.agency, MODEL, VERSION, {"discovery": (81, 263)})
    session.commit()
    r = _determine(
        client, _headers(session, world.official), world, policy="2026.1b", training_compute_flop=1.2e26
    )
    assert r.status_code == 201, r.text
    assert r.json()["result"] == "covered"
    reasons = {c["id"]: c["reason"] for c in r.json()["criteria"]}
    assert reasons["capability.discovery"] == "CAP_LOWER_BOUND_ABOVE_THRESHOLD"
    assert reasons["capability.exploitation"] == "NOT_EVALUATED"
    assert reasons["factor.dual_use"] == "FACTOR_MET"


def service_box(client: TestClient) -> Any:
    return client.app.state.runtime.box  # type: ignore[attr-defined]


def test_no_evidence_is_refused_and_nothing_is_written(
    world: World, session: Session, client: TestClient
) -> None:
    before = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    r = _determine(client, _headers(session, world.official), world)
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["field"] == "evidence"
    assert "needs evidence" in body["detail"]
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Determination)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(Notice)).scalar_one() == 0
    actions = session.execute(select(AuditEntry.action).where(AuditEntry.seq > before)).scalars().all()
    assert "designation.determine" not in actions


def test_only_officials_issue(world: World, session: Session, client: TestClient) -> None:
    for user in (world.clerk, world.dev_member):
        r = _determine(client, _headers(session, user), world, training_compute_flop=1e25)
        assert r.status_code == 403, r.text


def test_other_developers_get_404(world: World, session: Session, client: TestClient) -> None:
    r = _determine(client, _headers(session, world.official), world, training_compute_flop=1e25)
    det_id = r.json()["id"]
    other = _headers(session, world.other_member)
    for path in ("", "/signed", "/notice"):
        assert (
            client.get(f"/api/v1/designation/determinations/{det_id}{path}", headers=other).status_code == 404
        )
    assert client.get("/api/v1/designation/determinations", headers=other).json() == []
    assert client.get("/api/v1/designation/notices", headers=other).json() == []
    mine = client.get(
        "/api/v1/designation/determinations", headers=_headers(session, world.dev_viewer)
    ).json()
    assert [d["id"] for d in mine] == [det_id]
    # A non-official of the issuing agency does not see developers' determinations either.
    assert (
        client.get(
            f"/api/v1/designation/determinations/{det_id}", headers=_headers(session, world.clerk)
        ).status_code
        == 404
    )


def test_policy_documents_are_officials_only_and_every_read_is_audited(
    world: World, session: Session, client: TestClient
) -> None:
    for user in (world.dev_member, world.clerk, world.other_member):
        h = _headers(session, user)
        r = client.get("/api/v1/designation/policies/2026.1", headers=h)
        assert r.status_code == 404, r.text
        assert "rationale" not in r.text
        assert client.get("/api/v1/designation/policies", headers=h).status_code == 403
    before = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    h = _headers(session, world.official)
    r = client.get("/api/v1/designation/policies/2026.1", headers=h)
    assert r.status_code == 200
    assert r.json()["document"]["criteria"]["training_compute"]["threshold"] == 1e26
    assert client.get("/api/v1/designation/policies", headers=h).status_code == 200
    reads = (
        session.execute(
            select(AuditEntry).where(AuditEntry.seq > before, AuditEntry.object_type == "designation_policy")
        )
        .scalars()
        .all()
    )
    assert [(e.action, e.actor_email, e.tlp) for e in reads] == [
        ("read", world.official.email, "RED"),
        ("read", world.official.email, "RED"),
    ]
    # The web page is invisible too.
    from tests.factories import login

    login(client, world.dev_member.email)
    assert client.get("/designation/policies/2026.1").status_code == 404


def test_policy_is_stored_encrypted(world: World, session: Session) -> None:
    row = service.published_policies(session)[0]
    assert "rationale" not in row.document_encrypted
    assert "1e+26" not in row.document_encrypted
    assert "Executive Order" not in json.dumps(row.summary)


def test_versions_are_immutable(world: World, session: Session, client: TestClient) -> None:
    h = _headers(session, world.official)
    r = client.post(
        "/api/v1/designation/policies", json={"yaml": POLICY_YAML.replace("0.30", "0.10")}, headers=h
    )
    assert r.status_code == 409
    assert "cannot change" in r.json()["detail"]


def test_policy_errors_name_the_yaml_path(world: World, session: Session, client: TestClient) -> None:
    bad = POLICY_YAML.replace('version: "2026.1"', 'version: "2026.2"').replace(
        "min_samples: 20", "min_samples: -1", 1
    )
    r = client.post(
        "/api/v1/designation/policies", json={"yaml": bad}, headers=_headers(session, world.official)
    )
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["field"] == "criteria.capabilities.families.exploitation.min_samples"
    assert "minimum of 1" in err["message"]


def test_published_commitment_is_sha256_of_rfc8785(
    world: World, session: Session, client: TestClient
) -> None:
    # Computed independently of our parser: PyYAML's plain safe_load (the document writes its
    # floats as 1.0e+26 so YAML 1.1 reads them as numbers too), RFC 8785, SHA-256.
    text = (
        POLICY_YAML.replace('version: "2026.1"', 'version: "2026.3"')
        .replace("1.0e26", "1.0e+26")
        .replace("1.0e11", "1.0e+11")
    )
    r = client.post(
        "/api/v1/designation/policies", json={"yaml": text}, headers=_headers(session, world.official)
    )
    assert r.status_code == 201, r.text
    expected = hashlib.sha256(rfc8785.dumps(yaml.safe_load(text))).hexdigest()
    published = {p["version"]: p for p in client.get("/api/v1/designation/policies/published").json()}
    assert published["2026.3"]["commitment"] == expected
    assert "rationale" not in json.dumps(published)
    assert published["2026.3"]["summary"]["criteria"][0]["threshold"] is None


# --------------------------------------------------------------------------- signatures


def _signed(
    world: World, session: Session, client: TestClient
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    add_run(session, world.agency, MODEL, VERSION, {"exploitation": (81, 263)})
    session.commit()
    h = _headers(session, world.official)
    det = _determine(client, h, world, training_compute_flop=2e26).json()
    doc = client.get(f"/api/v1/designation/determinations/{det['id']}/signed", headers=h).json()
    keys = client.get("/.well-known/frontiersec-keys.json").json()
    published = {
        p["version"]: p["commitment"] for p in client.get("/api/v1/designation/policies/published").json()
    }
    return doc, keys, published


def test_signed_document_verifies_offline_and_fails_after_any_byte_changes(
    world: World, session: Session, client: TestClient
) -> None:
    doc, keys, published = _signed(world, session, client)
    assert service.verify_signed_determination(doc, keys, published).ok
    raw = rfc8785.dumps(doc)
    for i in range(len(raw)):
        tampered = bytearray(raw)
        tampered[i] ^= 0x01
        try:
            parsed = json.loads(bytes(tampered).decode("utf-8"))
        except ValueError:
            continue  # not JSON any more: nothing to verify
        report = service.verify_signed_determination(parsed, keys, published)
        assert not report.ok, f"byte {i} ({chr(raw[i])!r}) changed and the document still verifies"


def test_commitment_must_match_the_published_one(
    world: World, session: Session, rt: Runtime, client: TestClient
) -> None:
    doc, keys, published = _signed(world, session, client)
    # A correctly signed document citing a policy text that was never published.
    payload = copy.deepcopy(doc["payload"])
    payload["policy"]["commitment"] = hashlib.sha256(b"another policy").hexdigest()
    forged = sign_document(session, rt.box, payload)
    report = service.verify_signed_determination(forged, keys, published)
    assert not report.ok
    assert "does not match the published commitment" in report.reason
    payload["policy"]["version"] = "9999"
    report = service.verify_signed_determination(sign_document(session, rt.box, payload), keys, published)
    assert "not among the published policies" in report.reason
    # And with another deployment's keys the signature itself fails.
    other_keys = {"keys": [dict(keys["keys"][0], x="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")]}
    assert "does not match" in service.verify_signed_determination(doc, other_keys, published).reason
    assert jwks(session)["keys"]
