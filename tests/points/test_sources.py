"""Points sources: the contract playbook (award, cooldown, daily cap in the community's time zone),
anti-farming, tasks and custom events — live and in a backtest, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from shequn.domain.events import EventKind
from shequn.points.ledger import check_ledger
from shequn.store.tables import points_transactions

from .conftest import Feed, backtest_fields, live_points

CONTRACT = "community: holdout\ntimezone: UTC\npoints:\n  message: {award: 1, cooldown: 60s, daily_cap: 20}\n"


def test_contract_cooldown_counts_from_last_awarded_message(engine):
    f = Feed()
    f.add("ann", seconds=0)  # awarded
    f.add("ann", seconds=30)  # too soon
    f.add("ann", seconds=59)  # too soon: 59 s after the last AWARDED message
    f.add("ann", seconds=60)  # awarded: exactly the cooldown
    f.add("ann", seconds=100)  # too soon (40 s)
    f.add("ann", seconds=130)  # awarded (70 s after 60)
    f.add("bob", seconds=1)  # cooldowns are per member
    f.add("bob", seconds=2, kind=EventKind.EMOTE)  # only kind message counts
    f.add("bob", seconds=200, kind=EventKind.JOIN)
    balances, _ = live_points(engine, CONTRACT, f.events)
    assert balances == {"ann": 3, "bob": 1}


def test_contract_daily_cap_is_per_local_day(engine):
    f = Feed()
    for n in range(25):  # 25 messages two minutes apart on May 1st (UTC)
        f.add("ann", hours=10, minutes=2 * n)
    f.add("ann", hours=23, minutes=59)  # still May 1st: capped
    f.add("ann", hours=24)  # May 2nd 00:00 UTC: a new day
    balances, _ = live_points(engine, CONTRACT, f.events)
    assert balances == {"ann": 21}
    # the same history in Shanghai: 10:00-10:48 UTC and 23:59 UTC are both May 1st/2nd local days differently
    shanghai = CONTRACT.replace("holdout", "sh").replace("UTC", "Asia/Shanghai")
    fields, _ = backtest_fields(engine, shanghai, f.events)
    # 18:00-18:48 local on May 1st: 20 awarded; 07:59 and 08:00 local on May 2nd: a new day, 2 more
    assert fields["ann"]["points"] == 22


def test_contract_cooldown_crosses_midnight_and_refused_messages_do_not_restart_it(engine):
    f = Feed()
    for n in range(22):  # May 1st from 22:00 UTC, two minutes apart: 20 awarded, then the cap
        f.add("ann", hours=22, minutes=2 * n)
    f.add("ann", hours=23, minutes=59, seconds=50)  # capped: refused, so the cooldown still counts from 22:38
    f.add("ann", hours=24, seconds=10)  # May 2nd, 20 s after a refused message, 82 min after the last award: +1
    f.add("ann", hours=24, seconds=50)  # 40 s after that award: refused
    f.add("bob", hours=23, minutes=59, seconds=40)  # +1
    f.add("bob", hours=24, seconds=20)  # a new day, but only 40 s after bob's last award: refused
    f.add("bob", hours=24, seconds=40)  # exactly 60 s: +1 (the cap is per day, the cooldown is not)
    balances, _ = live_points(engine, CONTRACT, f.events)
    assert balances == {"ann": 21, "bob": 2}
    fields, _ = backtest_fields(engine, CONTRACT)
    assert {n: v["points"] for n, v in fields.items()} == balances


def test_contract_backtest_equals_live_and_replays_award_nothing_twice(engine):
    f = Feed()
    for n in range(40):
        f.add(("ann", "bob", "cy")[n % 3], minutes=n * 7 // 3, seconds=n)
    balances, results = live_points(engine, CONTRACT, f.events, runs=2)
    assert results[1].received == 0 and results[1].duplicates == 40
    fields1, _ = backtest_fields(engine, CONTRACT)
    fields2, _ = backtest_fields(engine, CONTRACT)
    assert fields1 == fields2
    assert {n: v["points"] for n, v in fields1.items()} == balances
    assert all(v["level"] == 0 for v in fields1.values())  # levels are off unless the playbook says so
    with engine.connect() as conn:
        assert check_ledger(conn, 1) == []
        n = conn.execute(select(func.count()).select_from(points_transactions)).scalar_one()
        assert n == sum(balances.values())
        reasons = conn.execute(select(points_transactions.c.rule, points_transactions.c.reason).limit(1)).one()
        assert reasons.rule == "points.message" and reasons.reason == "message in 学习群: +1 (1 per message, cooldown 1 minute; 1/20 today)"


ANTIFARM = """community: af
timezone: UTC
points:
  message: {award: 2, min_length: 4, duplicate_window: 3}
