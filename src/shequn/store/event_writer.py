"""Idempotent, batched event insertion: the hot path of every import and of live ingestion.

Duplicates (same group + platform id) are skipped by the database itself
(``INSERT ... ON CONFLICT DO NOTHING`` on both SQLite and PostgreSQL), so re-importing a file or
receiving a webhook twice changes nothing, even across concurrent writers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from shequn.domain.events import Event
from shequn.store.directory import GroupDirectory
from shequn.store.members import IdentityResolver
from shequn.store.tables import events


@dataclass
class WriteCounts:
    added: int = 0
    duplicates: int = 0


class EventWriter:
    """Buffers events and writes them in batches inside the caller's transaction."""

    def __init__(self, conn: Connection, community_id: int, groups: GroupDirectory, people: IdentityResolver):
        self.conn = conn
        self.community_id = community_id
        self.groups = groups
        self.people = people
        dialect = conn.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._stmt = insert(events).on_conflict_do_nothing(index_elements=["group_id", "platform_id"])
        # sqlite3 sums rowcount over executemany; psycopg's batched insert does not report skipped
        # conflicts, so there we count the ids RETURNING gives back (only rows actually inserted).
        self._count_by_returning = dialect == "postgresql"
        if self._count_by_returning:
            self._stmt = self._stmt.returning(events.c.id)

    def write(self, batch: list[Event]) -> WriteCounts:
        if not batch:
            return WriteCounts()
        by_platform: dict[str, list] = {}
        for ev in batch:
            if ev.author is not None:
                by_platform.setdefault(ev.group.platform, []).append(ev.author)
        for platform, authors in by_platform.items():
            self.people.resolve_many(platform, authors)
        rows = []
        seen: set[tuple[int, str]] = set()
        for ev in batch:
            gid = self.groups.resolve(ev.group)
            key = (gid, ev.platform_id)
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                {
                    "community_id": self.community_id,
                    "group_id": gid,
                    "identity_id": self.people.get(ev.group.platform, ev.author.external_id) if ev.author else None,
                    "kind": ev.kind.value,
                    "at_ms": ev.at_ms,
                    "platform_id": ev.platform_id,
                    "reply_to": ev.reply_to,
                    "text": ev.text,
                    "payload": ev.payload or None,
                }
            )
        result = self.conn.execute(self._stmt, rows)
        added = len(result.all()) if self._count_by_returning else result.rowcount
        return WriteCounts(added=added, duplicates=len(batch) - added)
