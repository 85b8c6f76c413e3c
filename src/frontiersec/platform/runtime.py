"""The running deployment's shared objects, built once from :class:`Settings`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from frontiersec.platform.db import make_engine, make_sessionmaker
from frontiersec.platform.jobs import JobQueue
from frontiersec.platform.secrets_box import SecretBox, load_or_create_secret_key

__all__ = ["Runtime", "build_runtime"]


@dataclass
class Runtime:
    """Settings, database engine, session factory, secret box and job queue."""

    settings: Any
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    queue: JobQueue
    secret_key: bytes


def build_runtime(
    settings: Any,
    *,
    engine: Engine | None = None,
    immediate_jobs: bool = False,
    http_transport: httpx.BaseTransport | None = None,
) -> Runtime:
    """Wire the deployment together (creates the data dir and secret key on first start)."""
    settings.ensure_dirs()
    key = load_or_create_secret_key(settings.resolved_secret_key_file)
    box = SecretBox(key)
    eng = engine or make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(eng)
    queue = JobQueue(settings, sessions, box, immediate=immediate_jobs, http_transport=http_transport)
    sessions.configure(info={"job_queue": queue})
    return Runtime(settings=settings, engine=eng, sessions=sessions, box=box, queue=queue, secret_key=key)
