"""Shared fixtures: a real database per test (SQLite file and PostgreSQL schema), the CLI, shared data.

PostgreSQL must be reachable at SHEQUN_TEST_PG (default 127.0.0.1:5432, database ``test``); if it is
not, the PostgreSQL half of the suite fails loudly instead of skipping (``.ci/run`` starts it).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from shequn.store.db import open_engine
from support import PG_URL, Cli


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'shequn.db'}"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL schema for this test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def engine(db_url):
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url):
    eng = open_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def cli(db_url) -> Cli:
    return Cli(db_url)


@pytest.fixture
def sqlite_cli(sqlite_url) -> Cli:
    return Cli(sqlite_url)
