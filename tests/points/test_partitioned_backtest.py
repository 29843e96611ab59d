"""A backtest split by member across processes gives exactly what one process gives (SQLite and
PostgreSQL), refuses to split playbooks that share state between members, and reports worker failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

from shequn.domain.events import Event, EventKind
from shequn.engine import backtest
from shequn.engine.backtest import plan_workers, run_backtest
from shequn.engine.live import LiveIngest
from shequn.engine.pipeline import Pipeline
from shequn.playbook.loader import parse_playbook
from shequn.store.tables import communities

from .conftest import T0, Feed

PLAYBOOK = """community: split
timezone: Asia/Shanghai
points:
  message: {award: 3, cooldown: 2m, daily_cap: 12}
  checkin: {keywords: [打卡], award: 5, streak_bonus: {3: 10}}
  levels:
    curve: linear
    step: 20
    names: [新手, 学徒, 达人]
    rewards: {1: {tag: 学徒}, 2: {tag: 达人}}
  badges:
    - {name: 话痨, metric: messages, tiers: {bronze: 3, silver: 8}}
"""


def _history() -> Feed:
    """Nine members over four local days: messages inside and outside cooldowns and caps,
    check-ins with a streak, and a system line with no sender (it lands in partition 0)."""
    f = Feed()
    people = [f"m{i}" for i in range(9)]
    minute = 0
    for day in range(4):
        for i, who in enumerate(people):
            for n in range(i % 4 + 1):
                minute += 1
                f.add(who, minutes=day * 1440 + minute % 600 + n, text=f"message {n} from {who} on day {day}")
            if i % 3 == 0:
                f.add(who, minutes=day * 1440 + 700 + i, text="打卡")
    f.events.append(Event(f.group, "topic-1", EventKind.SYSTEM, T0 + timedelta(minutes=5), None, "the topic changed"))
    return f


def _store(engine) -> int:
    pb = parse_playbook(PLAYBOOK)
    LiveIngest(engine, parse_playbook(f"community: {pb.community}\ntimezone: {pb.timezone}\n")).receive(_history().events)
    with engine.connect() as conn:
        return conn.execute(select(communities.c.id).where(communities.c.name == pb.community)).scalar_one()


def _signature(result):
    return (
        result.events,
        [(a.kind, a.rule, a.reason, a.member_id, a.event_id, a.payload) for a in result.actions],
        result.member_fields,
        sorted((k, repr(v)) for k, v in result.state.items() if k[1] != "roster"),
        sorted(result.state.get("points", "roster") or []),
    )


def test_two_workers_give_what_one_process_gives(engine, monkeypatch):
    cid = _store(engine)
    pb = parse_playbook(PLAYBOOK)
    monkeypatch.setattr(backtest, "PARTITION_MIN_EVENTS", 10)
    progress: list[int] = []
    with engine.connect() as conn:
        assert plan_workers(conn, Pipeline(pb), cid, 2) == 2
        one = run_backtest(conn, pb, cid, workers=1)
        two = run_backtest(conn, pb, cid, workers=2, progress=progress.append)
    assert one.events == len(_history().events)
    assert any(a.payload == {"tag": "学徒"} for a in one.actions)  # level rewards exist, so order is tested
    assert _signature(two) == _signature(one)
    assert progress[-1] == one.events


def test_split_needs_partition_safe_modules_and_enough_history(engine, monkeypatch):
    cid = _store(engine)
    answers = PLAYBOOK + "  tasks: {first_answer: {award: 2}}\n"
    with engine.connect() as conn:
        assert plan_workers(conn, Pipeline(parse_playbook(PLAYBOOK)), cid, 2) == 1  # fewer than PARTITION_MIN_EVENTS
        monkeypatch.setattr(backtest, "PARTITION_MIN_EVENTS", 10)
        assert plan_workers(conn, Pipeline(parse_playbook(PLAYBOOK)), cid, 2) == 2
        assert plan_workers(conn, Pipeline(parse_playbook(PLAYBOOK)), cid, 1) == 1
        # first answers share each group's open questions between members: one process
        assert plan_workers(conn, Pipeline(parse_playbook(answers)), cid, 2) == 1
        # a welcome module is not declared partition-safe
        welcome = PLAYBOOK + "welcome:\n  template: hi {name}\n"
        assert plan_workers(conn, Pipeline(parse_playbook(welcome)), cid, 2) == 1


def test_an_in_memory_database_is_never_split(monkeypatch):
    monkeypatch.setattr(backtest, "PARTITION_MIN_EVENTS", 0)
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        assert plan_workers(conn, Pipeline(parse_playbook(PLAYBOOK)), 1, 4) == 1


def test_a_failing_worker_fails_the_backtest_with_its_traceback(sqlite_engine, monkeypatch):
    cid = _store(sqlite_engine)
    monkeypatch.setattr(backtest, "PARTITION_MIN_EVENTS", 10)

    def broken(*args, **kwargs):
        raise ValueError("module exploded on event 7")

    monkeypatch.setattr(backtest, "_replay", broken)  # the parent never calls it when split; forked workers do
    with sqlite_engine.connect() as conn, pytest.raises(ValueError, match="exploded") as exc:
        run_backtest(conn, parse_playbook(PLAYBOOK), cid, workers=2)
    assert any("backtest worker" in note for note in exc.value.__notes__)
