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
from operator import itemgetter

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


ROWS_PER_INSERT = 100  # rows per multi-row INSERT on SQLite (600-700 parameters, far below its limit)
ROWS_PER_SMALL_INSERT = 10  # for the rest of a run, before the last rows go one by one


@lru_cache(maxsize=256)
def _sqlite_insert(community_id: int, group_id: int, with_reply: bool, rows: int) -> str:
    """The insert of ``rows`` rows of one group. On SQLite most of the cost of a row is not the row:
    every execution of a statement is set up, run and reset again, and every parameter is bound
    separately (a string is copied, a None goes through sqlite3's adaptation protocol). So one
    statement takes many rows (``VALUES (...), (...), ...``), the ids that are the same for the whole
    run are written into it (they are our own integers), a missing identity, text or payload is bound
    as 0 and turned into NULL by the statement (an integer never equals a text, so a text "0" stays),
    and reply_to is only a parameter in runs that carry one.
    Parameters per row: identity, kind, at_ms, platform id, text, payload[, reply_to]."""
    reply_col, reply_val = (", reply_to", ", ?") if with_reply else ("", "")
    one = f"({int(community_id)}, {int(group_id)}, NULLIF(?, 0), ?, ?, ?, NULLIF(?, 0), NULLIF(?, 0){reply_val})"
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
        self.conn = conn
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
        if not self.conn.in_transaction():
            # Rows go through the driver, which SQLAlchemy does not see: without a transaction of its
            # own, the caller's conn.commit() would be a no-op and the rows would stay uncommitted.
            self.conn.begin()
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
            start = 0
            for rows in (ROWS_PER_INSERT, ROWS_PER_SMALL_INSERT, 1):  # the rest of a run in smaller statements
                step = rows * width
                end = start + (len(flat) - start) // step * step
                if end > start:
                    cur.executemany(
                        _sqlite_insert(self.community_id, group_id, width == 7, rows),
                        (flat[i : i + step] for i in range(start, end, step)),
                    )
                    added += cur.rowcount
                    start = end
        return added

    def _write_pg(self, cur, runs: list) -> int:
        with cur.copy(_PG_COPY) as copy:
            pos = 0
            for group_id, width, flat in runs:
                for i in range(0, len(flat), width):
                    ident, kind, at_ms, pid, text, payload, *reply = flat[i : i + width]
                    copy.write_row(_without_nul((pos, self.community_id, group_id, ident or None, kind, at_ms, pid,
                                                 reply[0] if reply else None, None if text == 0 else text, payload or None)))
                    pos += 1
        cur.execute(_PG_MERGE)
        added = cur.rowcount
        cur.execute("TRUNCATE shequn_events_in")
        return added

    def _runs(self, batch: list[EventRow]) -> list[tuple[int, int, list]]:
        """The batch as runs of consecutive rows with the same group and the same shape (with or
        without reply_to), in order: (group row id, values per row, [identity id or 0, kind, at_ms,
        platform id, text or 0, payload or 0[, reply_to], ...] one flat list). Authors seen for the
        first time are created first, together (one round trip per platform); then one pass over the
        rows resolves groups and identities with a dict lookup each."""
        if len(set(map(itemgetter(0), batch))) == 1:  # one platform, as usual: the author column is searched in C
            self._new_identities(batch, batch[0][0], list(map(itemgetter(3), batch)))
        else:
            self._new_identities_by_platform(batch)
        runs: list[tuple[int, int, list]] = []
        identities = self._identities
        last_platform = last_gid = group_id = ids = flat = extend = None
        plain = False  # the current run has no reply_to
        for platform, gid, gname, author, _name, _bot, kind, at_ms, pid, reply_to, text, payload in batch:
            if gid != last_gid or platform != last_platform or plain != (reply_to is None):
                if gid != last_gid or platform != last_platform:
                    last_platform, last_gid, ids = platform, gid, identities[platform]
                    group_id = self.groups.known.get((platform, gid)) or self.groups.resolve(GroupRef(platform, gid, gname))
                plain = reply_to is None
                flat = []
                extend = flat.extend
                runs.append((group_id, 6 if plain else 7, flat))
            if plain:
                extend((ids.get(author, 0), kind, at_ms, pid, 0 if text is None else text, payload or 0))
            else:
                extend((ids.get(author, 0), kind, at_ms, pid, 0 if text is None else text, payload or 0, reply_to))
        return runs

    def _new_identities(self, batch: list[EventRow], platform: str, authors: list) -> None:
        """Find or create the identities of the authors of a one-platform batch not resolved before (the
        first row of each gives its name and bot flag; they are created in order of first appearance).
        Afterwards ``self._identities[platform]`` holds every author of the batch."""
        ids = self._identities.get(platform)
        if ids is None:
            ids = self._identities[platform] = {}
        new = set(authors).difference(ids)
        new.discard(None)
        if new:
            first = dict(zip(reversed(authors), range(len(authors) - 1, -1, -1)))  # author -> its first row
            rows = [batch[first[a]] for a in sorted(new, key=first.__getitem__)]
            self._resolve_new(platform, {r[3]: Author(r[3], r[4], r[5]) for r in rows})

    def _new_identities_by_platform(self, batch: list[EventRow]) -> None:
        """``_new_identities`` for a batch of several platforms."""
        new_by_platform: dict[str, dict[str, Author]] = {}
        for platform, _gid, _gname, author, name, bot, *_ in batch:
            ids = self._identities.get(platform)
            if ids is None:
                ids = self._identities[platform] = {}
            if author is not None and author not in ids:
                new = new_by_platform.setdefault(platform, {})
                if author not in new:
                    new[author] = Author(author, name, bot)
        for platform, authors in new_by_platform.items():
            self._resolve_new(platform, authors)

    def _resolve_new(self, platform: str, authors: dict[str, Author]) -> None:
        """Find or create the identities of ``authors`` (account id -> Author, none known yet)."""
        self.people.resolve_many(platform, authors.values())
        ids, get = self._identities[platform], self.people.get
        for author in authors:
            ids[author] = get(platform, author)


def _without_nul(row: tuple) -> tuple:
    """PostgreSQL text cannot hold U+0000; hostile messages carry it. Replace it with U+FFFD."""
    if any(isinstance(v, str) and "\x00" in v for v in row):
        return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)
    return row
