"""The ledger: double entry, idempotency, atomic spend, audit and rebuild, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from shequn.points.ledger import DbLedger, LedgerError, MemoryLedger, check_ledger, rebuild_balances
from shequn.store.db import open_engine
from shequn.store.tables import points_balances, points_entries


def _exercise(ledger, a, b):
    assert ledger.post(member_id=a, amount=5, rule="message", reason="said hi", key="msg:1", at_ms=1000)
    assert not ledger.post(member_id=a, amount=5, rule="message", reason="said hi", key="msg:1", at_ms=1000)
    assert ledger.post(member_id=a, amount=3, rule="checkin", reason="打卡", key="checkin:a:1", at_ms=2000)
    assert ledger.post(member_id=b, amount=-2, rule="adjust", reason="spam", key="adj:1", at_ms=3000, counter="adjustment")
    assert ledger.balance(a) == 8 and ledger.earned(a) == 8
    assert ledger.balance(b) == -2 and ledger.earned(b) == -2
    assert not ledger.spend(member_id=a, amount=9, rule="mall", reason="mug", key="buy:1", at_ms=4000)
    assert ledger.spend(member_id=a, amount=8, rule="mall", reason="mug", key="buy:1", at_ms=4000)
    assert not ledger.spend(member_id=a, amount=1, rule="mall", reason="pen", key="buy:2", at_ms=4001)
    assert ledger.balance(a) == 0 and ledger.earned(a) == 8  # spending never lowers earned (levels)
    assert ledger.post(member_id=a, amount=8, rule="refund", reason="mug refunded", key="refund:1", at_ms=5000, counter="mall")
    assert ledger.balance(a) == 8 and ledger.earned(a) == 8
    # a used key is spent once even if the member can afford it again
    assert not ledger.spend(member_id=a, amount=1, rule="mall", reason="mug", key="buy:1", at_ms=6000)
    assert ledger.balance(a) == 8
    hist = ledger.history(a)
    assert [e.key for e in hist] == ["refund:1", "buy:1", "checkin:a:1", "msg:1"]
    assert hist[1].amount == -8 and hist[1].counter == "mall" and hist[2].reason == "打卡"
    with pytest.raises(LedgerError):
        ledger.post(member_id=a, amount=1.5, rule="x", reason="", key="k", at_ms=0)
    with pytest.raises(LedgerError):
        ledger.spend(member_id=a, amount=0, rule="x", reason="", key="k2", at_ms=0)
    with pytest.raises(LedgerError):
        ledger.post(member_id=a, amount=1, rule="x", reason="", key="k" * 301, at_ms=0)


def test_db_ledger(community):
    engine, cid, (a, b, _) = community
    with engine.begin() as conn:
        _exercise(DbLedger(conn, cid), a, b)
        assert check_ledger(conn, cid) == []
        # two legs per transaction summing to zero
        legs = conn.execute(select(func.count(), func.sum(points_entries.c.amount)).where(points_entries.c.community_id == cid)).one()
        assert legs == (10, 0)


def test_memory_ledger_same_semantics():
    ledger = MemoryLedger(keep_history=None)
    _exercise(ledger, 1, 2)
    assert ledger.balances() == {1: 8, 2: -2}
    assert ledger.counter_total("issuance") == -8 and ledger.counter_total("mall") == 0


def test_memory_keys_are_exact():
    ledger = MemoryLedger(keep_history=0)
    for n in (0, 7, 8, 100_000, 5):
        assert ledger.post(member_id=1, amount=1, rule="r", reason="", key=f"msg:{n}", at_ms=0)
        assert not ledger.post(member_id=1, amount=1, rule="r", reason="", key=f"msg:{n}", at_ms=0)
    # leading zeros, other prefixes and non-numeric keys are different keys
    assert ledger.post(member_id=1, amount=1, rule="r", reason="", key="msg:007", at_ms=0)
    assert ledger.post(member_id=1, amount=1, rule="r", reason="", key="dm:7", at_ms=0)
    assert ledger.post(member_id=1, amount=1, rule="r", reason="", key="msg:٧", at_ms=0)  # Arabic-Indic seven
    assert not ledger.post(member_id=1, amount=1, rule="r", reason="", key="msg:٧", at_ms=0)
    assert ledger.balance(1) == 8


def test_audit_finds_tampering_and_rebuild_fixes_balances(community):
    engine, cid, (a, b, _) = community
    with engine.begin() as conn:
        led = DbLedger(conn, cid)
        led.post(member_id=a, amount=4, rule="message", reason="", key="msg:1", at_ms=1)
        led.post(member_id=b, amount=6, rule="message", reason="", key="msg:2", at_ms=2)
        conn.execute(points_balances.update().where(points_balances.c.member_id == a).values(balance=99))
        problems = check_ledger(conn, cid)
        assert len(problems) == 1 and f"member {a}" in problems[0]
        assert rebuild_balances(conn, cid) == 2
        assert check_ledger(conn, cid) == [] and led.balance(a) == 4


def test_concurrent_spends_of_the_last_points(db_url, community):
    """Two connections spend the member's last 10 points at once: exactly one succeeds."""
    engine, cid, (a, _, _) = community
    with engine.begin() as conn:
        DbLedger(conn, cid).post(member_id=a, amount=10, rule="seed", reason="", key="seed", at_ms=0)
    eng2 = open_engine(db_url)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def spend(n):
        with eng2.connect() as conn:
            barrier.wait()
            with conn.begin():
                results.append(DbLedger(conn, cid).spend(member_id=a, amount=10, rule="mall", reason="last mug", key=f"buy:{n}", at_ms=1))

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eng2.dispose()
    assert sorted(results) == [False, True]
    with engine.connect() as conn:
        assert DbLedger(conn, cid).balance(a) == 0 and check_ledger(conn, cid) == []
