"""Designation use cases: officials, policy versions, signed determinations, notices,
reconsideration, re-evaluation and the public transparency figures.

Who may do what:

=====================================  ==========================================================
designation officials (a user of a     add policy versions, read policy documents, issue
government agency in the officials     determinations, see every determination, start reviewing
group)                                 and decide reconsiderations, re-run due determinations
platform operators                     manage the officials group; read everything (they run the
                                       deployment) but issue and decide nothing
the developer organisation             its own determinations, notices and reconsiderations;
                                       members (role member and up) request reconsideration
everyone, signed in or not             published commitments and summaries, transparency figures
=====================================  ==========================================================

Any other organisation gets *not found* for a determination, a notice or a reconsideration;
non-officials get *not found* for a policy document. Every write is audited, and so is every
read of a policy document (RED) and of a determination (AMBER).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import statistics
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from frontiersec.designation import policy as policy_rules
from frontiersec.designation import review_link
from frontiersec.designation.errors import ReconsiderationPeriodClosed
from frontiersec.designation.models import (
    DesignationOfficial,
    DesignationPolicy,
    Determination,
    Notice,
    Reconsideration,
)
from frontiersec.designation.policy import Evidence, FamilyEvidence, Policy
from frontiersec.evals import profile as evals_profile
from frontiersec.platform.audit.service import record, record_read
from frontiersec.platform.auth.models import Membership, Organization, OrgKind, Role, User
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import visible_clause
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import new_id
from frontiersec.platform.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from frontiersec.platform.jobs import enqueue
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.platform.signing import sign_document, verify_document

__all__ = [
    "DOCUMENT_TYPE",
    "OUTCOMES",
    "RESULTS",
    "DeterminationView",
    "PolicyView",
    "VerifyReport",
    "add_policy",
    "decide_reconsideration",
    "determination_views",
    "determine",
    "flag_new_model_version",
    "get_determination",
    "get_policy",
    "get_reconsideration",
    "grant_official",
    "is_official",
    "issue_determination",
    "list_determinations",
    "list_notices",
    "list_officials",
    "list_policies",
    "list_reconsiderations",
    "open_reconsideration_for",
    "published_policies",
    "reconsideration_clock",
    "reconsiderations_of",
    "reevaluate",
    "reevaluate_due",
    "request_reconsideration",
    "request_reevaluation",
    "revoke_official",
    "start_review",
    "transparency",
    "verify_signed_determination",
]

DOCUMENT_TYPE = "frontiersec.designation.determination"
RESULTS = ("covered", "not_covered", "insufficient_evidence")
OUTCOMES = ("upheld", "reversed", "modified")
OPEN_STATES = ("requested", "under_review")
OBJ_DET = "designation_determination"
OBJ_POLICY = "designation_policy"
OBJ_RECON = "designation_reconsideration"
MAX_PARAMS = 10**15  # RFC 8785 numbers are IEEE doubles; counts must stay exact


# --------------------------------------------------------------------------- officials


def is_official(session: Session, principal: Principal) -> bool:
    """Whether ``principal`` acts for a government agency and is in the designation officials group."""
    if principal.user_id is None or principal.org_kind != OrgKind.GOVERNMENT_AGENCY.value:
        return False
    found = session.execute(
        select(DesignationOfficial.id).where(DesignationOfficial.user_id == principal.user_id)
    ).first()
    return found is not None


def _require_official(session: Session, principal: Principal, action: str) -> None:
    if not is_official(session, principal):
        raise PermissionDenied(
            f"{action} is reserved to designation officials (members of the designation officials "
            "group acting for a government agency)"
        )


def _can_read_policies(session: Session, principal: Principal) -> bool:
    return principal.is_operator or is_official(session, principal)


def grant_official(session: Session, principal: Principal, email: str) -> DesignationOfficial:
    """Add a user of a government agency to the designation officials group (operators)."""
    principal.require_operator("managing designation officials")
    user = session.execute(select(User).where(User.email == email.strip().lower())).scalars().first()
    if user is None:
        raise InvalidInput.on("email", f"no user {email!r}")
    agency = session.execute(
        select(Organization.id)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user.id, Organization.kind == OrgKind.GOVERNMENT_AGENCY.value)
    ).first()
    if agency is None:
        raise InvalidInput.on("email", f"{user.email} is not a member of a government agency")
    if session.execute(select(DesignationOfficial).where(DesignationOfficial.user_id == user.id)).first():
        raise Conflict(f"{user.email} is already a designation official")
    row = DesignationOfficial(user_id=user.id, granted_by=principal.user_id)
    session.add(row)
    session.flush()
    record(session, principal, "designation.official.grant", object_type="user", object_id=user.id)
    return row


def revoke_official(session: Session, principal: Principal, user_id: uuid.UUID) -> None:
    """Remove a user from the designation officials group (operators)."""
    principal.require_operator("managing designation officials")
    row = (
        session.execute(select(DesignationOfficial).where(DesignationOfficial.user_id == user_id))
        .scalars()
        .first()
    )
    if row is None:
        raise NotFound(f"user {user_id} is not a designation official")
    session.delete(row)
    session.flush()
    record(session, principal, "designation.official.revoke", object_type="user", object_id=user_id)


def list_officials(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The officials group (visible to officials and operators)."""
    if not _can_read_policies(session, principal):
        raise PermissionDenied("the designation officials group is visible to officials and operators only")
    rows = session.execute(
        select(DesignationOfficial, User)
        .join(User, User.id == DesignationOfficial.user_id)
        .order_by(User.email)
    ).all()
    return [
        {"user_id": u.id, "email": u.email, "display_name": u.display_name, "granted_at": o.created_at}
        for o, u in rows
    ]


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class PolicyView:
    """A policy version with its decrypted document (officials only)."""

    row: DesignationPolicy
    document: dict[str, Any]
    yaml_text: str


