"""Replaying the same events awards nothing twice — not only because the event store drops a redelivered
event, but in the points module itself: a replay of stored history through the live pipeline with its
state rebuilt from scratch (derived state is rebuildable) meets the ledger's keys and pays nothing, and
the rebuilt state follows the books (an event paid before counts as awarded for cooldowns and caps)."""

from __future__ import annotations

from sqlalchemy import func, select

from shequn.engine.module import Context
from shequn.engine.outbox import SandboxOutbox
from shequn.engine.pipeline import Pipeline
from shequn.engine.state import DbState
from shequn.playbook.loader import parse_playbook
from shequn.points.ledger import DbLedger, check_ledger
from shequn.store.event_reader import iter_stored_events
from shequn.store.tables import communities, module_state, points_transactions

from .conftest import Feed, live_points

PLAYBOOK = """community: rp
timezone: Asia/Shanghai
points:
  message: {award: 2, cooldown: 60s, daily_cap: 6, min_length: 2, duplicate_window: 2}
  checkin: {award: 5, streak_bonus: {2: 3}}
  tasks:
    introduction: {award: 10}
"""


def _replay(engine, playbook: str, *, fresh_state: bool) -> None:
    pb = parse_playbook(playbook)
    pipeline = Pipeline(pb)
    with engine.begin() as conn:
        cid = conn.execute(select(communities.c.id).where(communities.c.name == pb.community)).scalar_one()
        if fresh_state:
            conn.execute(module_state.delete().where(module_state.c.community_id == cid))
        ctx = Context(community_id=cid, timezone=pb.timezone, now_ms=0, state=DbState(conn, cid), sandbox=False)
        ctx.ledger = DbLedger(conn, cid)
        for ev in iter_stored_events(conn, cid):
            ctx.now_ms = ev.at_ms
            pipeline.tick(ev.at_ms, ctx, SandboxOutbox())
            pipeline.handle(ev, ctx, SandboxOutbox())


def _books(engine):
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(points_transactions)).scalar_one()
        state = {r.key: r.value for r in conn.execute(select(module_state.c.key, module_state.c.value).where(module_state.c.module == "points"))}
        assert check_ledger(conn, 1) == []
        return n, state


def test_replay_with_rebuilt_state_pays_nothing_twice(engine):
    f = Feed()
    f.add("ann", seconds=0, text="安娜-上海-设计师")  # introduction +10 and a message +2
    f.add("ann", seconds=20, text="second thought")  # cooldown: nothing
    f.add("ann", seconds=70, text="third")  # 70 s after the last AWARDED message: +2
    f.add("ann", seconds=100, text="打卡")  # check-in +5
    for n in range(6):
        f.add("bob", minutes=2 * n, text=f"note {n}")  # +2 x3, then the daily cap of 6
    f.add("bob", minutes=20, text="note 1")  # duplicate of a recent awarded text... but capped anyway
    f.add("ann", days=1, text="打卡")  # streak 2: +5 +3
    balances, _ = live_points(engine, PLAYBOOK, f.events)
    assert balances == {"ann": 10 + 2 + 2 + 5 + 5 + 3, "bob": 6}
    before, state = _books(engine)

    _replay(engine, PLAYBOOK, fresh_state=False)  # the same events again, state as it is
    assert _books(engine) == (before, state)
    _replay(engine, PLAYBOOK, fresh_state=True)  # state lost and rebuilt from history
    after, rebuilt = _books(engine)
    assert after == before, "a replay paid an event twice (or paid one the original run refused)"
    assert rebuilt == state  # cooldown, cap, streak, introduction: as the original run left them
    again, _ = live_points(engine, PLAYBOOK, f.events)  # and the event store drops redelivered events
    assert again == balances
