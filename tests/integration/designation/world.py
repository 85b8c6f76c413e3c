"""Records the designation tests share: an agency with a designation official, two developers,
evaluation runs with chosen counts, and the shipped policy published."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from importlib import resources

from sqlalchemy.orm import Session

from frontiersec.designation import service
from frontiersec.designation.models import DesignationPolicy
from frontiersec.evals.models import EvalRun, EvalSample
from frontiersec.platform.auth.models import Organization, User
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.platform.signing import ensure_signing_key
from tests.factories import make_org, make_user, principal_of

POLICY_YAML = resources.files("frontiersec.designation").joinpath("policies", "cyber-2026.1.yaml").read_text()


@dataclass
class World:
    agency: Organization
    official: User
    clerk: User  # agency member, not an official
    dev: Organization
    dev_member: User
    dev_viewer: User
    other_dev: Organization
    other_member: User

    def p(self, session: Session, user: User) -> Principal:
        return principal_of(session, user)


def make_world(session: Session, box: SecretBox) -> World:
    agency = make_org(session, kind="government_agency")
    official = make_user(session, agency, role="analyst")
    clerk = make_user(session, agency, role="admin")
    dev = make_org(session, kind="ai_developer")
    other = make_org(session, kind="ai_developer")
    w = World(
        agency=agency,
        official=official,
        clerk=clerk,
        dev=dev,
        dev_member=make_user(session, dev, role="member"),
        dev_viewer=make_user(session, dev, role="viewer"),
        other_dev=other,
        other_member=make_user(session, other, role="admin"),
    )
    service.grant_official(session, SYSTEM, official.email)
    ensure_signing_key(session, box)
    session.flush()
    return w


def publish(session: Session, box: SecretBox, w: World, text: str = POLICY_YAML) -> DesignationPolicy:
    return service.add_policy(session, w.p(session, w.official), box, text)


def add_run(
    session: Session,
    owner: Organization,
    model_name: str,
    model_version: str,
    counts: dict[str, tuple[int, int]],
) -> EvalRun:
    """A finished run with ``successes`` of ``n`` distinct samples solved per family."""
    log = f"{model_name}@{model_version}:{sorted(counts.items())}".encode()
    run = EvalRun(
        suite="cyber-core",
        model=f"openai/{model_name}",
        model_name=model_name,
        model_version=model_version,
        status="succeeded",
        samples_total=sum(n for _s, n in counts.values()),
        samples_done=sum(n for _s, n in counts.values()),
        log_sha256=hashlib.sha256(log).hexdigest(),
        finished_at=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC),
        owner_org_id=owner.id,
        tlp="AMBER",
    )
    session.add(run)
    session.flush()
    for family, (successes, n) in counts.items():
        for i in range(n):
            session.add(
                EvalSample(
                    run_id=run.id,
                    task_id=f"{family}_{i:03d}",
                    sample_id=f"{family}_{i:03d}",
                    family=family,
                    epoch=1,
                    score=1.0 if i < successes else 0.0,
                )
            )
    session.flush()
    return run
