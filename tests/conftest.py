"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The real public data folder (``FRONTIERSEC_DEMO_DATA``, default ``../shared/data``)."""
    return Path(os.environ.get("FRONTIERSEC_DEMO_DATA", REPO_ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data``; the suite fails loudly when it is missing."""
    path = shared_data_dir()
    assert path.is_dir(), f"shared data folder not found at {path} (set FRONTIERSEC_DEMO_DATA)"
    return path
