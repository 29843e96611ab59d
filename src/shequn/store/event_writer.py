"""Idempotent, batched event insertion: the hot path of every import.

Duplicates (same group + platform id) are skipped by the database itself (``ON CONFLICT DO
NOTHING`` on both SQLite and PostgreSQL), so re-importing a file changes nothing, even across
concurrent writers. Both paths talk to the driver directly: SQLAlchemy's per-row parameter handling
costs more than the insert itself on a multi-million-row import.

- SQLite: ``executemany`` of tuples; sqlite3 sums the rows actually inserted into ``rowcount``.
- PostgreSQL: ``COPY`` the batch into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT
  DO NOTHING`` whose rowcount is exactly the number of new events.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Connection

from shequn.domain.events import Event
from shequn.store.directory import GroupDirectory
from shequn.store.members import IdentityResolver


@dataclass
class WriteCounts:
    added: int = 0
    duplicates: int = 0


_COLUMNS = "community_id, group_id, identity_id, kind, at_ms, platform_id, reply_to, text, payload"
_SQLITE_INSERT = f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, platform_id) DO NOTHING"
_PG_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS shequn_events_in (community_id integer, group_id integer, identity_id integer, "
    "kind varchar(32), at_ms bigint, platform_id varchar(500), reply_to varchar(500), text text, payload json)"
)
_PG_COPY = f"COPY shequn_events_in ({_COLUMNS}) FROM STDIN"
# DISTINCT ON drops repeats inside one batch; ORDER BY pos keeps source order in the id sequence.
_PG_MERGE = (
    f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM "
    "(SELECT DISTINCT ON (group_id, platform_id) *, ctid AS pos FROM shequn_events_in ORDER BY group_id, platform_id, ctid) d "
    "ORDER BY pos ON CONFLICT (group_id, platform_id) DO NOTHING"
)


class EventWriter:
    """Writes batches of events inside the caller's transaction (the caller commits)."""

    def __init__(self, conn: Connection, community_id: int, groups: GroupDirectory, people: IdentityResolver):
        self.community_id = community_id
        self.groups = groups
        self.people = people
        self.dialect = conn.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise RuntimeError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        self._driver = conn.connection.driver_connection
        if self.dialect == "postgresql":
            with self._driver.cursor() as cur:
                cur.execute(_PG_STAGING)

    def write(self, batch: list[Event]) -> WriteCounts:
        if not batch:
            return WriteCounts()
        by_platform: dict[str, list] = {}
        for ev in batch:
            if ev.author is not None:
                by_platform.setdefault(ev.group.platform, []).append(ev.author)
        for platform, authors in by_platform.items():
            self.people.resolve_many(platform, authors)
        rows = self._rows(batch)
        if self.dialect == "postgresql":
            rows = [_without_nul(r) for r in rows]
        cur = self._driver.cursor()
        try:
            if self.dialect == "sqlite":
                cur.executemany(_SQLITE_INSERT, rows)
                added = cur.rowcount
            else:
                with cur.copy(_PG_COPY) as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(_PG_MERGE)
                added = cur.rowcount
                cur.execute("TRUNCATE shequn_events_in")
        finally:
            cur.close()
        return WriteCounts(added=added, duplicates=len(batch) - added)

    def _rows(self, batch: list[Event]) -> list[tuple]:
        resolve_group = self.groups.resolve
        identity_of = self.people.get
        cid = self.community_id
        return [
            (
                cid,
                resolve_group(ev.group),
                identity_of(ev.group.platform, ev.author.external_id) if ev.author else None,
                ev.kind.value,
                ev.at_ms,
                ev.platform_id,
                ev.reply_to,
                ev.text,
                orjson.dumps(ev.payload).decode() if ev.payload else None,
            )
            for ev in batch
        ]


def _without_nul(row: tuple) -> tuple:
    """PostgreSQL text cannot hold U+0000; hostile messages carry it. Replace it with U+FFFD."""
    if any(isinstance(v, str) and "\x00" in v for v in row):
        return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
    return row
