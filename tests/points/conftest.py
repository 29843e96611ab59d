"""Fixtures for the points tests: a community with a few members on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from shequn.store.directory import ensure_community, now_ms
from shequn.store.tables import members


@pytest.fixture
def community(engine):
    """(engine, community id, [member ids]) with three members."""
    with engine.begin() as conn:
        cid = ensure_community(conn, "pts", "UTC")
        ids = [
            conn.execute(insert(members).values(community_id=cid, display_name=n, created_ms=now_ms())).inserted_primary_key[0]
            for n in ("amy", "bo", "cy")
        ]
    return engine, cid, ids


# --- events and runs -----------------------------------------------------------------------------

from datetime import datetime, timedelta, timezone  # noqa: E402

from sqlalchemy import select  # noqa: E402

from shequn.domain.events import Author, Event, EventKind, GroupRef  # noqa: E402
from shequn.engine.backtest import run_backtest  # noqa: E402
from shequn.engine.live import LiveIngest  # noqa: E402
from shequn.playbook.loader import parse_playbook  # noqa: E402
from shequn.store.tables import communities, identities, points_balances  # noqa: E402

G = GroupRef("telegram", "-100", "学习群")
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)


class Feed:
    """Hand-made history: ``feed.msg("ann", minutes=3, text="hi")`` appends an event, ids count up."""

    def __init__(self, group: GroupRef = G):
        self.group = group
        self.events: list[Event] = []

    def add(self, who, *, at=None, kind=EventKind.MESSAGE, text="hello there", reply_to=None, payload=None, pid=None, **delta):
        at = at or T0 + timedelta(**delta)
        pid = pid or str(len(self.events) + 1)
        self.events.append(Event(self.group, pid, kind, at, Author(who, who), text, reply_to, payload or {}))
        return pid


def live_points(engine, playbook: str, events, *, runs: int = 1):
    """Feed events through `shequn receive`'s engine; {name: balance} from the ledger."""
    pb = parse_playbook(playbook)
    live = LiveIngest(engine, pb)
    results = [live.receive(events) for _ in range(runs)]
    with engine.connect() as conn:
        rows = conn.execute(
            select(identities.c.external_id, points_balances.c.balance)
            .join(points_balances, points_balances.c.member_id == identities.c.member_id)
            .where(points_balances.c.account == "points")
        )
        return {r.external_id: int(r.balance) for r in rows}, results


def backtest_fields(engine, playbook: str, events=None):
    """Store events (no modules), then backtest: {name: the member's report fields}."""
    pb = parse_playbook(playbook)
    if events is not None:
        LiveIngest(engine, parse_playbook(f"community: {pb.community}\ntimezone: {pb.timezone}\n")).receive(events)
    with engine.connect() as conn:
        cid = conn.execute(select(communities.c.id).where(communities.c.name == pb.community)).scalar_one()
        result = run_backtest(conn, pb, cid)
        names = dict(conn.execute(select(identities.c.member_id, identities.c.external_id)).all())
    return {names[m]: f for m, f in result.member_fields.items()}, result
