"""Merging two members who both took part in the economy (points, a check-in, a mall redemption,
lottery entries, an action, invites): the kept member ends up with the sum, the whole history, and
nothing anywhere still names the merged member — on SQLite and PostgreSQL, in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.engine.live import LiveIngest
from shequn.lottery import store as lottery
from shequn.lottery.fair import parse_prize, verify_record, LotteryError
from shequn.mall import shop
from shequn.playbook.loader import parse_playbook
from shequn.points.ledger import DbLedger, check_ledger
from shequn.store.directory import now_ms
from shequn.store.members import MemberError, member_references, merge_members, split_identity
from shequn.store.tables import actions, communities, identities, lotteries, lottery_entries, mall_redemptions, module_state

G = GroupRef("telegram", "-100", "学习群")
T0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
PLAYBOOK = """community: m
timezone: UTC
points:
  message: {award: 1, cooldown: 60s, daily_cap: 20}
  checkin: {award: 5}
"""


class Town:
    def __init__(self, engine, playbook: str = PLAYBOOK):
        self.engine = engine
        self.live = LiveIngest(engine, parse_playbook(playbook))
        self.n = 0

    def say(self, who: str, at: datetime, text: str = "hello there", kind=EventKind.MESSAGE, payload=None):
        self.n += 1
        return self.live.receive([Event(G, f"e{self.n}", kind, at, Author(who, who.upper()), text, None, payload or {})])

    @property
    def cid(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(communities.c.id).where(communities.c.name == "m")).scalar_one()

    def member(self, account: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(identities.c.member_id).where(identities.c.external_id == account)).scalar_one()

    def books(self, member_id: int) -> tuple[int, int, list[str]]:
        with self.engine.connect() as conn:
            led = DbLedger(conn, self.cid)
            return led.balance(member_id), led.earned(member_id), sorted(e.key for e in led.history(member_id, 10_000))


def _references(conn, member_id: int) -> dict[str, int]:
    """Rows in every table with a foreign key to members.id that still name ``member_id``."""
    found = {}
    for col in member_references():
        n = conn.execute(select(func.count()).select_from(col.table).where(col == member_id)).scalar_one()
        if n:
            found[str(col)] = n
    return found


def test_merge_moves_points_redemptions_lottery_entries_and_actions(engine):
    town = Town(engine)
    for minute in (0, 2, 4):
        town.say("ann", T0 + timedelta(minutes=minute))  # +1 each
    town.say("ann", T0 + timedelta(minutes=4, seconds=30), "打卡")  # +5
    town.say("alt", T0 + timedelta(minutes=1))  # +1
    town.say("alt", T0 + timedelta(minutes=3))  # +1
    town.say("alt", T0 + timedelta(minutes=3, seconds=30), "打卡")  # +5 (another member that day)
    town.say("alt", T0 + timedelta(minutes=5))  # +1: the person's last awarded message
    ann, alt, cid = town.member("ann"), town.member("alt"), town.cid
    with engine.begin() as conn:
        led = DbLedger(conn, cid)
        led.post(member_id=ann, amount=20, rule="operator.adjust", reason="seed", key="adjust:ann", at_ms=now_ms(), counter="adjustment")
        led.post(member_id=alt, amount=30, rule="operator.adjust", reason="seed", key="adjust:alt", at_ms=now_ms(), counter="adjustment")
        shop.add_item(conn, cid, "mug", price=4, stock=5)
        lottery.create_lottery(conn, cid, "open", [parse_prize("书:1")])
        lottery.create_lottery(conn, cid, "drawn", [parse_prize("书:1")])
        for who in (ann, alt):
            shop.redeem(conn, cid, who, "mug", ledger=DbLedger(conn, cid))
            lottery.enter(conn, cid, "open", who)
            conn.execute(actions.insert().values(community_id=cid, member_id=who, kind="reply", rule="test", reason="an action", created_ms=now_ms()))
        lottery.enter(conn, cid, "drawn", alt)  # alt alone: alt wins
        lottery.draw(conn, cid, "drawn")
        # as a draw stored before entry lists were kept with the result: the merge must freeze it
        lot = conn.execute(select(lotteries.c.id, lotteries.c.result).where(lotteries.c.name == "drawn")).one()
        conn.execute(lotteries.update().where(lotteries.c.id == lot.id).values(result={k: v for k, v in lot.result.items() if k != "entries"}))
        drawn_before = lottery.public_record(conn, cid, "drawn")
    (ann_bal, ann_earned, ann_keys), (alt_bal, alt_earned, alt_keys) = town.books(ann), town.books(alt)
    assert (ann_bal, alt_bal) == (3 + 5 + 20 - 4, 3 + 5 + 30 - 4)

    with engine.begin() as conn:
        assert merge_members(conn, ann, [alt]) == 1
    with engine.connect() as conn:
        assert _references(conn, alt) == {}
        assert check_ledger(conn, cid) == []
        assert sorted(conn.execute(select(mall_redemptions.c.member_id)).scalars()) == [ann, ann]
        entries = conn.execute(select(lottery_entries.c.member_id, lottery_entries.c.member_entry).order_by(lottery_entries.c.id)).all()
        assert [tuple(e) for e in entries] == [(ann, 1), (ann, 2), (ann, 1)]  # open: both entries, numbered on; drawn: the winner's
        assert conn.execute(select(func.count()).select_from(actions).where(actions.c.member_id == ann)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(module_state).where(module_state.c.key == f"m:{alt}")).scalar_one() == 0
        drawn = lottery.public_record(conn, cid, "drawn")
        assert verify_record(drawn) == [] and drawn["entries"] == drawn_before["entries"] == [[alt, 1]]
        assert drawn["winners"][0]["member_id"] == alt and drawn["winners"][0]["merged_into"] == ann and drawn["winners"][0]["name"] == "ANN"
        with pytest.raises(LotteryError, match="already has 2 entries"):
            lottery.enter(conn, cid, "open", ann)
    assert town.books(ann) == (ann_bal + alt_bal, ann_earned + alt_earned, sorted(ann_keys + alt_keys))

    # the points state is one person's now: cooldown from the person's last award (alt's, minute 5), one check-in a day
    town.say("ann", T0 + timedelta(minutes=5, seconds=30), "still here")  # 30 s after it (90 s after ann's own): nothing
    town.say("ann", T0 + timedelta(minutes=6), "打卡")  # that day's check-in was made: nothing
    assert town.books(ann)[0] == ann_bal + alt_bal
    town.say("ann", T0 + timedelta(minutes=6, seconds=10), "now")  # 70 s after minute 5: +1
    town.say("alt", T0 + timedelta(days=1), "打卡")  # the next day: streak 2 for the merged member, +5
    with engine.connect() as conn:
        hist = [h for h in DbLedger(conn, cid).history(ann, 100) if h.rule.startswith("points.")][:2]  # (seeds and the mall: today)
        assert [h.reason for h in hist] == ["打卡 check-in 2024-05-02: +5, streak 2 days, 3 in total", hist[1].reason]
        assert hist[1].rule == "points.message" and hist[1].reason.endswith("; 7/20 today)")  # 3 + 3 + this one
        assert check_ledger(conn, cid) == []
    assert town.books(ann)[0] == ann_bal + alt_bal + 1 + 5


def test_merge_is_all_or_nothing(engine):
    town = Town(engine)
    town.say("ann", T0)
    town.say("alt", T0 + timedelta(minutes=1))
    ann, alt = town.member("ann"), town.member("alt")
    with pytest.raises(MemberError, match="no member with id 999999"), engine.begin() as conn:
        merge_members(conn, ann, [alt, 999999])  # alt is absorbed first, then the unknown id fails
    with engine.connect() as conn:
        assert _references(conn, alt)["points_transactions.member_id"] == 1  # rolled back: alt still has its points
        assert check_ledger(conn, town.cid) == []
    assert town.books(ann)[0] == town.books(alt)[0] == 1


def test_split_leaves_points_with_the_member(engine):
    town = Town(engine)
    town.say("ann", T0)
    town.say("alt", T0 + timedelta(minutes=1))
    ann, alt = town.member("ann"), town.member("alt")
    with engine.begin() as conn:
        merge_members(conn, ann, [alt])
        alt_identity = conn.execute(select(identities.c.id).where(identities.c.external_id == "alt")).scalar_one()
        new = split_identity(conn, alt_identity)
    assert town.books(ann)[0] == 2 and town.books(new)[0] == 0
    town.say("alt", T0 + timedelta(minutes=5))  # the split-off account earns for itself from now on
    assert town.books(new)[0] == 1 and town.books(ann)[0] == 2


REFERRAL = """community: m
timezone: UTC
referral: {stay_days: 1, min_messages: 1, points: 10}
"""


def test_merge_rewrites_referral_records(engine):
    """alt (ann's second account) was 'invited' by ann and invited carl. After merging alt into ann the
    self-invite is voided (its promised points taken back) and carl's invite is ann's: when it vests the
    points go to ann, not to a member that no longer exists."""
    town = Town(engine, REFERRAL)
    town.say("ann", T0)
    town.say("alt", T0 + timedelta(minutes=1), None, EventKind.JOIN, {"invited_by_name": "ANN"})
    town.say("carl", T0 + timedelta(minutes=2), None, EventKind.JOIN, {"invited_by_name": "ALT"})
    town.say("carl", T0 + timedelta(minutes=3), "hi all")
    ann, alt, carl, cid = town.member("ann"), town.member("alt"), town.member("carl"), town.cid
    with engine.connect() as conn:
        led = DbLedger(conn, cid)
        assert led.balance(ann, "referral_pending") == 10 and led.balance(alt, "referral_pending") == 10
    with engine.begin() as conn:
        merge_members(conn, ann, [alt])
    town.live.tick(int((T0 + timedelta(days=2)).timestamp() * 1000))  # carl stayed and spoke: the invite vests
    with engine.connect() as conn:
        led = DbLedger(conn, cid)
        assert (led.balance(ann), led.balance(ann, "referral_pending")) == (10, 0)
        assert check_ledger(conn, cid) == [] and _references(conn, alt) == {}
        state = {k: v for k, v in conn.execute(select(module_state.c.key, module_state.c.value).where(module_state.c.module == "referral"))}
    assert state[f"inv:{carl}"]["by"] == ann and state[f"inv:{carl}"]["status"] == "vested"
    assert state[f"inv:{ann}"]["status"] == "void" and "self-invite" in state[f"inv:{ann}"]["why"]
    assert state[f"stats:{ann}"] == {"invites": 2, "pending": 0, "vested": 1, "void": 1, "points": 10}
    assert state[f"kids:{ann}"] == [carl] and state["inviters"] == [ann]
    assert not any(k.split(":")[-1] == str(alt) for k in state if k.startswith(("inv:", "kids:", "stats:", "m:")))