def _decrypt_policy(box: SecretBox, row: DesignationPolicy) -> tuple[dict[str, Any], str]:
    stored = json.loads(box.decrypt_str(row.document_encrypted))
    document: dict[str, Any] = stored["document"]
    if policy_rules.commitment_of(document) != row.commitment:
        raise PreconditionFailed(f"policy {row.version}: stored document does not match its commitment")
    return document, str(stored["yaml"])


def add_policy(session: Session, principal: Principal, box: SecretBox, yaml_text: str) -> DesignationPolicy:
    """Validate, encrypt and publish a new policy version (officials). Versions are immutable:
    a version that exists is a conflict. Current determinations made under other versions are
    marked re-evaluation due."""
    _require_official(session, principal, "adding a designation policy")
    pol = policy_rules.parse_policy(yaml_text)
    if session.execute(select(DesignationPolicy.id).where(DesignationPolicy.version == pol.version)).first():
        raise Conflict(
            f"policy version {pol.version} exists and cannot change: publish a new version",
            errors=[],
        )
    assert principal.org_id is not None  # officials act for an agency
    row = DesignationPolicy(
        version=pol.version,
        title=pol.title,
        effective=pol.document.get("effective"),
        commitment=pol.commitment,
        summary=policy_rules.public_summary(pol.document),
        confidential_thresholds=pol.confidential_thresholds,
        document_encrypted=box.encrypt_str(json.dumps({"document": pol.document, "yaml": yaml_text})),
        owner_org_id=principal.org_id,
        tlp="RED",
        created_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        principal,
        "designation.policy.add",
        object_type=OBJ_POLICY,
        object_id=row.id,
        tlp="RED",
        details={"version": row.version, "commitment": row.commitment},
    )
    _flag(
        session,
        select(Determination).where(
            Determination.status == "current", Determination.policy_version != row.version
        ),
        f"policy {row.version} published",
    )
    return row


def list_policies(session: Session, principal: Principal) -> list[DesignationPolicy]:
    """Every policy version, newest first (officials and operators; the read is audited)."""
    if not _can_read_policies(session, principal):
        raise PermissionDenied("designation policies are visible to designation officials only")
    rows = list(
        session.execute(select(DesignationPolicy).order_by(DesignationPolicy.created_at.desc())).scalars()
    )
    record(
        session, principal, "read", object_type=OBJ_POLICY, object_id="*", tlp="RED", details={"list": True}
    )
    return rows


def get_policy(session: Session, principal: Principal, box: SecretBox, version: str) -> PolicyView:
    """One policy version with its confidential document (officials and operators; audited).
    Anyone else gets *not found*."""
    row = _policy_row(session, version)
    if row is None or not _can_read_policies(session, principal):
        raise NotFound(f"policy {version} not found")
    document, text = _decrypt_policy(box, row)
    record_read(session, principal, object_type=OBJ_POLICY, object_id=row.id, tlp=row.tlp)
    return PolicyView(row=row, document=document, yaml_text=text)


def _policy_row(session: Session, version: str) -> DesignationPolicy | None:
    return (
        session.execute(select(DesignationPolicy).where(DesignationPolicy.version == version))
        .scalars()
        .first()
    )


def published_policies(session: Session) -> list[DesignationPolicy]:
    """Every policy version, oldest first, for the public list of commitments and summaries."""
    return list(session.execute(select(DesignationPolicy).order_by(DesignationPolicy.created_at)).scalars())


def _latest_policy(session: Session) -> DesignationPolicy | None:
    return (
        session.execute(select(DesignationPolicy).order_by(DesignationPolicy.created_at.desc()))
        .scalars()
        .first()
    )


# --------------------------------------------------------------------------- evidence


def _profile_evidence(
    session: Session, principal: Principal, model_name: str, model_version: str
) -> tuple[dict[str, FamilyEvidence], list[dict[str, Any]]]:
    try:
        prof = evals_profile.capability_profile(session, principal, model_name, model_version)
    except NotFound:  # no finished run of this model version that the official may see
        return {}, []
    families = {
        name: FamilyEvidence(
            family=name,
            successes=fr.successes,
            n=fr.n,
            rate=fr.rate,
            low=fr.low,
            high=fr.high,
            method=fr.method,
        )
        for name, fr in prof.families.items()
        if fr.n > 0
    }
    runs = [
        {
            "id": str(r.id),
            "model": r.model,
            "log_sha256": r.log_sha256,
            "finished_at": r.finished_at.isoformat(),
            "samples": r.samples,
        }
        for r in prof.runs
    ]
    return families, runs


