"""Demo content for the designation area (called by ``frontiersec demo load`` after the
organisations, users, evaluation runs and review submissions exist; idempotent).

It makes the NSA evaluator a designation official, publishes policy 2026.1 (the YAML shipped in
``designation/policies/``), and determines Example AI Lab's submitted model version on the
evidence that exists: its evaluation runs (capability profile) and the compute and size its
submission declares. No number is invented: without runs the capability criteria are
*unknown* and the result says so. The developer then requests reconsideration and the
official decides it.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.designation import review_link, service
from frontiersec.designation.models import (
    DesignationOfficial,
    DesignationPolicy,
    Determination,
    Reconsideration,
)
from frontiersec.platform.auth.models import Organization, User
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.auth.service import principal_for_email
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.platform.signing import ensure_signing_key

OFFICIAL = "evaluator@nsa.example"
DEVELOPER = "security@ailab.example"
DEVELOPER_ORG = "Example AI Lab"
POLICY_FILE = "cyber-2026.1.yaml"


def demo_policy_yaml() -> str:
    """The demo policy document shipped with the package."""
    return resources.files("frontiersec.designation").joinpath("policies", POLICY_FILE).read_text()


def seed_demo(session: Session, settings: Any, box: SecretBox) -> dict[str, Any]:
    """Create this area's demo records once; return counts for the summary."""
    official_user = session.execute(select(User).where(User.email == OFFICIAL)).scalars().first()
    dev_org = (
        session.execute(select(Organization).where(Organization.name == DEVELOPER_ORG)).scalars().first()
    )
    if official_user is None or dev_org is None:
        return {"skipped": "demo organisations are missing"}
    out: dict[str, Any] = {}
    if (
        session.execute(
            select(DesignationOfficial).where(DesignationOfficial.user_id == official_user.id)
        ).first()
        is None
    ):
        service.grant_official(session, SYSTEM, OFFICIAL)
        out["officials"] = 1
    official = principal_for_email(session, OFFICIAL, via="system")
    ensure_signing_key(session, box)

    text = demo_policy_yaml()
    policy = (
        session.execute(select(DesignationPolicy).order_by(DesignationPolicy.created_at)).scalars().first()
    )
    if policy is None:
        policy = service.add_policy(session, official, box, text)
        out["policies"] = 1

    subs = review_link.submissions_of(session, dev_org.id)
    if not subs:
        out["determinations"] = "none: no review submission of Example AI Lab to determine"
        return out
    sub = subs[0]
    det = (
        session.execute(
            select(Determination).where(
                Determination.model_name == sub.model_name, Determination.model_version == sub.model_version
            )
        )
        .scalars()
        .first()
    )
    if det is None:
        det = service.issue_determination(
            session,
            official,
            box,
            model_name=sub.model_name,
            model_version=sub.model_version,
            policy_version=policy.version,
        )
        out["determinations"] = 1
        out["result"] = det.result

    if (
        session.execute(select(Reconsideration.id).where(Reconsideration.determination_id == det.id)).first()
        is None
    ):
        developer = principal_for_email(session, DEVELOPER, via="system")
        recon = service.request_reconsideration(
            session,
            developer,
            det.id,
            reason=_developer_reason(det.result),
            request_days=int(settings.reconsideration_request_days),
            decision_days=int(settings.reconsideration_decision_days),
        )
        service.start_review(session, official, recon.id)
        service.decide_reconsideration(
            session, official, box, recon.id, outcome="upheld", rationale=_official_rationale(det.result)
        )
        out["reconsiderations"] = 1
    return out


def _developer_reason(result: str) -> str:
    if result == "insufficient_evidence":
        return (
            "The determination leaves our model undetermined. We ask the agencies to complete the "
            "cyber-core evaluation of this version before the window closes, or to state what evidence "
            "would settle the capability criteria."
        )
    return (
        "We believe the exploitation tasks over-weight memory-safety targets that our deployment "
        "filters block; we ask that the determination take the deployed safeguards into account."
    )


def _official_rationale(result: str) -> str:
    if result == "insufficient_evidence":
        return (
            "Upheld: without scored evaluation samples the capability criteria cannot be met or unmet, "
            "so the policy gives insufficient evidence. A new determination will follow the next "
            "finished evaluation run of this version."
        )
    return (
        "Upheld: policy 2026.1 measures the model's capability without deployment safeguards, which "
        "can be removed by anyone holding the weights; the criteria were applied as published."
    )
