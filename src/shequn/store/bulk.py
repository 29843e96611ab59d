"""Bulk loading: a big import writes events faster when secondary indexes are built once at the end.

SQLite updates every index B-tree on every insert; building an index once from the finished table
is several times cheaper. So when an import is expected to at least double the events table, the
secondary indexes of ``events`` (time and identity lookups) are dropped and rebuilt when it ends,
and foreign keys are not re-checked row by row (the writer only stores ids it has just resolved).
The unique (group, platform id) index stays: it is what makes every import idempotent. If the
process dies in between, ``restore_event_indexes`` (run whenever a database is opened) rebuilds them.
PostgreSQL keeps its indexes: its import cost lies elsewhere (see docs/importers.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, func, select

from shequn.store.tables import events

MIN_ROWS = 100_000  # below this, rebuilding costs more than it saves
CHECKPOINT_PAGES = 16_384  # WAL pages (64 MiB of 4 KiB pages) between checkpoints during an import (SQLite's default: 1,000)


@contextmanager
def deferred_event_indexes(conn: Connection, *, expected_rows: int) -> Iterator[bool]:
    """Drop the secondary event indexes for the duration of a big import (yields whether it did)."""
    if conn.dialect.name != "sqlite" or expected_rows < MIN_ROWS:
        yield False
        return
    stored = conn.execute(select(func.max(events.c.id))).scalar() or 0
    if expected_rows < stored:
        yield False
        return
    for index in events.indexes:
        index.drop(conn, checkfirst=True)
    conn.commit()
    # The writer only stores group, identity and community ids it has just resolved or created, so
    # re-checking every foreign key of every row buys nothing (the pragma only changes between transactions).
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield True
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        restore_event_indexes(conn)
        conn.commit()


def restore_event_indexes(conn: Connection) -> int:
    """Create any secondary event index that is missing (after an interrupted bulk import); return how many."""
    names = {ix.name for ix in events.indexes}
    if conn.dialect.name == "sqlite":
        present = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").scalars())
    else:
        present = set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'events' AND schemaname = current_schema()").scalars())
    missing = [ix for ix in events.indexes if ix.name in names - present]
    for index in missing:
        index.create(conn)
    return len(missing)


@contextmanager
def fewer_checkpoints(conn: Connection) -> Iterator[None]:
    """Let the SQLite WAL grow to ``CHECKPOINT_PAGES`` before it is copied into the database during an import.

    In WAL mode with ``synchronous=NORMAL`` a commit does not sync; a checkpoint syncs the WAL, copies
    it into the database and syncs that. At SQLite's default (every 1,000 pages, 4 MB) a big import
    checkpoints dozens of times, each time copying again the pages it keeps rewriting (the ends of the
    table and of its indexes). Nothing is less safe: an interrupted process keeps every commit (they
    are in the WAL), and when the import ends the usual limit is back, so its final commit checkpoints
    and syncs everything it wrote. Only a power cut during the import can lose more of it than before
    (up to 64 MB of commits instead of 4 MB), which a re-run restores.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    old = driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    if 0 < old < CHECKPOINT_PAGES:  # 0: the operator turned automatic checkpoints off; leave that alone
        driver.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA wal_autocheckpoint={old}")