def _check_declared(compute: float | None, params: int | None) -> None:
    if compute is not None and (not math.isfinite(compute) or compute <= 0):
        raise InvalidInput.on("training_compute_flop", "must be a positive number of FLOP")
    if params is not None and not 1 <= params <= MAX_PARAMS:
        raise InvalidInput.on("parameter_count", f"must be between 1 and {MAX_PARAMS}")


def _sig_digits(value: Any) -> Any:
    """Every float rounded to 12 significant digits, recursively.

    RFC 8785 prints a double in its shortest round-trip form, which can take 17 digits; two
    17-digit decimals may read back as the same double, so a changed last digit would still
    verify. Below 15 significant digits every decimal maps to its own double, so in the signed
    document every digit counts.
    """
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _sig_digits(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sig_digits(v) for v in value]
    return value


def _evidence_json(
    families: Mapping[str, FamilyEvidence],
    runs: list[dict[str, Any]],
    compute: float | None,
    params: int | None,
    source: str,
) -> dict[str, Any]:
    return {
        "runs": runs,
        "families": {
            f: {
                "successes": e.successes,
                "n": e.n,
                "rate": e.rate,
                "low": e.low,
                "high": e.high,
                "method": e.method,
            }
            for f, e in sorted(families.items())
        },
        "declared": {"training_compute_flop": compute, "parameter_count": params, "source": source},
    }


# --------------------------------------------------------------------------- determinations


@dataclass(frozen=True)
class DeterminationView:
    """A determination as one principal may see it: thresholds only for officials (or when the
    policy publishes them)."""

    row: Determination
    criteria: list[dict[str, Any]]
    developer: str
    issuer: str
    official: bool


def _visible(session: Session, principal: Principal) -> ColumnElement[bool]:
    if principal.is_operator or is_official(session, principal):
        return true()
    return visible_clause(Determination, OBJ_DET, principal)


def _org_name(session: Session, org_id: uuid.UUID) -> str:
    org = session.get(Organization, org_id)
    return org.name if org else str(org_id)


