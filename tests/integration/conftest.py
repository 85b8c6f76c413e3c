"""Integration fixtures: a real database (SQLite, or PostgreSQL when
``FRONTIERSEC_TEST_DATABASE_URL`` is set) built by ``alembic upgrade head``, a runtime
with Huey in immediate mode, the app, and a TestClient.

Each test gets its own database copied from a migrated template (a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so committed writes never leak between
tests and the migrations, not ``create_all()``, build every schema.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from frontiersec.app import create_app
from frontiersec.platform.migrate import upgrade
from frontiersec.platform.runtime import Runtime, build_runtime
from frontiersec.settings import Settings

PG_URL = os.environ.get("FRONTIERSEC_TEST_DATABASE_URL")
BACKEND = "postgresql" if PG_URL else "sqlite"
_n = itertools.count(1)


def _pg_admin_url() -> str:
    assert PG_URL
    return make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)


def _pg_exec(sql: str) -> None:
    eng = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(sql))
    eng.dispose()


@pytest.fixture(scope="session")
def db_backend() -> str:
    """``sqlite`` or ``postgresql``: the backend this run tests."""
    return BACKEND


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head once per session; tests copy it."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        return url
    name = f"fs_template_{os.getpid()}"
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_exec(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL or "").set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


@pytest.fixture
def db_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if BACKEND == "sqlite":
        src = Path(make_url(template_db).database or "")
        dst = tmp_path / "test.db"
        shutil.copyfile(src, dst)
        yield f"sqlite:///{dst}"
        return
    name = f"fs_test_{os.getpid()}_{next(_n)}"
    tpl = make_url(template_db).database
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    yield make_url(PG_URL or "").set(database=name).render_as_string(hide_password=False)
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(db_url: str, tmp_path: Path, shared_data: Path) -> Settings:
    """Settings of a throwaway deployment."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        demo_data=shared_data,
        webhook_backoff_base_s=1.0,
        webhook_max_attempts=3,
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """The runtime, with Huey in immediate mode."""
    runtime = build_runtime(settings, immediate_jobs=True)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def session(rt: Runtime) -> Iterator[Session]:
    """A session whose work the test commits explicitly (as the boundary would)."""
    s = rt.sessions()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def app(settings: Settings, rt: Runtime) -> FastAPI:
    """The application over the test runtime."""
    return create_app(settings, runtime=rt)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A TestClient with the app's lifespan running (signing key created)."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c
