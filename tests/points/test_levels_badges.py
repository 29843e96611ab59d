"""Levels (curves, names, rewards, trust levels with demotion), badges and expiry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from shequn.engine.backtest import run_backtest
from shequn.engine.module import Context
from shequn.engine.state import MemoryState
from shequn.playbook.errors import PlaybookError
from shequn.playbook.loader import parse_playbook
from shequn.points import Standing, standing
from shequn.points.config import Levels
from shequn.points.ledger import MemoryLedger, check_ledger
from shequn.points.levels import LevelCurve, mee6_thresholds
from shequn.store.tables import actions, member_tags, points_transactions

from .conftest import Feed, backtest_fields, live_points


def test_curves():
    assert mee6_thresholds(4) == [100, 255, 475, 770]  # 100, +155, +220, +295
    mee6 = LevelCurve(Levels(curve="mee6"))
    assert [mee6.for_points(p) for p in (0, 99, 100, 254, 255, 770)] == [0, 0, 1, 1, 2, 4]
    linear = LevelCurve(Levels(curve="linear", step=10, max_level=3, names=["新手", "学徒"]))
    assert [linear.for_points(p) for p in (9, 10, 25, 10_000)] == [0, 1, 2, 3]
    assert [linear.name(n) for n in range(4)] == ["新手", "学徒", "学徒", "学徒"]
    table = LevelCurve(Levels(curve="table", table=[5, 50, 500]))
    assert [table.for_points(p) for p in (4, 5, 499, 500)] == [0, 1, 2, 3] and table.name(2) == "Lv2"


@pytest.mark.parametrize("bad, where", [
    ("levels: {curve: linear}", "step"),
    ("levels: {curve: table, table: [10, 5]}", "ascending"),
    ("levels: {curve: sideways}", "curve"),
    ("badges: [{name: b, metric: checkins, tiers: {bronze: 10, silver: 5}}]", "rise"),
    ("message: {award: 1, cooldown: soon}", "duration"),
    ("message: {award: 1, colldown: 60s}", "colldown"),
    ("checkin: {keywords: ['  ']}", "keywords"),
    ("tasks: {introduction: {award: 5, pattern: '(['}}", "regular expression"),
])
def test_bad_points_config_is_a_located_error(bad, where):
    with pytest.raises(PlaybookError) as exc:
        parse_playbook(f"community: x\ntimezone: UTC\npoints:\n  {bad}\n", "pb.yaml")
    assert "pb.yaml:4:" in str(exc.value) and where in str(exc.value)


LEVELS = """community: lv
timezone: UTC
points:
  message: {award: 10}
  levels:
    curve: linear
    step: 30
    names: [新手, 学徒, 达人]
    rewards: {2: {tag: 达人}, 3: {role: kol}}
  badges:
    - {name: 话痨, metric: messages, tiers: {bronze: 2, silver: 5, gold: 9}}
    - {name: 积分, metric: points, tiers: {gold: 70}}
"""


def test_levels_rewards_and_badges_live_and_backtest(engine):
    f = Feed()
    for n in range(7):
        f.add("ann", minutes=n)
    f.add("bob", minutes=1)
    balances, results = live_points(engine, LEVELS, f.events)
    assert balances == {"ann": 70, "bob": 10}
    tags = [(a.rule, a.payload) for r in results for a in r.actions]
    assert tags == [("points.level.2", {"tag": "达人"})]  # level 2 at 60 points; level 3 needs 90
    with engine.connect() as conn:
        assert conn.execute(select(member_tags.c.tag, member_tags.c.source)).all() == [("达人", "points.level.2")]
        assert conn.execute(select(actions.c.reason)).scalar_one() == "reached level 2 (达人): 60+ earned points (linear curve)"
    fields, bt = backtest_fields(engine, LEVELS)
    assert fields["ann"] == {"points": 70, "level": 2, "level_name": "达人", "badges": {"话痨": "silver", "积分": "gold"}}
    assert fields["bob"] == {"points": 10, "level": 0, "level_name": "新手", "badges": {}}
    assert [a.payload for a in bt.actions] == [{"tag": "达人"}]


def test_standing_for_tiered_gates():
    state, ledger = MemoryState(), MemoryLedger()
    ctx = Context(community_id=1, timezone="UTC", now_ms=0, state=state, sandbox=True, ledger=ledger)
    assert standing(ctx, 7) == Standing(0, 0, "")
    ledger.post(member_id=7, amount=40, rule="r", reason="", key="k", at_ms=0)
    state.set("points", "m:7", {"lv": 3, "ln": "达人"})
    assert standing(ctx, 7) == Standing(points=40, level=3, level_name="达人")


TRUST = """community: tr
timezone: UTC
points:
  message: {award: 1}
  levels:
    curve: trust
    window: 10d
    grace: 3d
    names: [访客]
    trust:
      - {name: 成员, days_visited: 2, posts: 3}
      - {name: 常客, days_visited: 4, posts: 6}
"""


def test_trust_levels_promote_and_demote_after_the_window(engine):
    t0 = datetime(2024, 5, 1, 9, tzinfo=timezone.utc)
    f = Feed()
    for d in range(4):  # 4 days, 2 posts a day: level 2 on day 4
        f.add("ann", at=t0 + timedelta(days=d))
        f.add("ann", at=t0 + timedelta(days=d, hours=1))
    # bob keeps the clock running; ann is silent. Her visits leave the 10-day window on days 11..14
    for d in range(4, 30):
        f.add("bob", at=t0 + timedelta(days=d))
    fields, _ = backtest_fields(engine, TRUST, f.events)
    assert fields["ann"]["level"] == 0 and fields["ann"]["level_name"] == "访客"
    assert fields["bob"]["level"] == 2  # 10 days visited, 10 posts in the window
    # stop the replay on day 12: ann's first day left the window, 3 days / 6 posts remain -> level 1
    with engine.connect() as conn:
        res = run_backtest(conn, parse_playbook(TRUST), 1, until_ms=int((t0 + timedelta(days=11, hours=12)).timestamp() * 1000))
    ann = [v for v in res.member_fields.values() if v["points"] == 8][0]
    assert ann["level"] == 1 and ann["level_name"] == "成员"


EXPIRY = """community: ex
timezone: UTC
points:
  message: {award: 5}
  expiry: {days: 3}
"""


def test_points_expire_with_a_dated_counter_entry(engine):
    t0 = datetime(2024, 5, 1, 9, tzinfo=timezone.utc)
    f = Feed()
    f.add("ann", at=t0)  # +5 on May 1st, expires at the start of May 5th
    f.add("ann", at=t0 + timedelta(days=2))  # +5 on May 3rd, expires May 7th
    for d in range(3, 6):
        f.add("bob", at=t0 + timedelta(days=d))  # bob's messages move the clock; his own points expire too
    balances, _ = live_points(engine, EXPIRY, f.events)
    assert balances == {"ann": 5, "bob": 15}
    with engine.connect() as conn:
        row = conn.execute(select(points_transactions).where(points_transactions.c.counter == "expiry")).one()
        assert row.amount == -5 and row.rule == "points.expiry"
        assert row.reason == "5 points earned on 2024-05-01 expired after 3 days"
        assert row.at_ms == int(datetime(2024, 5, 5, tzinfo=timezone.utc).timestamp() * 1000)
        assert check_ledger(conn, 1) == []
    fields, _ = backtest_fields(engine, EXPIRY)
    assert {n: v["points"] for n, v in fields.items()} == balances
