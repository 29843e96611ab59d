"""Opening a database: SQLite (WAL, the embedded default) or PostgreSQL, migrated on first use."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

from shequn.store.bulk import restore_event_indexes

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(RuntimeError):
    """The database could not be opened or migrated; the message says what to check."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: index inserts on big imports stay in memory
    cur.close()


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """Create the SQLAlchemy engine, make the SQLite directory if needed, apply pending migrations."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        try:
            upgrade(engine)
            with engine.begin() as conn:
                restore_event_indexes(conn)  # an interrupted bulk import may have left them out
        except Exception as exc:  # noqa: BLE001 - re-raised with the URL the operator gave
            raise DatabaseError(f"cannot open or migrate database {engine.url!r}: {exc}") from exc
    return engine


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revisions; cheap when it is already there.

    Each capability (moderation, points, ...) owns its tables in its own migration branch off the
    core schema, so several heads are normal: all of them are applied.
    """
    cfg = alembic_config()
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with engine.begin() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        if current == heads:
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
