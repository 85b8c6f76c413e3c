"""Fixtures of the evals integration tests: offline Inspect, an agency analyst, task picks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from frontiersec.evals.catalog import FAMILIES, load_tasks
from frontiersec.platform.auth.models import User
from tests.factories import make_org, make_user


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No tokenizer or model download may be needed: an empty tiktoken cache, HF offline."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def one_per_family() -> list[str]:
    """The first task of each family (catalog order): a small run that covers every family."""
    specs = load_tasks()
    return [next(s.id for s in specs if s.family == f) for f in FAMILIES]


@pytest.fixture
def analyst(session: Session) -> User:
    """An analyst of a government agency (may start runs)."""
    org = make_org(session, kind="government_agency")
    user = make_user(session, org, role="analyst")
    session.commit()
    return user
