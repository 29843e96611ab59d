"""Settings: where the database lives. ``--db`` beats ``SHEQUN_DB`` beats the per-user default."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

ENV_DB = "SHEQUN_DB"


def default_db_url() -> str:
    """An SQLite file in the per-user data directory (created on first use)."""
    base = Path(os.environ.get("SHEQUN_HOME") or user_data_dir("shequn", appauthor=False))
    return f"sqlite:///{base / 'shequn.db'}"


def resolve_db_url(cli_value: str | None) -> str:
    url = cli_value or os.environ.get(ENV_DB) or default_db_url()
    return normalize_db_url(url)


def normalize_db_url(url: str) -> str:
    """Accept the URLs operators type: plain ``postgresql://`` means psycopg 3, a bare path means SQLite."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url
