"""Idempotent, batched event insertion: the hot path of every import.

Duplicates (same group + platform id) are skipped by the database itself (``ON CONFLICT DO
NOTHING`` on both SQLite and PostgreSQL), so re-importing a file changes nothing, even across
concurrent writers. Both paths talk to the driver directly: SQLAlchemy's per-row parameter handling
costs more than the insert itself on a multi-million-row import.

- SQLite: ``executemany`` of tuples; sqlite3 sums the rows actually inserted into ``rowcount``.
  During a big first import (``store.bulk``) foreign keys are not re-checked row by row: every id
  written here was resolved or created by this writer a moment before.
- PostgreSQL: ``COPY`` the batch (with each row's position) into a temporary table, then one
  ``INSERT ... SELECT ... ORDER BY position ON CONFLICT DO NOTHING`` whose rowcount is exactly the number of new events.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import orjson
from sqlalchemy import Connection

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.store.directory import GroupDirectory
from shequn.store.members import IdentityResolver

#: An event flattened to primitives (cheap to build, to pickle between processes, and to store):
#: (platform, group id, group name, author id, author name, author is bot, kind, at_ms, platform id,
#:  reply_to, text, payload as JSON text). Author fields are None for events without an author.
EventRow = tuple

_KIND_TEXT = {k: k.value for k in EventKind}  # a dict lookup is cheaper than the enum's .value on the hot path


def event_row(ev: Event) -> EventRow:
    g, a = ev.group, ev.author
    return (
        g.platform, g.external_id, g.name,
        a.external_id if a else None, a.name if a else None, a.is_bot if a else False,
        _KIND_TEXT[ev.kind], ev.at_ms, ev.platform_id, ev.reply_to, ev.text,
        orjson.dumps(ev.payload).decode() if ev.payload else None,
    )


@dataclass
class WriteCounts:
    added: int = 0
    duplicates: int = 0


_COLUMNS = "community_id, group_id, identity_id, kind, at_ms, platform_id, reply_to, text, payload"
_SQLITE_INSERT = f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, platform_id) DO NOTHING"
# Most events answer nothing. sqlite3 binds a None parameter through its adaptation protocol (about
# half a microsecond each), so rows without reply_to use a statement that leaves the column out.
_SQLITE_INSERT_NO_REPLY = (
    "INSERT INTO events (community_id, group_id, identity_id, kind, at_ms, platform_id, text, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, platform_id) DO NOTHING"
)
_PG_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS shequn_events_in (pos integer, community_id integer, group_id integer, identity_id integer, "
    "kind varchar(32), at_ms bigint, platform_id varchar(500), reply_to varchar(500), text text, payload json)"
)
_PG_COPY = f"COPY shequn_events_in (pos, {_COLUMNS}) FROM STDIN"
# DISTINCT ON drops repeats inside one batch; ORDER BY pos keeps source order in the id sequence. The
# position is written explicitly: a heap's physical order (ctid) need not follow COPY order.
_PG_MERGE = (
    f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM "
    "(SELECT DISTINCT ON (group_id, platform_id) * FROM shequn_events_in ORDER BY group_id, platform_id, pos) d "
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
        return self.write_rows([event_row(ev) for ev in batch])

    def write_rows(self, batch: list[EventRow]) -> WriteCounts:
        if not batch:
            return WriteCounts()
        self._resolve_authors(batch)
        rows = self._rows(batch)
        if self.dialect == "postgresql":
            rows = [_without_nul(r) for r in rows]
        cur = self._driver.cursor()
        try:
            if self.dialect == "sqlite":
                added = 0
                for width, run in groupby(rows, len):  # consecutive rows with / without reply_to, order kept
                    cur.executemany(_SQLITE_INSERT if width == 9 else _SQLITE_INSERT_NO_REPLY, list(run))
                    added += cur.rowcount
            else:
                with cur.copy(_PG_COPY) as copy:
                    for pos, row in enumerate(rows):
                        copy.write_row((pos, *row))
                cur.execute(_PG_MERGE)
                added = cur.rowcount
                cur.execute("TRUNCATE shequn_events_in")
        finally:
            cur.close()
        return WriteCounts(added=added, duplicates=len(batch) - added)

    def _resolve_authors(self, batch: list[EventRow]) -> None:
        """Create identities (and members) for authors seen for the first time, one round trip per platform."""
        known = self.people.known
        new: dict[str, dict[str, Author]] = {}
        for row in batch:
            author = row[3]
            if author is not None and (row[0], author) not in known:
                new.setdefault(row[0], {}).setdefault(author, Author(author, row[4], row[5]))
        for platform, authors in new.items():
            self.people.resolve_many(platform, authors.values())

    def _rows(self, batch: list[EventRow]) -> list[tuple]:
        group_ids = self.groups.known
        resolve_group = self.groups.resolve
        identity_of = self.people.known
        cid = self.community_id
        keep_null_replies = self.dialect != "sqlite"
        out = []
        for platform, gid, gname, author, _name, _bot, kind, at_ms, pid, reply_to, text, payload in batch:
            group_id = group_ids.get((platform, gid)) or resolve_group(GroupRef(platform, gid, gname))
            identity_id = identity_of[platform, author] if author is not None else None
            if reply_to is None and not keep_null_replies:
                out.append((cid, group_id, identity_id, kind, at_ms, pid, text, payload))
            else:
                out.append((cid, group_id, identity_id, kind, at_ms, pid, reply_to, text, payload))
        return out


def _without_nul(row: tuple) -> tuple:
    """PostgreSQL text cannot hold U+0000; hostile messages carry it. Replace it with U+FFFD."""
    if any(isinstance(v, str) and "\x00" in v for v in row):
        return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
    return row
