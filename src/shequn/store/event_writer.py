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
from functools import lru_cache

import orjson
from sqlalchemy import Connection

from shequn.domain.events import Author, Event, EventKind, GroupRef, from_ms
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


def row_event(row: EventRow) -> Event:
    """The Event a row stands for (the inverse of ``event_row``; times come back in UTC)."""
    platform, gid, gname, author, name, bot, kind, at_ms, pid, reply_to, text, payload = row
    return Event(
        GroupRef(platform, gid, gname), pid, EventKind(kind), from_ms(at_ms),
        Author(author, name, bot) if author is not None else None, text, reply_to, orjson.loads(payload) if payload else {},
    )


@dataclass
class WriteCounts:
    added: int = 0
    duplicates: int = 0


_COLUMNS = "community_id, group_id, identity_id, kind, at_ms, platform_id, reply_to, text, payload"
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


ROWS_PER_INSERT = 50  # rows per multi-row INSERT on SQLite


@lru_cache(maxsize=256)
def _sqlite_insert(community_id: int, group_id: int, with_reply: bool, rows: int) -> str:
    """The insert of ``rows`` rows of one group. On SQLite most of the cost of a row is not the row:
    every execution of a statement is set up, run and reset again, and every parameter is bound
    separately (a string is copied, a None goes through sqlite3's adaptation protocol). So one
    statement takes many rows (``VALUES (...), (...), ...``), the ids that are the same for the whole
    run are written into it (they are our own integers), a missing identity or payload is bound as 0
    and turned into NULL by the statement, and reply_to is only a parameter in runs that carry one.
    Parameters per row: identity, kind, at_ms, platform id, text, payload[, reply_to]."""
    reply_col, reply_val = (", reply_to", ", ?") if with_reply else ("", "")
    one = f"({int(community_id)}, {int(group_id)}, NULLIF(?, 0), ?, ?, ?, ?, NULLIF(?, 0){reply_val})"
    return (
        f"INSERT INTO events (community_id, group_id, identity_id, kind, at_ms, platform_id, text, payload{reply_col}) "
        f"VALUES {', '.join([one] * rows)} ON CONFLICT (group_id, platform_id) DO NOTHING"
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
        # platform -> {account id -> identity id}: one dict lookup per row, no key tuple to build
        self._identities: dict[str, dict[str, int]] = {}
        if self.dialect == "postgresql":
            with self._driver.cursor() as cur:
                cur.execute(_PG_STAGING)

    def write(self, batch: list[Event]) -> WriteCounts:
        return self.write_rows([event_row(ev) for ev in batch])

    def write_rows(self, batch: list[EventRow]) -> WriteCounts:
        if not batch:
            return WriteCounts()
        runs = self._runs(batch)
        cur = self._driver.cursor()
        try:
            added = self._write_sqlite(cur, runs) if self.dialect == "sqlite" else self._write_pg(cur, runs)
        finally:
            cur.close()
        return WriteCounts(added=added, duplicates=len(batch) - added)

    def _write_sqlite(self, cur, runs: list) -> int:
        added = 0
        for group_id, width, flat in runs:
            per_insert = ROWS_PER_INSERT * width
            whole = len(flat) // per_insert * per_insert
            if whole:
                cur.executemany(
                    _sqlite_insert(self.community_id, group_id, width == 7, ROWS_PER_INSERT),
                    (flat[i : i + per_insert] for i in range(0, whole, per_insert)),
                )
                added += cur.rowcount
            if whole < len(flat):  # the last few rows, one by one
                cur.executemany(
                    _sqlite_insert(self.community_id, group_id, width == 7, 1),
                    (flat[i : i + width] for i in range(whole, len(flat), width)),
                )
                added += cur.rowcount
        return added

    def _write_pg(self, cur, runs: list) -> int:
        with cur.copy(_PG_COPY) as copy:
            pos = 0
            for group_id, width, flat in runs:
                for i in range(0, len(flat), width):
                    ident, kind, at_ms, pid, text, payload, *reply = flat[i : i + width]
                    copy.write_row(_without_nul((pos, self.community_id, group_id, ident or None, kind, at_ms, pid,
                                                 reply[0] if reply else None, text, payload or None)))
                    pos += 1
        cur.execute(_PG_MERGE)
        added = cur.rowcount
        cur.execute("TRUNCATE shequn_events_in")
        return added

    def _runs(self, batch: list[EventRow]) -> list[tuple[int, int, list]]:
        """The batch as runs of consecutive rows with the same group and the same shape (with or
        without reply_to), in order: (group row id, values per row, [identity id or 0, kind, at_ms,
        platform id, text, payload or 0[, reply_to], ...] one flat list). Group and identity ids are
        resolved in the same pass; authors seen for the first time are created together afterwards
        (one round trip per platform) and patched in."""
        runs: list[tuple[int, int, list]] = []
        newcomers: list[tuple[list, int, str, str]] = []  # (run values, position, platform, account id)
        new_authors: dict[str, dict[str, Author]] = {}
        last_platform = last_gid = group_id = ids = flat = extend = None
        plain = False  # the current run has no reply_to
        for platform, gid, gname, author, name, bot, kind, at_ms, pid, reply_to, text, payload in batch:
            if gid != last_gid or platform != last_platform or plain != (reply_to is None):
                if gid != last_gid or platform != last_platform:
                    last_platform, last_gid = platform, gid
                    group_id = self.groups.known.get((platform, gid)) or self.groups.resolve(GroupRef(platform, gid, gname))
                    ids = self._identities.get(platform)
                    if ids is None:
                        ids = self._identities[platform] = {}
                plain = reply_to is None
                flat = []
                extend = flat.extend
                runs.append((group_id, 6 if plain else 7, flat))
            if author is None:
                ident = 0
            else:
                ident = ids.get(author)
                if ident is None:
                    ident = 0
                    newcomers.append((flat, len(flat), platform, author))
                    new_authors.setdefault(platform, {}).setdefault(author, Author(author, name, bot))
            if plain:
                extend((ident, kind, at_ms, pid, text, payload or 0))
            else:
                extend((ident, kind, at_ms, pid, text, payload or 0, reply_to))
        for platform, authors in new_authors.items():
            self.people.resolve_many(platform, authors.values())
            ids = self._identities[platform]
            for author in authors:
                ids[author] = self.people.get(platform, author)
        for flat, i, platform, author in newcomers:
            flat[i] = self._identities[platform][author]
        return runs


def _without_nul(row: tuple) -> tuple:
    """PostgreSQL text cannot hold U+0000; hostile messages carry it. Replace it with U+FFFD."""
    if any(isinstance(v, str) and "\x00" in v for v in row):
        return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
    return row
