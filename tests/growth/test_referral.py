"""Referral: attribution from join events, vesting after the invitee stayed and spoke, revocation when
they leave early, fraud guards, invite-N rewards, the tree and leaderboard — live and in a backtest."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.engine.backtest import member_report, run_backtest
from shequn.engine.live import LiveIngest
from shequn.engine.state import DbState
from shequn.playbook.loader import parse_playbook
from shequn.points.ledger import DbLedger, check_ledger
from shequn.referral.book import Book
from shequn.referral.codes import invite_link, parse_code, referral_code
from shequn.store.tables import actions, communities, identities, member_tags

G = GroupRef("telegram", "-100", "拉新群")
G2 = GroupRef("telegram", "-200", "留存群")
PLAYBOOK = """\
community: c
timezone: UTC
referral:
  stay_days: 7
  min_messages: 1
  speak_within_days: 30
  points: 10
  reward_every: 2
  reward_points: 5
  reward_tag: 裂变达人
  announce: "{inviter} 邀请的 {invitee} 已留存，累计 {count} 人"
"""


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 5, 1, hour, tzinfo=timezone.utc) + timedelta(days=day - 1)


class History:
    def __init__(self):
        self.items: list[Event] = []

    def add(self, day, kind, account, name, group=G, hour=12, **payload):
        self.items.append(Event(group, f"{group.external_id}:{len(self.items)}", kind, at(day, hour), Author(account, name), text="hi" if kind is EventKind.MESSAGE else None, payload=payload))


def story(ann_code: str) -> list[Event]:
    h = History()
    h.add(1, EventKind.MESSAGE, "u-ann", "Ann")
    h.add(1, EventKind.MESSAGE, "u-hal", "Hal")
    h.add(1, EventKind.MESSAGE, "u-z1", "Zed")
    h.add(1, EventKind.MESSAGE, "u-z2", "Zed")
    h.add(2, EventKind.JOIN, "u-bob", "Bob", invited_by="u-ann", invited_by_name="ANN\u200b")  # case and zero-width do not matter
    h.add(3, EventKind.MESSAGE, "u-bob", "Bob")
    h.add(4, EventKind.JOIN, "u-cat", "Cat", invited_by_name="Ann")
    h.add(4, EventKind.MESSAGE, "u-cat", "Cat", hour=13)
    h.add(5, EventKind.LEAVE, "u-cat", "Cat")  # left after 1 day: revoked
    h.add(5, EventKind.JOIN, "u-dan", "Dan", invite_code=ann_code.lower())  # by referral code, typed in lower case
    h.add(6, EventKind.JOIN, "u-eve", "Eve", invited_by_name="Ann")  # never speaks: void after 30 days
    h.add(7, EventKind.JOIN, "u-fay", "Fay", invited_by_name="Fay")  # self-invite
    h.add(8, EventKind.LEAVE, "u-ann", "Ann")
    h.add(9, EventKind.JOIN, "u-ann", "Ann", invited_by_name="Bob")  # circular: Bob was brought in by Ann
    h.add(9, EventKind.JOIN, "u-hal", "Hal", group=G2, invited_by_name="Ann")  # Hal was here already
    h.add(10, EventKind.JOIN, "u-ivy", "Ivy", invited_by_name="Zed")  # two members are called Zed
    h.add(10, EventKind.JOIN, "u-jay", "Jay", invited_by="stranger")
    h.add(10, EventKind.JOIN, "u-kim", "Kim", invite_code="R1-AAAAAA")  # a made-up code
    h.add(20, EventKind.MESSAGE, "u-dan", "Dan")  # Dan stayed (due day 12) and now speaks: vests, 2nd vested -> reward
    h.add(40, EventKind.MESSAGE, "u-bob", "Bob")  # the clock passes Eve's deadline (day 36)
    return h.items


def _ids(conn) -> dict[str, int]:
    return {r.external_id: r.member_id for r in conn.execute(select(identities.c.external_id, identities.c.member_id))}


def _setup(engine):
    """Members exist before the story (so Ann's code can be printed first, as an operator would)."""
    LiveIngest(engine, parse_playbook("community: c\ntimezone: UTC\n")).receive([])
    with engine.begin() as conn:
        cid = conn.execute(select(communities.c.id)).scalar_one()
    return cid


EXPECTED_STATUS = {
    "u-bob": ("vested", "stayed 7 day(s) and sent 1 message(s)"),
    "u-cat": ("revoked", "left after 1.0 day(s); needed 7"),
    "u-dan": ("vested", "stayed 7 day(s) and sent 1 message(s)"),
    "u-eve": ("void", "sent 0 of 1 message(s) within 30 day(s)"),
    "u-fay": ("ignored", "self-invite (the inviter and the invitee are the same member)"),
    "u-ann": ("ignored", "circular invite (the invitee brought the inviter in)"),
    "u-hal": ("ignored", "the invitee was already a member before this join"),
    "u-ivy": ("ignored", "inviter name 'Zed' is shared by several members"),
    "u-jay": ("ignored", "inviter 'stranger' has not been seen in this community"),
    "u-kim": ("ignored", "invite code 'R1-AAAAAA' is not a valid referral code"),
}


def test_referral_live_and_backtest_agree(engine):
    cid = _setup(engine)
    # Ann's member id is only known once she exists; the code is computed from it as `shequn referral code` does
    pb = parse_playbook(PLAYBOOK)
    live = LiveIngest(engine, pb)
    first = story("x")[:1]
    live.receive(first)
    with engine.connect() as conn:
        ann = _ids(conn)["u-ann"]
    code = referral_code(cid, ann)
    assert parse_code(cid, code) == ann and parse_code(cid + 1, code) is None and parse_code(cid, code[:-1] + "Q") in (None,)
    result = live.receive(story(code)[1:])
    assert sorted(a.rule for a in result.actions) == ["referral.task", "referral.vest", "referral.vest"]
    announce = [a.payload["text"] for a in result.actions if a.kind.value == "reply"]
    assert announce == ["Ann 邀请的 Bob 已留存，累计 1 人", "Ann 邀请的 Dan 已留存，累计 2 人"]
    with engine.connect() as conn:
        ids = _ids(conn)
        book = Book(DbState(conn, cid))
        statuses = {acct: (book.invite(m)["status"], book.invite(m)["why"]) for acct, m in ids.items() if book.invite(m)}
        assert statuses == EXPECTED_STATUS
        ledger = DbLedger(conn, cid)
        assert ledger.balance(ann) == 10 + 10 + 5  # two vested invites and the invite-2 reward
        assert ledger.balance(ann, "referral_pending") == 0  # cat revoked, eve void
        rules = [(e.rule, e.amount) for e in reversed(ledger.history(ann))]
        assert rules.count(("referral.pending", 10)) == 4 and ("referral.revoked", -10) in rules and ("referral.void", -10) in rules
        assert check_ledger(conn, cid) == []
        assert conn.execute(select(member_tags.c.tag).where(member_tags.c.member_id == ann)).scalars().all() == ["裂变达人"]
        assert book.stats(ann) == {"pending": 0, "invites": 4, "vested": 2, "revoked": 1, "void": 1, "ignored": 1, "points": 25, "rewards": 1}
        assert book.roots() == [ann] and [n.member_id for n in book.walk(ann)] == [ann, ids["u-bob"], ids["u-cat"], ids["u-dan"], ids["u-eve"]]
        assert conn.execute(select(actions.c.rule)).scalars().all().count("referral.vest") == 2
        live_rows = book.leaderboard()

        # the same playbook over the stored history in a backtest gives the same book
        bt = run_backtest(conn, pb, cid)
        replay = Book(bt.state)
        assert {acct: (replay.invite(m)["status"], replay.invite(m)["why"]) for acct, m in ids.items() if replay.invite(m)} == EXPECTED_STATUS
        assert replay.leaderboard() == live_rows
        report = {m["id"]: m for m in member_report(conn, cid, bt)}
        assert {k: report[ann][k] for k in ("invites", "vested_invites", "pending_invites", "revoked_invites", "invite_points")} == {
            "invites": 4, "vested_invites": 2, "pending_invites": 0, "revoked_invites": 1, "invite_points": 25}
        assert report[ids["u-bob"]]["invited_by"] == ann


def test_pending_then_leave_revokes_and_stay_vests_by_the_clock(engine):
    _setup(engine)
    pb = parse_playbook("community: c\ntimezone: UTC\nreferral:\n  stay_days: 3\n  min_messages: 0\n  points: 7\n")
    h = History()
    h.add(1, EventKind.MESSAGE, "u-ann", "Ann")
    h.add(1, EventKind.JOIN, "u-bob", "Bob", hour=13, invited_by_name="Ann")
    h.add(1, EventKind.JOIN, "u-cat", "Cat", hour=14, invited_by_name="Ann")
    h.add(3, EventKind.LEAVE, "u-cat", "Cat")
    live = LiveIngest(engine, pb)
    live.receive(h.items)
    with engine.connect() as conn:
        cid = conn.execute(select(communities.c.id)).scalar_one()
        ids = _ids(conn)
        ledger = DbLedger(conn, cid)
        assert ledger.balance(ids["u-ann"]) == 0 and ledger.balance(ids["u-ann"], "referral_pending") == 7  # bob still pending
    h2 = History()
    h2.add(4, EventKind.MESSAGE, "u-ann", "Ann", hour=14)  # the clock passes bob's 3 days
    h2.items[0].platform_id = "later"
    live.receive(h2.items)
    with engine.connect() as conn:
        ledger = DbLedger(conn, cid)
        assert ledger.balance(ids["u-ann"]) == 7 and ledger.balance(ids["u-ann"], "referral_pending") == 0
        assert Book(DbState(conn, cid)).invite(ids["u-cat"])["why"] == "left after 1.9 day(s); needed 3"


def test_referral_cli(cli, engine):
    cid = _setup(engine)
    h = History()
    h.add(1, EventKind.MESSAGE, "u-ann", "<b>Ann</b>\u202e")
    h.add(2, EventKind.JOIN, "u-bob", "Bob", invited_by_name="<b>Ann</b>\u202e")
    h.add(3, EventKind.MESSAGE, "u-bob", "Bob")
    h.add(12, EventKind.MESSAGE, "u-bob", "Bob")
    # imported without the module (as `shequn import` would): only --playbook replay sees invites
    LiveIngest(engine, parse_playbook("community: c\ntimezone: UTC\n")).receive(h.items)
    with engine.connect() as conn:
        ids = _ids(conn)
    doc = cli.json("referral", "code", "u-ann", "-c", "c", "--link", "https://example.org/join?src=wx", "--json")
    assert doc["code"] == referral_code(cid, ids["u-ann"]) and doc["link"] == f"https://example.org/join?src=wx&ref={doc['code']}"
    assert invite_link("https://x.org/j", "R1-ABCDEF") == "https://x.org/j?ref=R1-ABCDEF"
    assert "no invites yet in live state" in cli("referral", "tree", "-c", "c").output
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "pb.yaml"
        path.write_text(PLAYBOOK, encoding="utf-8")
        tree = cli.json("referral", "tree", "--playbook", str(path), "--json")
        assert tree == [{"member_id": ids["u-ann"], "name": "<b>Ann</b>\u202e", "depth": 0, "invited": [
            {"member_id": ids["u-bob"], "name": "Bob", "depth": 1, "status": "vested", "why": "stayed 7 day(s) and sent 1 message(s)",
             "invited_at": "2024-05-02T12:00:00+00:00", "how": "invited_by_name '<b>Ann</b>\\u202e'", "invited": []}]}]
        text = cli("referral", "tree", "--playbook", str(path)).output
        assert "\u202e" not in text and "<b>Ann</b>\\u202e" in text and "vested" in text
        board = cli.json("referral", "leaderboard", "--playbook", str(path), "--json")
        assert [(r["rank"], r["member_id"], r["vested"], r["points"]) for r in board] == [(1, ids["u-ann"], 1, 10)]
        assert "邀请排行榜" in cli("referral", "leaderboard", "--playbook", str(path)).output
        (Path(d) / "none.yaml").write_text("community: c\n", encoding="utf-8")
        assert "has no referral: section" in cli("referral", "tree", "--playbook", str(Path(d) / "none.yaml"), ok=False).output
