"""Check-ins 打卡: once per local day, consecutive and cumulative streaks in the community's time zone,
missed days, make-up cards 补签卡 and streak bonuses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from shequn.domain.events import EventKind
from shequn.store.tables import points_transactions

from .conftest import Feed, backtest_fields, live_points

PLAYBOOK = """community: ci
timezone: {tz}
points:
  checkin:
    award: 2
    keywords: [打卡, /checkin]
    streak_bonus: {{3: 10}}
    {cards}
"""


def _pb(tz="Asia/Shanghai", cards=""):
    return PLAYBOOK.format(tz=tz, cards=cards)


def utc(day, hour, minute=0):
    return datetime(2024, 5, day, hour, minute, tzinfo=timezone.utc)


def test_day_boundaries_follow_the_community_time_zone(engine):
    f = Feed()
    f.add("ann", at=utc(1, 15, 30), text="打卡")  # 23:30 May 1st in Shanghai
    f.add("ann", at=utc(1, 16, 30), text="/checkin")  # 00:30 May 2nd in Shanghai: a new day, streak 2
    f.add("ann", at=utc(1, 17, 0), text=" 打卡 ")  # same local day: nothing
    f.add("ann", at=utc(2, 16, 10), kind=EventKind.CHECKIN, text=None)  # 00:10 May 3rd: streak 3 -> +10 bonus
    f.add("bob", at=utc(1, 15, 30), text="打卡了")  # not the keyword (prefix is off): no check-in
    shanghai, _ = backtest_fields(engine, _pb(), f.events)
    assert shanghai["ann"] == {"points": 16, "level": 0, "checkins": 3, "best_streak": 3}
    assert shanghai["bob"]["checkins"] == 0
    # in UTC the first three are one day (May 1st) and the fourth is May 2nd: streak 2, no bonus
    utc_fields, _ = backtest_fields(engine, _pb("UTC").replace("ci", "ci_utc", 1), f.events)
    assert utc_fields["ann"] == {"points": 4, "level": 0, "checkins": 2, "best_streak": 2}


def test_missed_days_reset_the_streak_and_a_make_up_card_fills_one(engine):
    cards = "makeup_cards: {earn_every: 2, max: 1}"
    f = Feed()
    days = [1, 2, 4, 5, 6, 8, 11, 12]
    # 1,2: streak 2, earns a card. 4: day 3 missed, the card fills it -> streak 4 (bonus at 3), 4 earns a card
    # 5, 6: streak 6 (cards capped at 1). 8: day 7 filled -> 8. 11: two days missed -> streak 1. 12: 2 -> a card
    for d in days:
        f.add("ann", at=utc(d, 2), text="打卡")
    balances, _ = live_points(engine, _pb("UTC", cards), f.events)
    fields, _ = backtest_fields(engine, _pb("UTC", cards))
    assert fields["ann"]["best_streak"] == 8 and fields["ann"]["checkins"] == 10  # 8 check-ins + 2 filled days
    assert balances == {"ann": 8 * 2 + 10} == {"ann": fields["ann"]["points"]}
    with engine.connect() as conn:
        reasons = conn.execute(select(points_transactions.c.reason).order_by(points_transactions.c.id)).scalars().all()
    assert "打卡 check-in 2024-05-04: +2, streak 4 days, 4 in total; 补签卡 make-up card filled 2024-05-03" in reasons
    assert "连续打卡 3-day streak reached on 2024-05-04: +10" in reasons
    assert "打卡 check-in 2024-05-11: +2, streak 1 day, 9 in total" in reasons


def test_without_cards_a_missed_day_breaks_the_streak(engine):
    f = Feed()
    for d in (1, 2, 4, 5, 6):
        f.add("ann", at=utc(d, 9), text="打卡")
    fields, _ = backtest_fields(engine, _pb("UTC"), f.events)
    assert fields["ann"] == {"points": 5 * 2 + 10, "level": 0, "checkins": 5, "best_streak": 3}


def test_checkin_replay_and_out_of_order_events_pay_once(engine):
    f = Feed()
    f.add("ann", at=utc(3, 9), text="打卡")
    f.add("ann", at=utc(2, 9), text="打卡")  # an older check-in arriving late changes nothing
    balances, results = live_points(engine, _pb("UTC"), f.events, runs=2)
    assert balances == {"ann": 2} and results[1].received == 0
