"""Lotteries and red packets: a draw anyone can re-verify, per-member limits, eligibility, splits that
always sum to the total."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time

import pytest

from shequn.domain.events import EventKind
from shequn.lottery import fair, store
from shequn.points.ledger import DbLedger


def test_stream_is_the_documented_hmac_counter_stream():
    s = fair.Stream("seed", "draw")
    block0 = hmac.new(b"seed", b"draw:0", hashlib.sha256).digest()
    block1 = hmac.new(b"seed", b"draw:1", hashlib.sha256).digest()
    expected = [int.from_bytes(block0[i : i + 8], "big") for i in (0, 8, 16, 24)] + [int.from_bytes(block1[:8], "big")]
    assert [s.u64() for _ in range(5)] == expected
    assert fair.Stream("seed", "draw", beacon="b").u64() == int.from_bytes(hmac.new(b"seed:b", b"draw:0", hashlib.sha256).digest()[:8], "big")


def test_red_packet_shares_sum_exactly_and_respect_the_minimum():
    rng = random.Random(7)
    for _ in range(300):
        shares = rng.randint(1, 60)
        minimum = rng.randint(0, 50)
        total = shares * minimum + rng.randint(0, 100_000)
        seed = fair.new_seed()
        amounts = fair.split_red_packet(seed, total, shares, minimum)
        assert len(amounts) == shares and sum(amounts) == total and min(amounts) >= minimum
        assert amounts == fair.split_red_packet(seed, total, shares, minimum)  # deterministic
    assert fair.split_red_packet("s", 10, 10, 1) == [1] * 10  # nothing left to randomise
    with pytest.raises(fair.LotteryError, match="cannot give 10 shares of at least 2"):
        fair.split_red_packet("s", 19, 10, 2)


def test_draw_depends_on_seed_and_entries_not_their_order():
    entries = [[m, 1] for m in range(1, 40)] + [[5, 2], [7, 2]]
    prizes = [fair.parse_prize("一等奖:1"), fair.parse_prize("二等奖:3")]
    a = fair.draw_winners("s1", entries, prizes)
    assert a == fair.draw_winners("s1", list(reversed(entries)), prizes)
    assert len(a) == 4 and len({w["member_id"] for w in a}) == 4  # one prize per member
    assert [w["prize"] for w in a] == ["一等奖", "二等奖", "二等奖", "二等奖"]
    assert any(fair.draw_winners(f"s{i}", entries, prizes) != a for i in range(2, 6))
    # more prizes than members: every member wins once, then the draw stops
    few = fair.draw_winners("s", [[1, 1], [1, 2], [2, 1]], [fair.parse_prize("奖:5")])
    assert sorted(w["member_id"] for w in few) == [1, 2]
    # odds with a cap: never more than the cap
    capped = fair.draw_winners("s", [[m, 1] for m in range(500)], [fair.parse_prize("券:3@0.5")])
    assert len(capped) == 3
    unlimited = fair.draw_winners("s", [[m, 1] for m in range(2000)], [fair.parse_prize("券:*@0.25")])
    assert 400 < len(unlimited) < 600


@pytest.mark.parametrize("spec,message", [
    ("一等奖", "write NAME:COUNT"), ("奖:0", "at least 1"), ("奖:x", "whole number"), ("奖:*", "needs odds"), ("奖:1@1.5", "at most 1"),
])
def test_bad_prizes_are_explained(spec, message):
    with pytest.raises(fair.LotteryError, match=message):
        fair.parse_prize(spec)


def test_lottery_lifecycle_limits_eligibility_and_verification(town):
    now = int(time.time() * 1000)
    from datetime import datetime, timezone

    recent = datetime.fromtimestamp(now / 1000 - 86_400, tz=timezone.utc)
    long_ago = datetime.fromtimestamp(now / 1000 - 30 * 86_400, tz=timezone.utc)
    ann, bob, cat = town.member("ann"), town.member("bob"), town.member("cat")
    town.say("ann", when=recent)
    town.say("bob", when=recent)
    town.say("cat", when=long_ago)
    town.fund(ann, 100)
    town.fund(bob, 5)
    town.fund(cat, 100)
    cid = town.cid
    with town.engine.begin() as conn:
        store.create_lottery(conn, cid, "周年庆", [fair.parse_prize("一等奖:1")], max_entries=2, min_points=10, spoke_within_days=7)
    with town.engine.begin() as conn:
        assert store.enter(conn, cid, "周年庆", ann, ledger=DbLedger(conn, cid)) == 1
        assert store.enter(conn, cid, "周年庆", ann, ledger=DbLedger(conn, cid)) == 2
    with pytest.raises(fair.LotteryError, match="already has 2 entries .* limit is 2"), town.engine.begin() as conn:
        store.enter(conn, cid, "周年庆", ann, ledger=DbLedger(conn, cid))
    with pytest.raises(fair.LotteryError, match="has 5 points; this lottery requires at least 10"), town.engine.begin() as conn:
        store.enter(conn, cid, "周年庆", bob, ledger=DbLedger(conn, cid))
    with pytest.raises(fair.LotteryError, match="not spoken in the last 7 day"), town.engine.begin() as conn:
        store.enter(conn, cid, "周年庆", cat, ledger=DbLedger(conn, cid))
    with town.engine.begin() as conn:
        before = store.public_record(conn, cid, "周年庆")
        assert before["seed"] is None and before["entries"] == [[ann, 1], [ann, 2]]
        record = store.draw(conn, cid, "周年庆")
    assert fair.seed_hash(record["seed"]) == before["seed_hash"]
    assert [(w["prize"], w["member_id"]) for w in record["winners"]] == [("一等奖", ann)]
    assert fair.verify_record(record) == []
    with pytest.raises(fair.LotteryError, match="already drawn"), town.engine.begin() as conn:
        store.draw(conn, cid, "周年庆")
    with pytest.raises(fair.LotteryError, match="entries are closed"), town.engine.begin() as conn:
        store.enter(conn, cid, "周年庆", ann, ledger=DbLedger(conn, cid))


def test_tampered_records_fail_verification():
    entries = [[m, 1] for m in range(1, 30)]
    prizes = [fair.parse_prize("一等奖:1"), fair.parse_prize("二等奖:2")]
    seed = fair.new_seed()
    record = {
        "format": fair.RECORD_FORMAT, "kind": "draw", "seed_hash": fair.seed_hash(seed), "seed": seed, "entries": entries,
        "entries_sha256": fair.entries_hash(entries), "prizes": [p.as_dict() for p in prizes], "one_prize_per_member": True,
        "winners": fair.draw_winners(seed, entries, prizes),
    }
    assert fair.verify_record(record) == []
    other = next(m for m, _ in entries if m not in {w["member_id"] for w in record["winners"]})
    swapped = json.loads(json.dumps(record))
    swapped["winners"][0]["member_id"] = other
    assert "winners are not the ones" in fair.verify_record(swapped)[0]
    reseeded = dict(record, seed=fair.new_seed())
    assert "does not match the published seed_hash" in fair.verify_record(reseeded)[0]
    fewer = dict(record, entries=entries[:-1])
    assert any("entries_sha256" in p for p in fair.verify_record(fewer))
    assert fair.verify_record(dict(record, seed=None)) == ["the seed has not been revealed yet: the record can be verified after the draw"]
    assert "malformed" in fair.verify_record(dict(record, prizes=[{"nom": 1}]))[0]


def test_operator_held_seed(town):
    people = [town.member(f"p{i}") for i in range(12)]
    cid = town.cid
    seed = "我的种子 my seed 2024"
    with town.engine.begin() as conn:
        store.create_lottery(conn, cid, "held", [fair.parse_prize("奖:3")], committed_hash=fair.seed_hash(seed))
        for p in people:
            store.enter(conn, cid, "held", p)
    with pytest.raises(fair.LotteryError, match="give the seed"), town.engine.begin() as conn:
        store.draw(conn, cid, "held")
    with pytest.raises(fair.LotteryError, match="does not hash to the published commitment"), town.engine.begin() as conn:
        store.draw(conn, cid, "held", seed="another")
    with town.engine.begin() as conn:
        rec = store.draw(conn, cid, "held", seed=seed, beacon="2024-06-01 福彩 123")
    assert rec["seed"] == seed and rec["beacon"] == "2024-06-01 福彩 123" and fair.verify_record(rec) == []
    assert fair.verify_record(dict(rec, beacon=None)) != []  # the beacon is part of the draw


def test_lottery_and_red_packet_cli(cli, town, tmp_path):
    names = {"ann": "Ann", "bob": "<script>bob</script>", "cat": "C\u200bat"}
    ids = {a: town.member(a, n) for a, n in names.items()}
    town.say("ann", "Ann", kind=EventKind.MESSAGE)
    cli("lottery", "create", "春节", "--prize", "红包:2", "-c", "c")
    for a in names:
        cli("lottery", "enter", "春节", a, "-c", "c")
    assert "limit is 1" in cli("lottery", "enter", "春节", "ann", "-c", "c", ok=False).output
    drawn = cli.json("lottery", "draw", "春节", "-c", "c", "--json")
    assert len(drawn["winners"]) == 2
    good = tmp_path / "record.json"
    good.write_text(json.dumps(drawn, ensure_ascii=False), encoding="utf-8")
    assert "verified" in cli("lottery", "verify", "--file", str(good)).output
    assert "verified" in cli("lottery", "verify", "春节", "-c", "c").output
    loser = next(i for i in ids.values() if i not in {w["member_id"] for w in drawn["winners"]})
    drawn["winners"][0]["member_id"] = loser
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(drawn), encoding="utf-8")
    res = cli("lottery", "verify", "--file", str(bad), ok=False)
    assert res.exit_code == 1 and "FAILED" in res.output
    (tmp_path / "junk.json").write_text("[1, 2", encoding="utf-8")
    assert "cannot read the record" in cli("lottery", "verify", "--file", str(tmp_path / "junk.json"), ok=False).output
    shown = cli("lottery", "show", "春节", "-c", "c").output
    assert "\u200b" not in shown

    # red packet paid in points: every grab credits its share; the last grab reveals the seed
    rp = cli.json("lottery", "redpacket", "红包雨", "--total", "100", "--shares", "3", "--min", "10", "--points", "-c", "c", "--json")
    assert rp["amounts"] is None and rp["seed"] is None
    got = {a: cli.json("lottery", "grab", "红包雨", a, "-c", "c", "--json")["amount"] for a in names}
    assert sum(got.values()) == 100 and min(got.values()) >= 10
    assert {a: town.balance(ids[a]) for a in names} == got
    assert "already grabbed" in cli("lottery", "grab", "红包雨", "ann", "-c", "c", ok=False).output
    assert "verified" in cli("lottery", "verify", "红包雨", "-c", "c").output
    listing = cli.json("lottery", "show", "-c", "c", "--json")
    assert [(d["lottery"], d["kind"], d["status"], d["entries"]) for d in listing] == [("春节", "draw", "drawn", 3), ("红包雨", "redpacket", "drawn", 3)]
    assert "no lottery named '没有'" in cli("lottery", "draw", "没有", "-c", "c", ok=False).output
    assert "either every prize has odds" in cli("lottery", "create", "mix", "-p", "a:1", "-p", "b:1@0.5", "-c", "c", ok=False).output


def test_concurrent_grabs_and_entries_never_double_count(town):
    import threading

    people = [town.member(f"g{i}") for i in range(6)]
    cid = town.cid
    with town.engine.begin() as conn:
        store.create_red_packet(conn, cid, "抢", total=50, shares=3, minimum=5, points=True)
        store.create_lottery(conn, cid, "once", [fair.parse_prize("奖:1")], max_entries=1)
    start = threading.Barrier(len(people))
    grabbed: dict[int, object] = {}
    entered: dict[int, object] = {}

    def run(member: int) -> None:
        start.wait()
        for name, fn, out in (("抢", store.grab, grabbed), ("once", store.enter, entered)):
            member_for_entry = people[0] if fn is store.enter else member  # everyone tries to enter the same member
            try:
                out[member] = store.retrying(town.engine, lambda conn: fn(conn, cid, name, member_for_entry, ledger=DbLedger(conn, cid)))
            except fair.LotteryError as exc:
                out[member] = exc

    threads = [threading.Thread(target=run, args=(m,)) for m in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    wins = {m: g for m, g in grabbed.items() if isinstance(g, dict)}
    assert len(wins) == 3 and sorted(g["share"] for g in wins.values()) == [0, 1, 2]
    assert all("have been grabbed" in str(g) for g in grabbed.values() if not isinstance(g, dict))
    assert sum(town.balance(m) for m in people) == 50
    assert sum(1 for e in entered.values() if e == 1) == 1
    assert all("limit is 1" in str(e) for e in entered.values() if e != 1)
    with town.engine.connect() as conn:
        rec = store.public_record(conn, cid, "抢")
        assert rec["status"] == "drawn" and fair.verify_record(rec) == []
        assert store.public_record(conn, cid, "once")["entries"] == [[people[0], 1]]


def test_entries_close_on_time_and_odds_draws_verify(town):
    people = [town.member(f"o{i}") for i in range(40)]
    cid = town.cid
    with town.engine.begin() as conn:
        store.create_lottery(conn, cid, "限时", [fair.parse_prize("大奖:1@0.05"), fair.parse_prize("小奖:*@0.3")], max_entries=3, closes_ms=2_000)
        for p in people:
            for _ in range(3):
                store.enter(conn, cid, "限时", p, at_ms=1_000)
    with pytest.raises(fair.LotteryError, match="closed at 1970-01-01T00:00:02"), town.engine.begin() as conn:
        store.enter(conn, cid, "限时", people[0], at_ms=2_000)
    with town.engine.begin() as conn:
        rec = store.draw(conn, cid, "限时", at_ms=3_000)
    assert len(rec["entries"]) == 120 and fair.verify_record(rec) == []
    assert len({w["member_id"] for w in rec["winners"]}) == len(rec["winners"]) > 0  # one prize per member
    assert sum(1 for w in rec["winners"] if w["prize"] == "大奖") <= 1
