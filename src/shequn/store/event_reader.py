"""Reading stored events back in time order, streamed, resolved to groups and members.

Used by the backtest (and by anything else that replays history): memory stays flat however long
the history is, because rows are fetched in chunks from a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, select

from shequn.domain.events import EventKind, StoredEvent
from shequn.store.tables import events, groups, identities, members


def iter_stored_events(
    conn: Connection,
    community_id: int,
    *,
    group_ids: list[int] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    chunk: int = 10_000,
) -> Iterator[StoredEvent]:
    group_names = dict(conn.execute(select(groups.c.id, groups.c.name).where(groups.c.community_id == community_id)).all())
    group_platforms = dict(conn.execute(select(groups.c.id, groups.c.platform).where(groups.c.community_id == community_id)).all())
    people = {
        row.id: (row.member_id, row.display_name)
        for row in conn.execute(
            select(identities.c.id, identities.c.member_id, members.c.display_name)
            .join(members, members.c.id == identities.c.member_id)
            .where(identities.c.community_id == community_id)
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
    q = q.order_by(events.c.at_ms, events.c.id)
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(q)
    for row in result:
        member_id, member_name = people.get(row.identity_id, (None, None))
        yield StoredEvent(
            id=row.id,
            community_id=community_id,
            group_id=row.group_id,
            group_name=group_names[row.group_id],
            platform=group_platforms[row.group_id],
            platform_id=row.platform_id,
            kind=EventKind(row.kind),
            at_ms=row.at_ms,
            identity_id=row.identity_id,
            member_id=member_id,
            member_name=member_name,
            text=row.text,
            reply_to=row.reply_to,
            payload=row.payload or {},
        )
