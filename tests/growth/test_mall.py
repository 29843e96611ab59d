"""The points mall: one transaction per redemption, no overselling under concurrency, write-off once,
refunds that give points and stock back, clear errors, hostile names shown safely."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from shequn.mall import shop
from shequn.points.ledger import DbLedger, check_ledger
from shequn.store.tables import mall_items, mall_redemptions


def test_redeem_write_off_refund_roundtrip(town):
    ann = town.member("ann", "Ann")
    town.fund(ann, 100)
    with town.engine.begin() as conn:
        shop.add_item(conn, town.cid, "mug", price=30, stock=2, title="社群马克杯")
    with town.engine.begin() as conn:
        r = shop.redeem(conn, town.cid, ann, "mug", ledger=DbLedger(conn, town.cid))
    assert r.price == 30 and r.stock_left == 1 and r.balance == 70 and len(r.code) == 14
    assert town.balance(ann) == 70
    with town.engine.begin() as conn:
        done = shop.write_off(conn, town.cid, r.code.lower().replace("-", " "), by="前台")  # typed sloppily
        assert done["status"] == "written_off" and done["written_off_by"] == "前台"
    with pytest.raises(shop.MallError, match="already written off"), town.engine.begin() as conn:
        shop.write_off(conn, town.cid, r.code)
    with pytest.raises(shop.MallError, match="already written off"), town.engine.begin() as conn:
        shop.refund(conn, town.cid, r.code, reason="changed mind", ledger=DbLedger(conn, town.cid))
    # a second, unused code is refunded: points and stock come back, the code is void
    with town.engine.begin() as conn:
        r2 = shop.redeem(conn, town.cid, ann, "mug", ledger=DbLedger(conn, town.cid))
    assert town.balance(ann) == 40
    with town.engine.begin() as conn:
        shop.refund(conn, town.cid, r2.code, reason="缺货 out of stock at the venue", ledger=DbLedger(conn, town.cid))
    assert town.balance(ann) == 70
    with town.engine.begin() as conn:
        assert conn.execute(select(mall_items.c.stock)).scalar_one() == 1
        with pytest.raises(shop.MallError, match="refunded .* void"):
            shop.refund(conn, town.cid, r2.code, reason="again", ledger=DbLedger(conn, town.cid))
        with pytest.raises(shop.MallError, match="refunded"):
            shop.write_off(conn, town.cid, r2.code)
        history = DbLedger(conn, town.cid).history(ann)
        assert [(e.rule, e.amount) for e in history[:3]] == [("mall.refund", 30), ("mall.redeem", -30), ("mall.redeem", -30)]
        assert check_ledger(conn, town.cid) == []


def test_short_of_points_or_stock_changes_nothing(town):
    bob = town.member("bob")
    town.fund(bob, 10)
    with town.engine.begin() as conn:
        shop.add_item(conn, town.cid, "tee", price=50, stock=1)
        shop.add_item(conn, town.cid, "pin", price=5, stock=0)
    with pytest.raises(shop.NotEnoughPoints, match="has 10 points; 'tee' costs 50"), town.engine.begin() as conn:
        shop.redeem(conn, town.cid, bob, "tee", ledger=DbLedger(conn, town.cid))
    with pytest.raises(shop.SoldOut, match="sold out; no points were spent"), town.engine.begin() as conn:
        shop.redeem(conn, town.cid, bob, "pin", ledger=DbLedger(conn, town.cid))
    with pytest.raises(shop.MallError, match="no item 'hat'"), town.engine.begin() as conn:
        shop.redeem(conn, town.cid, bob, "hat", ledger=DbLedger(conn, town.cid))
    with town.engine.connect() as conn:
        assert {r[0]: r[1] for r in conn.execute(select(mall_items.c.sku, mall_items.c.stock))} == {"tee": 1, "pin": 0}
        assert conn.execute(select(mall_redemptions.c.id)).first() is None
    assert town.balance(bob) == 10


class SlowLedger(DbLedger):
    """The real ledger, pausing inside the redemption so the two transactions truly overlap."""

    def spend(self, **kw):
        threading.Event().wait(0.3)
        return super().spend(**kw)


def test_two_concurrent_redemptions_of_the_last_item(town):
    ann, bob = town.member("ann"), town.member("bob")
    town.fund(ann, 100)
    town.fund(bob, 100)
    cid = town.cid
    with town.engine.begin() as conn:
        shop.add_item(conn, cid, "last-one", price=60, stock=1)
    start = threading.Barrier(2)
    outcome: dict[int, object] = {}

    def attempt(member_id: int) -> None:
        start.wait()
        try:
            with town.engine.begin() as conn:  # each thread its own pooled connection
                outcome[member_id] = shop.redeem(conn, cid, member_id, "last-one", ledger=SlowLedger(conn, cid))
        except shop.MallError as exc:
            outcome[member_id] = exc

    threads = [threading.Thread(target=attempt, args=(m,)) for m in (ann, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [m for m, o in outcome.items() if isinstance(o, shop.Redemption)]
    lost = [m for m, o in outcome.items() if isinstance(o, shop.SoldOut)]
    assert len(won) == 1 and len(lost) == 1, outcome
    assert "sold out" in str(outcome[lost[0]])
    assert town.balance(won[0]) == 40 and town.balance(lost[0]) == 100  # the loser keeps their points
    with town.engine.connect() as conn:
        assert conn.execute(select(mall_items.c.stock)).scalar_one() == 0
        assert conn.execute(select(mall_redemptions.c.member_id)).scalars().all() == won
        assert check_ledger(conn, cid) == []


def test_mall_cli(cli, town):
    evil = town.member("evil", '<img src=x onerror=alert(1)>[bold red]Admin[/]\u200b\u202e')
    town.fund(evil, 500)
    cli("mall", "add", "mug", "--price", "30", "--stock", "1", "-c", "c", "--title", "<b>马克杯</b>")
    cli("mall", "add", "mug", "--price", "1", "--stock", "1", "-c", "c", ok=False)
    listed = cli.json("mall", "list", "-c", "c", "--json")
    assert listed == [{"sku": "mug", "title": "<b>马克杯</b>", "price": 30, "stock": 1, "redeemed": 0, "written_off": 0, "refunded": 0}]
    out = cli.json("mall", "redeem", str(evil), "mug", "-c", "c", "--json")
    assert out["balance"] == 470 and out["stock_left"] == 0
    sold = cli("mall", "redeem", str(evil), "mug", "-c", "c", ok=False)
    assert sold.exit_code == 1 and "sold out" in sold.output
    shown = cli("mall", "codes", "-c", "c")
    assert "\u200b" not in shown.output and "\u202e" not in shown.output  # invisible characters never reach the terminal
    wo = cli("mall", "write-off", out["code"], "-c", "c", "--by", "till 1")
    flat = "".join(wo.output.split())  # Rich wraps long lines
    assert "<imgsrc=xonerror=alert(1)>[boldred]Admin[/]\\u200b\\u202e" in flat and "<b>马克杯</b>" in flat
    again = cli("mall", "write-off", out["code"], "-c", "c", ok=False)
    assert "already written off" in again.output
    bad = cli("mall", "write-off", "not-a-code", "-c", "c", ok=False)
    assert "is not a redemption code" in bad.output
    cli("mall", "stock", "mug", "--add", "2", "-c", "c")
    out2 = cli.json("mall", "redeem", "evil", "mug", "-c", "c", "--json")  # by account
    refunded = cli.json("mall", "refund", out2["code"], "--reason", "尺码不对", "-c", "c", "--json")
    assert refunded["status"] == "refunded" and refunded["balance"] == 470 and refunded["refund_reason"] == "尺码不对"
    assert cli.json("mall", "stock", "mug", "-c", "c", "--json")["stock"] == 2
    assert "no member named" in cli("mall", "redeem", "nobody", "mug", "-c", "c", ok=False).output
    assert "no community" in cli("mall", "list", "-c", "nowhere", ok=False).output


def test_hostile_input_gets_clear_errors(cli, town):
    ann = town.member("ann")
    town.fund(ann, 100)
    assert "control or invisible" in cli("mall", "add", "mu\u200bg", "--price", "1", "--stock", "1", "-c", "c", ok=False).output
    assert "at most 500" in cli("mall", "add", "big", "--price", "1", "--stock", "1", "--title", "长" * 501, "-c", "c", ok=False).output
    cli("mall", "add", "mug", "--price", "10", "--stock", "3", "--title", "NUL\x00杯", "-c", "c")
    code = cli.json("mall", "redeem", "ann", "mug", "-c", "c", "--json")["code"]
    out = cli.json("mall", "refund", code, "--reason", "bad\x00 reason " + "<script>x</script>", "-c", "c", "--json")
    assert out["refund_reason"] == "bad reason <script>x</script>" and out["title"] == "NUL杯"
    assert "no member named 99999999999999999999" in cli("mall", "redeem", "99999999999999999999", "mug", "-c", "c", ok=False).output
    assert "without control or invisible" in cli("lottery", "create", "抽\u200b奖", "-p", "a:1", "-c", "c", ok=False).output
    assert "write NAME:COUNT" in cli("lottery", "create", "ok", "-p", "x" * 300 + ":1", "-c", "c", ok=False).output
