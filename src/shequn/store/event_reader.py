"""Reading stored events back in time order, streamed, resolved to groups and members.

Used by the backtest (and by anything else that replays history): memory stays flat however long
the history is, because rows are fetched in chunks from a server-side cursor.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import orjson
from sqlalchemy import Connection, or_, select, true

from shequn.domain.events import EventKind, StoredEvent
from shequn.store.tables import events, groups, identities, members


def iter_stored_events(
    conn: Connection,
    community_id: int,
    *,
    group_ids: list[int] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    partition: tuple[int, int] | None = None,
    chunk: int = 10_000,
) -> Iterator[StoredEvent]:
    """The community's events in time order (``at_ms``, then id).

    ``partition=(k, n)`` keeps only the events of members with ``member_id % n == k`` (partition 0 also
    gets events nobody sent): a backtest of modules that only look at the sending member's own state
    runs its partitions in separate processes (``engine.backtest``). The filter is part of the query,
    so each process builds objects only for its own share of the rows.
    """
    group_names = dict(conn.execute(select(groups.c.id, groups.c.name).where(groups.c.community_id == community_id)).all())
    group_platforms = dict(conn.execute(select(groups.c.id, groups.c.platform).where(groups.c.community_id == community_id)).all())
    people = {
        row.id: (row.member_id, row.display_name)
        for row in conn.execute(
            select(identities.c.id, identities.c.member_id, members.c.display_name)
            .join(members, members.c.id == identities.c.member_id)
            .where(identities.c.community_id == community_id)
            .where(true() if partition is None else identities.c.member_id % partition[1] == partition[0])
        )
    }
    q = select(
        events.c.id, events.c.group_id, events.c.identity_id, events.c.kind, events.c.at_ms,
        events.c.platform_id, events.c.reply_to, events.c.text, events.c.payload,
    ).where(events.c.community_id == community_id)
    if group_ids is not None:
        q = q.where(events.c.group_id.in_(group_ids))
    if since_ms is not None:
        q = q.where(events.c.at_ms >= since_ms)
    if until_ms is not None:
        q = q.where(events.c.at_ms < until_ms)
    if partition is not None:
        k, n = partition
        theirs = select(identities.c.id).where(identities.c.community_id == community_id, identities.c.member_id % n == k)
        # ``identity_id + 0``: an expression, so the planner keeps walking the time index (as the
        # unfiltered replay does) instead of fetching by identity and sorting millions of rows.
        sender = events.c.identity_id + 0
        mine = sender.in_(theirs)
        q = q.where(or_(sender.is_(None), mine) if k == 0 else mine)
    q = q.order_by(events.c.at_ms, events.c.id)
    # Hot path of every backtest (ten million rows must take seconds, not minutes): rows come straight
    # from the driver's cursor, skipping SQLAlchemy's per-row processing; the statement is still built
    # and compiled by SQLAlchemy, so the SQL is the same on SQLite and PostgreSQL.
    kinds = {k.value: k for k in EventKind}
    no_person = (None, None)
    json_text = conn.dialect.name == "sqlite"  # SQLite hands JSON back as text; psycopg parses it
    make = StoredEvent
    for rows in _raw_chunks(conn, q, chunk):
        for id_, group_id, identity_id, kind, at_ms, platform_id, reply_to, text, payload in rows:
            member_id, member_name = people.get(identity_id, no_person)
            if payload is not None and json_text:
                payload = orjson.loads(payload)
            yield make(
                id_, community_id, group_id, group_names[group_id], group_platforms[group_id], platform_id,
                kinds[kind], at_ms, identity_id, member_id, member_name, text, reply_to, payload or {},
            )


def _raw_chunks(conn: Connection, q, chunk: int) -> Iterator[list[tuple]]:
    """Lists of plain row tuples from the DBAPI cursor: a server-side cursor on PostgreSQL, an
    incremental fetch on SQLite; memory stays at one chunk."""
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if compiled.positional:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    else:
        params = compiled.params
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        cur = raw.cursor(name=f"shequn_events_{id(q):x}")  # server-side: rows arrive a chunk at a time
        cur.itersize = chunk
    else:
        cur = raw.cursor()
    try:
        cur.execute(compiled.string, params)
        yield from _prefetched(lambda: cur.fetchmany(chunk))
    finally:
        cur.close()


PREFETCH_CHUNKS = 4  # chunks read ahead: bounds memory at a few chunks


def _prefetched(fetch) -> Iterator[list[tuple]]:
    """Run ``fetch`` (until it returns an empty list) in a reader thread, a few chunks ahead.

    Why a thread helps despite the GIL: sqlite3 releases the GIL while SQLite walks its b-trees, and
    with PostgreSQL the server produces the next chunk while this process handles the current one; on
    a 10-million-event backtest, reading then overlaps with the modules instead of adding to them.
    The consumer stopping early (or failing) stops the thread at its next chunk; the cursor is only
    closed once the thread has finished with it.
    """
    chunks: queue.Queue = queue.Queue(maxsize=PREFETCH_CHUNKS)
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                rows = fetch()
                chunks.put(rows)
                if not rows:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            chunks.put(exc)

    reader = threading.Thread(target=read, name="shequn-event-reader", daemon=True)
    reader.start()
    try:
        while True:
            rows = chunks.get()
            if isinstance(rows, BaseException):
                raise rows
            if not rows:
                return
            yield rows
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue, then let it finish
            try:
                chunks.get_nowait()
            except queue.Empty:
                pass
            reader.join(timeout=0.05)
