"""Leaderboards 排行榜 and a member's points overview, read from the stored ledger.

A leaderboard ranks *earned* points (issuance, adjustments, referrals; not mall spending or expiry) in
a period of the community's calendar: today, this week (Monday first), this month, or all time.
A group's leaderboard counts the points caused by events in that group.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from shequn.points import MODULE, member_key
from shequn.points.ledger import EARNING_COUNTERS, DbLedger
from shequn.store.tables import communities, events, members, module_state, points_transactions

Period = Literal["day", "week", "month", "all"]


@dataclass(frozen=True)
class Window:
    period: str
    start_ms: int | None  # inclusive, UTC ms; None for all time
    end_ms: int | None  # exclusive
    label: str  # the local dates it covers


def period_window(period: Period, tz: str, at: datetime) -> Window:
    """The local day / week / month containing ``at`` (aware), as UTC milliseconds."""
    zone = ZoneInfo(tz)
    local = at.astimezone(zone).date()
    if period == "all":
        return Window("all", None, None, "all time")
    if period == "day":
        first, last = local, local
    elif period == "week":
        first = local - timedelta(days=local.weekday())
        last = first + timedelta(days=6)
    elif period == "month":
        first = local.replace(day=1)
        last = (first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)) - timedelta(days=1)
    else:
        raise ValueError(f"period must be day, week, month or all (got {period!r})")

    def midnight(d: date) -> int:
        return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp() * 1000)

    label = first.isoformat() if first == last else f"{first.isoformat()} .. {last.isoformat()}"
    return Window(period, midnight(first), midnight(last + timedelta(days=1)), label)


def leaderboard(conn: Connection, community_id: int, window: Window, *, group_id: int | None = None, limit: int = 20) -> list[dict]:
    """Ranked rows {rank, member_id, name, points}; ties share a rank (1, 2, 2, 4)."""
    t = points_transactions
    total = func.sum(t.c.amount).label("points")
    q = (
        select(t.c.member_id, members.c.display_name, total)
        .join(members, members.c.id == t.c.member_id)
        .where(t.c.community_id == community_id, t.c.counter.in_(sorted(EARNING_COUNTERS)))
        .group_by(t.c.member_id, members.c.display_name)
        .having(total > 0)
        .order_by(total.desc(), t.c.member_id)
        .limit(limit)
    )
    if window.start_ms is not None:
        q = q.where(t.c.at_ms >= window.start_ms, t.c.at_ms < window.end_ms)
    if group_id is not None:
        q = q.join(events, events.c.id == t.c.event_id).where(events.c.group_id == group_id)
    rows, rank, previous = [], 0, None
    for n, r in enumerate(conn.execute(q), start=1):
        if r.points != previous:
            rank, previous = n, r.points
        rows.append({"rank": rank, "member_id": r.member_id, "name": r.display_name, "points": int(r.points)})
    return rows


def points_overview(conn: Connection, member_id: int, *, limit: int = 20) -> dict:
    """A member's points for `shequn members show`: balance, earned, level, streak, badges, history with reasons."""
    community_id, tz = conn.execute(
        select(members.c.community_id, communities.c.timezone).join(communities, communities.c.id == members.c.community_id)
        .where(members.c.id == member_id)
    ).one()
    ledger = DbLedger(conn, community_id)
    rec = conn.execute(
        select(module_state.c.value).where(
            module_state.c.community_id == community_id, module_state.c.module == MODULE, module_state.c.key == member_key(member_id)
        )
    ).scalar() or {}
    return {
        "timezone": tz,
        "balance": ledger.balance(member_id),
        "earned": ledger.earned(member_id),
        "level": rec.get("lv", 0),
        "level_name": rec.get("ln", ""),
        "level_reason": rec.get("lr", ""),
        "checkins": rec.get("ci", 0),
        "streak": rec.get("st", 0),
        "best_streak": rec.get("bs", 0),
        "makeup_cards": rec.get("mc", 0),
        "badges": {name: {"tier": b[0], "at_ms": b[1], "reason": b[2]} for name, b in (rec.get("bd") or {}).items()},
        "history": [asdict(e) for e in ledger.history(member_id, limit)],
    }
