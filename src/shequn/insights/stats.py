"""First numbers: per community and per group, how much happened and who took part.

Definitions (docs/stats.md has the schema):
- ``messages``: human chat messages (kind ``message`` from a non-bot identity); joins, leaves,
  emotes and system lines are not messages.
- ``speakers``: distinct members (after identity merges) who sent at least one such message.
- ``members``: distinct non-bot members who appear in any event (spoke, joined, left, ...).
- ``joins`` / ``leaves``: join events / leave + kick events.
- ``first_at`` / ``last_at``: UTC time of the earliest / latest event of any kind.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, case, false, func, or_, select

from shequn.domain.events import CHAT_KINDS, EventKind, LEAVE_KINDS, from_ms
from shequn.store.tables import communities, events, groups, identities


class UnknownGroup(LookupError):
    pass


def _iso(ms: int | None) -> str | None:
    return from_ms(ms).isoformat().replace("+00:00", "Z") if ms is not None else None


def _row_dict(row) -> dict:
    """One stats entry from an aggregate row; ``None`` (a group with no events) gives zeros."""
    if row is None:
        return {"messages": 0, "members": 0, "speakers": 0, "joins": 0, "leaves": 0, "first_at": None, "last_at": None}
    return {
        "messages": int(row.messages or 0),
        "members": int(row.members or 0),
        "speakers": int(row.speakers or 0),
        "joins": int(row.joins or 0),
        "leaves": int(row.leaves or 0),
        "first_at": _iso(row.first_ms),
        "last_at": _iso(row.last_ms),
    }


def community_stats(conn: Connection, *, group: str | None = None, community: str | None = None) -> dict:
    """The ``shequn stats --json`` document. ``group`` limits it to groups with that name or platform id."""
    base = select(
        events.c.group_id, events.c.kind, events.c.at_ms, events.c.identity_id, identities.c.is_bot, identities.c.member_id
    ).select_from(events.outerjoin(identities, identities.c.id == events.c.identity_id))
    result = {"communities": []}
    comm_q = select(communities.c.id, communities.c.name, communities.c.timezone).order_by(communities.c.id)
    if community:
        comm_q = comm_q.where(communities.c.name == community)
    matched_group = False
    for comm in conn.execute(comm_q).all():
        group_q = select(groups.c.id, groups.c.name, groups.c.platform, groups.c.kind).where(groups.c.community_id == comm.id)
        if group:
            group_q = group_q.where(or_(groups.c.name == group, groups.c.external_id == group))
        group_rows = conn.execute(group_q.order_by(groups.c.id)).all()
        if group and not group_rows:
            continue
        matched_group = True
        gids = [g.id for g in group_rows]
        src = base.where(events.c.community_id == comm.id)
        if group:
            src = src.where(events.c.group_id.in_(gids))
        src = src.subquery()
        per_group = {
            r.group_id: _row_dict(r)
            for r in conn.execute(_aggregate_query(src).add_columns(src.c.group_id).group_by(src.c.group_id))
        }
        total = _row_dict(conn.execute(_aggregate_query(src)).one())
        entry = {"name": comm.name, "timezone": comm.timezone, **total, "groups": []}
        for g in group_rows:
            stats = per_group.get(g.id) or _row_dict(None)
            entry["groups"].append({"name": g.name, "platform": g.platform, "kind": g.kind, **stats})
        result["communities"].append(entry)
    if group and not matched_group:
        raise UnknownGroup(f"no group named {group!r}")
    return result


def _aggregate_query(src):
    human = or_(src.c.is_bot.is_(None), src.c.is_bot == false())
    is_msg = and_(src.c.kind.in_([k.value for k in CHAT_KINDS]), src.c.identity_id.is_not(None), human)
    return select(
        func.sum(case((is_msg, 1), else_=0)).label("messages"),
        func.count(func.distinct(case((and_(src.c.identity_id.is_not(None), human), src.c.member_id)))).label("members"),
        func.count(func.distinct(case((is_msg, src.c.member_id)))).label("speakers"),
        func.sum(case((src.c.kind == EventKind.JOIN.value, 1), else_=0)).label("joins"),
        func.sum(case((src.c.kind.in_([k.value for k in LEAVE_KINDS]), 1), else_=0)).label("leaves"),
        func.min(src.c.at_ms).label("first_ms"),
        func.max(src.c.at_ms).label("last_ms"),
    )
