"""Fixtures of the review integration tests: a developer organisation, agency officials (two on
the team, one of the same agency not on it), another organisation's user and an operator."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from frontiersec.platform.auth.models import User
from frontiersec.platform.clock import utcnow
from frontiersec.platform.runtime import Runtime
from frontiersec.review import service
from frontiersec.settings import Settings
from tests.factories import make_org, make_user, principal_of

CREDENTIAL = "sk-review-test-7f3a9c2e5b1d4f60a8e2c9b7d3f1a5e4"
SYSTEM_CARD = b"# Example system card\n\nCyber capabilities: evaluated internally on CTF-style tasks.\n"


@dataclass
class People:
    dev: User  # admin of the AI developer organisation
    dev_member: User
    evaluator: User  # agency analyst on the team
    analyst: User  # second agency analyst on the team (another agency)
    outsider: User  # analyst of the evaluator's agency, not on the team
    other: User  # admin of an unrelated organisation
    operator: User  # platform operator (not on the team)


@pytest.fixture
def people(session: Session) -> People:
    """Everyone a review involves, committed."""
    lab = make_org(session, kind="ai_developer")
    nsa = make_org(session, kind="government_agency")
    cisa = make_org(session, kind="government_agency")
    bank = make_org(session, kind="critical_infrastructure_operator")
    ops = make_org(session, kind="government_agency")
    p = People(
        dev=make_user(session, lab, role="admin"),
        dev_member=make_user(session, lab, role="member"),
        evaluator=make_user(session, nsa, role="analyst"),
        analyst=make_user(session, cisa, role="analyst"),
        outsider=make_user(session, nsa, role="analyst"),
        other=make_user(session, bank, role="admin"),
        operator=make_user(session, ops, role="admin", operator=True),
    )
    session.commit()
    return p


def release_in(days: int) -> dt.date:
    """A release date ``days`` after today (UTC)."""
    return utcnow().date() + dt.timedelta(days=days)


def submit(
    session: Session,
    rt: Runtime,
    people: People,
    *,
    days: int = 20,
    credential: str | None = CREDENTIAL,
    documents: bool = True,
    now: dt.datetime | None = None,
    **kw: object,
) -> uuid.UUID:
    """A committed submission by the developer, with the evaluator and the analyst on its team."""
    base = (now or utcnow()).date()
    data = service.SubmissionInput(
        model_name=str(kw.pop("model_name", "lab-frontier")),
        model_version=str(kw.pop("model_version", "2.0")),
        release_date=base + dt.timedelta(days=days),
        access_level="black-box",
        endpoint_url="https://api.ailab.example/v1",
        credential=credential,
        training_compute_flop=3e25,
        parameter_count=400_000_000_000,
        reviewers=[people.evaluator.email, people.analyst.email],
        schedule_evaluation=bool(kw.pop("schedule_evaluation", False)),
        **kw,  # type: ignore[arg-type]
    )
    docs = (
        [service.DocumentInput("system-card.md", SYSTEM_CARD, "text/markdown", "system_card")]
        if documents
        else []
    )
    sub = service.submit_model(
        session,
        principal_of(session, people.dev),
        data,
        box=rt.box,
        settings=rt.settings,
        documents=docs,
        now=now,
    )
    sid = sub.id
    session.commit()
    session.expire_all()
    return sid


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No tokenizer or model download: an empty tiktoken cache, Hugging Face offline."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The integration settings, with review runs kept to one task."""
    return settings.model_copy(update={"review_eval_limit": 1})