"""


def test_anti_farming_short_and_duplicate_text_earn_nothing(engine):
    f = Feed()
    for n, text in enumerate([
        "hello world",  # +2
        "Hello, World!!",  # duplicate after normalizing
        "hello\u200b wor\u200dld",  # zero-width padding: duplicate
        "ｈｅｌｌｏ ｗｏｒｌｄ",  # full-width: duplicate
        "<b>hello</b> world",  # HTML around it: duplicate
        "ok!!!",  # too short (2 visible characters)
        "\u200b\u200b\u200b\u200b\u200b",  # invisible only
        "x" * 200_000,  # huge: +2
        "good morning",  # +2
        "another line",  # +2
        "something else",  # +2; window of 3 now holds morning/another/something
        "hello world",  # out of the window again: +2
    ]):
        f.add("ann", minutes=n, text=text)
    balances, _ = live_points(engine, ANTIFARM, f.events)
    assert balances == {"ann": 12}


TASKS = """community: tk
timezone: UTC
points:
  tasks:
    introduction: {award: 20, min_length: 6}
    first_answer: {award: 5, within: 1d}
  custom: {attended_live: 10, shared_notes: 3}
"""


def test_tasks_and_custom_events(engine):
    f = Feed()
    f.add("ann", minutes=1, text="大家好")  # not an introduction
    f.add("ann", minutes=2, text="安娜-上海-设计师")  # 名字-地区-职业: +20
    f.add("ann", minutes=3, text="我的自我介绍：我叫安娜，在上海做设计")  # only once
    q = f.add("bob", minutes=4, text="请问怎么配置代理？")
    f.add("bob", minutes=5, text="I'll answer myself", reply_to=q)  # own question: nothing
    f.add("cy", minutes=6, text="use env vars", reply_to=q)  # first answer by someone else: +5
    f.add("ann", minutes=7, text="or a config file", reply_to=q)  # second answer: nothing
    late = f.add("bob", minutes=8, text="is this still open?")
    f.add("cy", days=2, text="yes", reply_to=late)  # outside `within`: nothing
    f.add("cy", minutes=9, text="not a question")
    f.add("ann", minutes=10, text="reply to a statement", reply_to=f.events[-1].platform_id)
    f.add("ann", minutes=11, kind=EventKind.CUSTOM, text=None, payload={"name": "attended_live"})  # +10
    f.add("bob", minutes=12, kind=EventKind.CUSTOM, text=None, payload={"name": "unknown"})
    f.add("bob", minutes=13, kind=EventKind.CUSTOM, text=None, payload={"name": ["shared_notes"]})  # hostile payload
    balances, _ = live_points(engine, TASKS, f.events)
    assert balances == {"ann": 30, "cy": 5}
    fields, _ = backtest_fields(engine, TASKS)
    assert {n: v["points"] for n, v in fields.items() if v["points"]} == balances


def test_backtest_report_lists_points_other_modules_posted():
    """A member who never chatted but earned referral points still gets points and level in the report."""
    from shequn.engine.module import Context
    from shequn.engine.pipeline import Pipeline
    from shequn.engine.state import MemoryState
    from shequn.playbook.loader import parse_playbook
    from shequn.points.ledger import MemoryLedger

    pipeline = Pipeline(parse_playbook(CONTRACT))
    ctx = Context(community_id=1, timezone="UTC", now_ms=0, state=MemoryState(), sandbox=True, ledger=MemoryLedger())
    ctx.ledger.post(member_id=99, amount=10, rule="referral", reason="invited 3", key="referral:99:1", at_ms=0, counter="referral")
    assert pipeline.member_summary(ctx) == {99: {"points": 10, "level": 0}}
