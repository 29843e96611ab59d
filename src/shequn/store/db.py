"""Opening a database: SQLite (WAL, the embedded default) or PostgreSQL, migrated on first use."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text

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


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revisions; cheap when it is already there.

    Each capability (moderation, points, ...) owns its tables in its own migration branch off the
    core schema, so several heads are normal: all of them are applied.

    Every command opens the database, so the usual case (already at the newest revisions) is checked
    without Alembic: the heads read from the migration files (``script_heads``) against the table
    ``alembic_version``. Alembic (a tenth of a second to import, as much again to load its scripts)
    runs only when they differ or the check cannot tell.
    """
    quick = script_heads()
    if quick is not None and quick == _stored_heads(engine):
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config()
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with engine.begin() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        if current == heads:
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


_REVISION = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*["']([^"'\n]+)["']\s*$""", re.M)
_DOWN = re.compile(r"""^down_revision\s*(?::[^=\n]*)?=\s*(.+)$""", re.M)


def script_heads() -> set[str] | None:
    """The head revisions of the migration scripts, from their ``revision`` / ``down_revision`` lines
    (None when a file does not state them in that plain form: then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        parents.update(re.findall(r"""["']([^"']+)["']""", down.group(1)))
    return (revisions - parents) or None


def _stored_heads(engine: Engine) -> set[str] | None:
    """The revisions recorded in ``alembic_version``; None if there is no such table yet."""
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception:  # noqa: BLE001 - a new database: no table yet, the full upgrade creates everything
        return None