def determine(
    session: Session,
    principal: Principal,
    box: SecretBox,
    *,
    model_name: str,
    model_version: str,
    policy_version: str,
    developer_org_id: uuid.UUID,
    training_compute_flop: float | None = None,
    parameter_count: int | None = None,
    declared_source: str = "determination_request",
    submission_id: uuid.UUID | None = None,
    submitted_at: dt.datetime | None = None,
    supersedes: Determination | None = None,
    basis: str = "policy",
    override: dict[str, Any] | None = None,
) -> Determination:
    """Apply a policy version to a model version's evidence and issue a signed determination
    with its notice (officials).

    Evidence is the model version's capability profile (evaluation runs and their log hashes)
    and the declared training compute and parameter count. A determination without any
    evidence is refused.
    """
    _require_official(session, principal, "issuing a determination")
    model_name, model_version = model_name.strip(), model_version.strip()
    if not model_name or len(model_name) > 200:
        raise InvalidInput.on("model", "give the model name (1-200 characters)")
    if not model_version or len(model_version) > 100:
        raise InvalidInput.on("version", "give the model version (1-100 characters)")
    _check_declared(training_compute_flop, parameter_count)
    pol_row = _policy_row(session, policy_version)
    if pol_row is None:
        raise InvalidInput.on("policy", f"no published policy version {policy_version!r}")
    developer = session.get(Organization, developer_org_id)
    if developer is None:
        raise InvalidInput.on("developer", f"no organisation {developer_org_id}")
    document, _text = _decrypt_policy(box, pol_row)
    pol = Policy.from_document(document)

    families, runs = _profile_evidence(session, principal, model_name, model_version)
    evidence = Evidence(
        training_compute_flop=training_compute_flop, parameter_count=parameter_count, families=families
    )
    if evidence.empty:
        raise InvalidInput(
            f"a determination needs evidence: {model_name} {model_version} has no evaluation runs you can "
            "see and no declared training compute or parameter count",
            errors=[FieldError("evidence", "no evaluation runs and no declared compute or parameter count")],
        )
    outcome = policy_rules.evaluate(pol, evidence)
    result = outcome.result
    if override is not None:
        result = override["result"]
    disclose = not pol.confidential_thresholds
    criteria = _sig_digits([c.as_dict(include_threshold=disclose) for c in outcome.criteria])
    ev_json = _sig_digits(
        _evidence_json(families, runs, training_compute_flop, parameter_count, declared_source)
    )
    det_id = new_id()
    issued_at = utcnow()
    payload: dict[str, Any] = {
        "type": DOCUMENT_TYPE,
        "version": 1,
        "id": str(det_id),
        "issued_at": issued_at.isoformat(),
        "issuer": {"org_id": str(principal.org_id), "org": _org_name(session, principal.org_id)}
        if principal.org_id
        else {},
        "subject": {
            "developer_org_id": str(developer.id),
            "developer": developer.name,
            "model": model_name,
            "model_version": model_version,
        },
        "policy": {"version": pol.version, "commitment": pol_row.commitment, "rule": outcome.rule},
        "result": result,
        "computed_result": outcome.result,
        "groups": outcome.groups,
        "criteria": criteria,
        "evidence": ev_json,
        "basis": basis,
        "supersedes": str(supersedes.id) if supersedes else None,
    }
    if override is not None:
        payload["override"] = override
    signed = sign_document(session, box, payload)
    assert principal.org_id is not None
    row = Determination(
        id=det_id,
        model_name=model_name,
        model_version=model_version,
        issuer_org_id=principal.org_id,
        policy_id=pol_row.id,
        policy_version=pol.version,
        policy_commitment=pol_row.commitment,
        result=result,
        basis=basis,
        criteria=criteria,
        thresholds_encrypted=None
        if disclose
        else box.encrypt_str(json.dumps({c.id: c.threshold for c in outcome.criteria})),
        evidence=ev_json,
        document=signed,
        signature_kid=signed["signature"]["kid"],
        issued_at=issued_at,
        submission_id=submission_id,
        submitted_at=submitted_at,
        status="current",
        supersedes_id=supersedes.id if supersedes else None,
        owner_org_id=developer.id,
        tlp="AMBER",
        created_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    if supersedes is not None:
        supersedes.status = "superseded"
        supersedes.superseded_by_id = row.id
        supersedes.reevaluation_due_at = None
        supersedes.reevaluation_reason = None
        supersedes.reevaluation_version = None
    session.add(
        Notice(
            determination_id=row.id,
            headline=_headline(developer.name, model_name, model_version, result, pol.version),
            reasons=criteria,
            policy_summary=pol_row.summary,
            owner_org_id=developer.id,
            tlp="AMBER",
            created_by=principal.user_id,
        )
    )
    session.flush()
    record(
        session,
        principal,
        "designation.determine",
        object_type=OBJ_DET,
        object_id=row.id,
        tlp="AMBER",
        details={
            "model": model_name,
            "version": model_version,
            "policy": pol.version,
            "result": result,
            "basis": basis,
            "supersedes": str(supersedes.id) if supersedes else None,
        },
    )
    return row


def issue_determination(
    session: Session,
    principal: Principal,
    box: SecretBox,
    *,
    model_name: str,
    model_version: str,
    policy_version: str,
    developer_org_id: uuid.UUID | None = None,
    training_compute_flop: float | None = None,
    parameter_count: int | None = None,
) -> Determination:
    """Issue a determination for a model version (officials). The developer organisation and the
    declared compute and size come from the model's review submission when there is one; values
    given here take precedence over the declarations and are recorded as such."""
    _require_official(session, principal, "issuing a determination")
    sub = review_link.submission_facts(session, model_name.strip(), model_version.strip())
    if sub is not None:
        if developer_org_id is not None and developer_org_id != sub.developer_org_id:
            raise InvalidInput.on("developer", "differs from the developer of the review submission")
        given = training_compute_flop is not None or parameter_count is not None
        return determine(
            session,
            principal,
            box,
            model_name=model_name,
            model_version=model_version,
            policy_version=policy_version,
            developer_org_id=sub.developer_org_id,
            training_compute_flop=training_compute_flop
            if training_compute_flop is not None
            else sub.training_compute_flop,
            parameter_count=parameter_count if parameter_count is not None else sub.parameter_count,
            declared_source="determination_request" if given else "review_submission",
            submission_id=sub.submission_id,
            submitted_at=sub.submitted_at,
        )
    if developer_org_id is None:
        raise InvalidInput.on(
            "developer",
            f"no review submission of {model_name} {model_version} names its developer: "
            "give the developer organisation",
        )
    return determine(
        session,
        principal,
        box,
        model_name=model_name,
        model_version=model_version,
        policy_version=policy_version,
        developer_org_id=developer_org_id,
        training_compute_flop=training_compute_flop,
        parameter_count=parameter_count,
    )


def _headline(developer: str, model: str, version: str, result: str, policy_version: str) -> str:
    what = {
        "covered": "is a covered frontier model",
        "not_covered": "is not a covered frontier model",
        "insufficient_evidence": "could not be determined: the evidence is insufficient",
    }[result]
    return f"{developer}'s {model} {version} {what} under policy {policy_version}"


def list_determinations(
    session: Session,
    principal: Principal,
    *,
    result: str | None = None,
    include_superseded: bool = True,
    limit: int = 200,
) -> list[Determination]:
    """Determinations the principal may see, newest first."""
    if result is not None and result not in RESULTS:
        raise InvalidInput.on("result", f"one of {', '.join(RESULTS)}")
    q = select(Determination).where(_visible(session, principal))
    if result:
        q = q.where(Determination.result == result)
    if not include_superseded:
        q = q.where(Determination.status == "current")
    return list(session.execute(q.order_by(Determination.issued_at.desc()).limit(limit)).scalars())


def get_determination(
    session: Session, principal: Principal, box: SecretBox, determination_id: uuid.UUID
) -> DeterminationView:
    """One determination (audited read); *not found* for anyone who may not see it."""
    row = (
        session.execute(
            select(Determination).where(Determination.id == determination_id, _visible(session, principal))
        )
        .scalars()
        .first()
    )
    if row is None:
        raise NotFound(f"determination {determination_id} not found")
    record_read(session, principal, object_type=OBJ_DET, object_id=row.id, tlp=row.tlp)
    return _view(session, box, row, principal.is_operator or is_official(session, principal))


def determination_views(
    session: Session, principal: Principal, box: SecretBox, rows: Sequence[Determination]
) -> list[DeterminationView]:
    """Views of rows from :func:`list_determinations` (thresholds for officials only)."""
    official = principal.is_operator or is_official(session, principal)
    return [_view(session, box, r, official) for r in rows]


def _view(session: Session, box: SecretBox, row: Determination, official: bool) -> DeterminationView:
    criteria = [dict(c) for c in row.criteria]
    if official and row.thresholds_encrypted:
        thresholds = json.loads(box.decrypt_str(row.thresholds_encrypted))
        for c in criteria:
            c["threshold"] = thresholds.get(c["id"])
    return DeterminationView(
        row=row,
        criteria=criteria,
        developer=_org_name(session, row.owner_org_id),
        issuer=_org_name(session, row.issuer_org_id),
        official=official,
    )


def list_notices(session: Session, principal: Principal, *, limit: int = 100) -> list[Notice]:
    """Notices of determinations the principal may see (a developer: its own), newest first."""
    if principal.is_operator or is_official(session, principal):
        clause: ColumnElement[bool] = true()
    else:
        clause = visible_clause(Notice, "designation_notice", principal)
    return list(
        session.execute(
            select(Notice).where(clause).order_by(Notice.created_at.desc()).limit(limit)
        ).scalars()
    )


def notice_of(session: Session, determination_id: uuid.UUID) -> Notice | None:
    """The notice of a determination (callers have checked visibility)."""
    return (
        session.execute(select(Notice).where(Notice.determination_id == determination_id)).scalars().first()
    )


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of verifying a signed determination."""

    ok: bool
    reason: str
    determination_id: str | None = None
    result: str | None = None
    policy_version: str | None = None
    commitment: str | None = None
    kid: str | None = None


def _canonical_b64u(text: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == text


def verify_signed_determination(
    document: Any, keyset: Mapping[str, Any], published: Mapping[str, str]
) -> VerifyReport:
    """Verify a signed determination offline: the Ed25519 signature over the RFC 8785 payload
    against ``keyset`` (a JWK set), then the cited policy commitment against ``published``
    (version → commitment, as published by the deployment)."""
    sig = document.get("signature") if isinstance(document, dict) else None
    value = sig.get("value") if isinstance(sig, dict) else None
    if isinstance(value, str) and not _canonical_b64u(value):
        # Base64 leaves spare bits in the last character; a decoder ignores them, so a changed
        # character there would still "verify". Only the canonical encoding is accepted.
        return VerifyReport(False, "signature value is not canonical base64url")
    try:
        payload = verify_document(document, dict(keyset))
    except InvalidInput as exc:
        return VerifyReport(False, exc.errors[0].message if exc.errors else exc.detail)
    if payload.get("type") != DOCUMENT_TYPE:
        return VerifyReport(False, f"not a determination (type {payload.get('type')!r})")
    pol = payload.get("policy") or {}
    version, commitment = str(pol.get("version")), pol.get("commitment")
    base = {
        "determination_id": payload.get("id"),
        "result": payload.get("result"),
        "policy_version": version,
        "commitment": commitment,
        "kid": document["signature"]["kid"],
    }
    if version not in published:
        return VerifyReport(False, f"policy version {version!r} is not among the published policies", **base)
    if published[version] != commitment:
        return VerifyReport(
            False,
            f"the policy commitment {commitment} does not match the published commitment "
            f"{published[version]} of version {version}",
            **base,
        )
    return VerifyReport(True, "signature valid; policy commitment matches the published version", **base)


# --------------------------------------------------------------------------- reconsideration


def _visible_recon(session: Session, principal: Principal) -> ColumnElement[bool]:
    if principal.is_operator or is_official(session, principal):
        return true()
    return visible_clause(Reconsideration, OBJ_RECON, principal)


def reconsideration_clock(
    det: Determination, request_days: int, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The request deadline of a determination and whether it is still open."""
    now = now or utcnow()
    deadline = det.issued_at + dt.timedelta(days=request_days)
    return {"deadline": deadline, "open": now <= deadline and det.status == "current", "days": request_days}


def request_reconsideration(
    session: Session,
    principal: Principal,
    determination_id: uuid.UUID,
    *,
    reason: str,
    request_days: int,
    decision_days: int,
    training_compute_flop: float | None = None,
    parameter_count: int | None = None,
    now: dt.datetime | None = None,
) -> Reconsideration:
    """The developer asks officials to reconsider a determination, with arguments and, optionally,
    corrected declarations. Refused after ``request_days`` (the reason names the deadline), for a
    superseded determination, or while another request is open."""
    now = now or utcnow()
    det = (
        session.execute(
            select(Determination).where(Determination.id == determination_id, _visible(session, principal))
        )
        .scalars()
        .first()
    )
    if det is None:
        raise NotFound(f"determination {determination_id} not found")
    if principal.org_id != det.owner_org_id:
        raise PermissionDenied("only the developer organisation may request reconsideration")
    principal.require_role(Role.MEMBER, "requesting reconsideration")
    text = (reason or "").strip()
    if len(text) < 10 or len(text) > 10_000:
        raise InvalidInput.on("reason", "explain the request (10 to 10,000 characters)")
    _check_declared(training_compute_flop, parameter_count)
    if det.status != "current":
        raise PreconditionFailed(
            f"determination {det.id} was superseded by {det.superseded_by_id}: ask to reconsider that one"
        )
    deadline = det.issued_at + dt.timedelta(days=request_days)
    if now > deadline:
        raise ReconsiderationPeriodClosed(
            f"the reconsideration period of determination {det.id} ended on {deadline:%Y-%m-%d %H:%M} UTC, "
            f"{request_days} days after it was issued on {det.issued_at:%Y-%m-%d}",
            errors=[FieldError("determination_id", f"reconsideration period ended {deadline:%Y-%m-%d}")],
            deadline=deadline.isoformat(),
        )
    open_one = session.execute(
        select(Reconsideration.id).where(
            Reconsideration.determination_id == det.id, Reconsideration.status.in_(OPEN_STATES)
        )
    ).first()
    if open_one is not None:
        raise Conflict(f"reconsideration {open_one[0]} of this determination is still open")
    row = Reconsideration(
        determination_id=det.id,
        reason=text,
        evidence={
            k: v
            for k, v in (
                ("training_compute_flop", training_compute_flop),
                ("parameter_count", parameter_count),
            )
            if v is not None
        },
        status="requested",
        requested_at=now,
        request_deadline=deadline,
        decision_due=now + dt.timedelta(days=decision_days),
        owner_org_id=det.owner_org_id,
        tlp="AMBER",
        created_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        principal,
        "designation.reconsideration.request",
        object_type=OBJ_RECON,
        object_id=row.id,
        tlp="AMBER",
        details={"determination": str(det.id), "decision_due": row.decision_due.isoformat()},
    )
    return row


def _recon_for_update(session: Session, principal: Principal, recon_id: uuid.UUID) -> Reconsideration:
    row = (
        session.execute(
            select(Reconsideration).where(Reconsideration.id == recon_id, _visible_recon(session, principal))
        )
        .scalars()
        .first()
    )
    if row is None:
        raise NotFound(f"reconsideration {recon_id} not found")
    return row


def get_reconsideration(session: Session, principal: Principal, recon_id: uuid.UUID) -> Reconsideration:
    """One reconsideration (audited read); *not found* for anyone who may not see it."""
    row = _recon_for_update(session, principal, recon_id)
    record_read(session, principal, object_type=OBJ_RECON, object_id=row.id, tlp=row.tlp)
    return row


def list_reconsiderations(
    session: Session, principal: Principal, *, limit: int = 200
) -> list[Reconsideration]:
    """Reconsiderations the principal may see, newest first."""
    q = select(Reconsideration).where(_visible_recon(session, principal))
    return list(session.execute(q.order_by(Reconsideration.requested_at.desc()).limit(limit)).scalars())


def reconsiderations_of(session: Session, determination_id: uuid.UUID) -> list[Reconsideration]:
    """Every reconsideration of a determination (callers have checked visibility)."""
    q = select(Reconsideration).where(Reconsideration.determination_id == determination_id)
    return list(session.execute(q.order_by(Reconsideration.requested_at)).scalars())


def open_reconsideration_for(session: Session, principal: Principal, any_id: uuid.UUID) -> uuid.UUID:
    """``any_id`` itself when it names a reconsideration; the open request of a determination when
    it names a determination (what ``designation decide ID`` accepts)."""
    if session.get(Reconsideration, any_id) is not None:
        return any_id
    found = session.execute(
        select(Reconsideration.id).where(
            Reconsideration.determination_id == any_id,
            Reconsideration.status.in_(OPEN_STATES),
            _visible_recon(session, principal),
        )
    ).first()
    if found is None:
        raise NotFound(f"no open reconsideration {any_id} (nor one of determination {any_id})")
    return uuid.UUID(str(found[0]))


def start_review(
    session: Session, principal: Principal, recon_id: uuid.UUID, *, now: dt.datetime | None = None
) -> Reconsideration:
    """An official takes up a request: requested → under_review."""
    row = _recon_for_update(session, principal, recon_id)
    _require_official(session, principal, "reviewing a reconsideration")
    if row.status != "requested":
        raise Conflict(f"reconsideration {row.id} is {row.status}, not requested")
    row.status = "under_review"
    row.review_started_at = now or utcnow()
    row.review_started_by = principal.user_id
    session.flush()
    record(
        session,
        principal,
        "designation.reconsideration.review",
        object_type=OBJ_RECON,
        object_id=row.id,
        tlp="AMBER",
    )
    return row


_FLIP = {"covered": "not_covered", "not_covered": "covered"}


def decide_reconsideration(
    session: Session,
    principal: Principal,
    box: SecretBox,
    recon_id: uuid.UUID,
    *,
    outcome: str,
    rationale: str,
    now: dt.datetime | None = None,
) -> Reconsideration:
    """Officials decide a request.

    * ``upheld`` — the determination stands;
    * ``modified`` — the policy version that was applied is applied again to fresh evidence (new
      evaluation runs, and the declarations corrected in the request); the new signed determination
      supersedes the old one;
    * ``reversed`` — the officials overturn the result (covered ↔ not covered) on the developer's
      arguments; a new signed determination records the override and its rationale.

    A decision after the due date is accepted (the developer is owed an answer) and marked late.
    """
    now = now or utcnow()
    row = _recon_for_update(session, principal, recon_id)
    _require_official(session, principal, "deciding a reconsideration")
    if outcome not in OUTCOMES:
        raise InvalidInput.on("outcome", f"one of {', '.join(OUTCOMES)}")
    why = (rationale or "").strip()
    if len(why) < 10 or len(why) > 10_000:
        raise InvalidInput.on("rationale", "give the reasons for the decision (10 to 10,000 characters)")
    if row.status not in OPEN_STATES:
        raise Conflict(f"reconsideration {row.id} was already decided ({row.status})")
    det = session.get(Determination, row.determination_id)
    assert det is not None
    if outcome != "upheld" and det.status != "current":
        raise PreconditionFailed(f"determination {det.id} was superseded meanwhile; uphold or re-request")
    new_det: Determination | None = None
    declared = det.evidence.get("declared", {})
    compute = row.evidence.get("training_compute_flop", declared.get("training_compute_flop"))
    params = row.evidence.get("parameter_count", declared.get("parameter_count"))
    common: dict[str, Any] = {
        "model_name": det.model_name,
        "model_version": det.model_version,
        "policy_version": det.policy_version,
        "developer_org_id": det.owner_org_id,
        "training_compute_flop": compute,
        "parameter_count": params,
        "declared_source": "reconsideration_request"
        if row.evidence
        else declared.get("source", "determination_request"),
        "submission_id": det.submission_id,
        "submitted_at": det.submitted_at,
        "supersedes": det,
        "basis": "reconsideration",
    }
    if outcome == "modified":
        new_det = determine(session, principal, box, **common)
    elif outcome == "reversed":
        if det.result not in _FLIP:
            raise InvalidInput.on(
                "outcome", "an insufficient-evidence determination cannot be reversed: decide 'modified'"
            )
        new_det = determine(
            session,
            principal,
            box,
            **common,
            override={
                "result": _FLIP[det.result],
                "by": "reconsideration",
                "reconsideration_id": str(row.id),
                "rationale": why,
            },
        )
    row.status = outcome
    row.decided_at = now
    row.decided_by = principal.user_id
    row.decision_rationale = why
    row.new_determination_id = new_det.id if new_det else None
    if row.review_started_at is None:
        row.review_started_at = now
        row.review_started_by = principal.user_id
    session.flush()
    record(
        session,
        principal,
        "designation.reconsideration.decide",
        object_type=OBJ_RECON,
        object_id=row.id,
        tlp="AMBER",
        details={
            "outcome": outcome,
            "late": now > row.decision_due,
            "new_determination": str(new_det.id) if new_det else None,
        },
    )
    return row


# --------------------------------------------------------------------------- re-evaluation


def _flag(session: Session, query: Any, reason: str, version: str | None = None) -> int:
    n = 0
    for det in session.execute(query).scalars():
        det.reevaluation_due_at = det.reevaluation_due_at or utcnow()
        det.reevaluation_reason = reason[:300]
        if version is not None:
            det.reevaluation_version = version
        n += 1
    session.flush()
    return n


def flag_new_model_version(
    session: Session, principal: Principal, *, model_name: str, new_version: str, developer_org_id: uuid.UUID
) -> int:
    """A developer has a new version of a model: mark the current determinations of its other
    versions re-evaluation due (the review area calls this on submission). Returns how many."""
    n = _flag(
        session,
        select(Determination).where(
            Determination.status == "current",
            Determination.model_name == model_name,
            Determination.model_version != new_version,
            Determination.owner_org_id == developer_org_id,
        ),
        f"new model version {new_version}",
        new_version,
    )
    if n:
        record(
            session,
            principal,
            "designation.reevaluation.flag",
            object_type=OBJ_DET,
            object_id=f"{model_name}@{new_version}",
            details={"flagged": n},
        )
    return n


def reevaluate(
    session: Session, principal: Principal, box: SecretBox, determination_id: uuid.UUID
) -> Determination:
    """Re-run one determination marked re-evaluation due, under the newest policy version with
    fresh evidence (officials).

    After a new policy version the model version is determined again and the new signed
    determination supersedes the old one. After a new model version that version is determined
    (its declarations from its review submission) and the old version's determination stays in
    force for the old version.
    """
    _require_official(session, principal, "re-evaluating a determination")
    det = session.get(Determination, determination_id)
    if det is None:
        raise NotFound(f"determination {determination_id} not found")
    if det.status != "current":
        raise Conflict(f"determination {det.id} was already superseded by {det.superseded_by_id}")
    latest = _latest_policy(session)
    assert latest is not None  # the determination itself applied one
    if det.reevaluation_version and det.reevaluation_version != det.model_version:
        new = issue_determination(
            session,
            principal,
            box,
            model_name=det.model_name,
            model_version=det.reevaluation_version,
            policy_version=latest.version,
            developer_org_id=det.owner_org_id,
        )
        det.reevaluation_due_at = det.reevaluation_reason = det.reevaluation_version = None
        session.flush()
        return new
    declared = det.evidence.get("declared", {})
    return determine(
        session,
        principal,
        box,
        model_name=det.model_name,
        model_version=det.model_version,
        policy_version=latest.version,
        developer_org_id=det.owner_org_id,
        training_compute_flop=declared.get("training_compute_flop"),
        parameter_count=declared.get("parameter_count"),
        declared_source=declared.get("source", "determination_request"),
        submission_id=det.submission_id,
        submitted_at=det.submitted_at,
        supersedes=det,
        basis="re-evaluation",
    )


def reevaluate_due(session: Session, principal: Principal, box: SecretBox) -> list[Determination]:
    """Re-run every current determination marked re-evaluation due (officials). One that cannot
    be re-run yet (a new model version without any evidence) stays due."""
    _require_official(session, principal, "re-evaluating determinations")
    due = list(
        session.execute(
            select(Determination.id).where(
                Determination.status == "current", Determination.reevaluation_due_at.is_not(None)
            )
        ).scalars()
    )
    out: list[Determination] = []
    for det_id in due:
        try:
            with session.begin_nested():
                out.append(reevaluate(session, principal, box, det_id))
        except InvalidInput:
            continue
    return out


def request_reevaluation(session: Session, principal: Principal) -> Any:
    """Queue the re-evaluation of every due determination as a background job (officials)."""
    _require_official(session, principal, "re-evaluating determinations")
    assert principal.org_id is not None
    assert principal.user_id is not None
    return enqueue(
        session,
        principal,
        "designation.reevaluate",
        {"user_id": str(principal.user_id)},
        owner_org_id=principal.org_id,
    )


# --------------------------------------------------------------------------- transparency


def _median_days(pairs: Sequence[tuple[dt.datetime | None, dt.datetime | None]]) -> float | None:
    days = [(b - a).total_seconds() / 86400 for a, b in pairs if a is not None and b is not None and b >= a]
    return round(statistics.median(days), 1) if days else None


def transparency(session: Session, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Aggregate, non-confidential figures for the public transparency page."""
    now = now or utcnow()
    by_result: Counter[str] = Counter()
    for result, n in session.execute(
        select(Determination.result, func.count()).group_by(Determination.result)
    ):
        by_result[result] = int(n)
    current: Counter[str] = Counter()
    for result, n in session.execute(
        select(Determination.result, func.count())
        .where(Determination.status == "current")
        .group_by(Determination.result)
    ):
        current[result] = int(n)
    recs = list(session.execute(select(Reconsideration)).scalars())
    by_status = Counter(r.status for r in recs)
    open_overdue = sum(1 for r in recs if r.status in OPEN_STATES and now > r.decision_due)
    late = sum(1 for r in recs if r.decided_at is not None and r.decided_at > r.decision_due)
    dets = [(a, b) for a, b in session.execute(select(Determination.submitted_at, Determination.issued_at))]
    submissions = _submission_count(session)
    return {
        "generated_at": now,
        "submissions": submissions,
        "determinations": {
            "issued": sum(by_result.values()),
            "by_result": {r: by_result.get(r, 0) for r in RESULTS},
            "current_by_result": {r: current.get(r, 0) for r in RESULTS},
            "reevaluation_due": session.execute(
                select(func.count())
                .select_from(Determination)
                .where(Determination.status == "current", Determination.reevaluation_due_at.is_not(None))
            ).scalar_one(),
        },
        "reconsiderations": {
            "requested": len(recs),
            "by_status": {s: by_status.get(s, 0) for s in ("requested", "under_review", *OUTCOMES)},
            "open_past_due": open_overdue,
            "decided_late": late,
        },
        "median_days": {
            "submission_to_determination": _median_days(list(dets)),
            "request_to_decision": _median_days([(r.requested_at, r.decided_at) for r in recs]),
        },
        "policies": [
            {
                "version": p.version,
                "title": p.title,
                "effective": p.effective,
                "commitment": p.commitment,
                "published_at": p.created_at,
                "summary": p.summary,
            }
            for p in published_policies(session)
        ],
    }


def _submission_count(session: Session) -> int | None:
    """Pre-release submissions (from the review area)."""
    return review_link.submission_count(session)
