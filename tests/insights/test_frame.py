"""The analytics frame: columns, member resolution through identities, filters, on SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select

from shequn.insights.frame import SCHEMA, community_tz, load_frame
from shequn.store.members import merge_members
from shequn.store.tables import identities


def _ms(h, when):
    from tests.insights.conftest import at  # noqa: F401 - same helper the history uses

    return int(at(when, h.tz).timestamp() * 1000)


def test_columns_members_bots_and_addressees(engine, history):
    h = history(tz="America/New_York")
    h.msg("g1", "alice", "2024-03-09 10:00", text="bob: hello <b>", to="bob")
    h.msg("g1", "bob", "2024-03-09 10:01", text="hi", reply_to="e0")
    h.msg("g1", "bot", "2024-03-09 10:02", bot=True)
    h.join("g2", "carol", "2024-03-10 09:00")
    h.add(h.events[0].kind.SYSTEM, "g2", None, "2024-03-10 09:05", text="topic changed")
    cid = h.save()
    with engine.connect() as conn:
        df = load_frame(conn, cid, with_text=True)
        assert community_tz(conn, cid) == "America/New_York"
    assert df.schema == pl.Schema({**SCHEMA, "text": pl.String})
    assert df["platform_id"].to_list() == ["e0", "e1", "e2", "e3", "e4"]
    assert df["kind"].cast(pl.String).to_list() == ["message", "message", "message", "join", "system"]
    assert df["is_bot"].to_list() == [False, False, True, False, False]
    assert df["to"].to_list() == ["bob", None, None, None, None]
    assert df["reply_to"].to_list() == [None, "e0", None, None, None]
    assert df["text"][0] == "bob: hello <b>"
    assert df["member_id"][4] is None  # a system line has no author
    assert df["member_id"].n_unique() == 5  # four people + null
    # 10:00 New York (EST, UTC-5) is 15:00 UTC
    assert df["at_ms"][0] == 1709996400000
    assert df["group_id"][0] != df["group_id"][3]


def test_merged_members_share_one_member_id(engine, history):
    h = history()
    h.msg("g", "alice", "2024-01-01 10:00").msg("g", "alice_phone", "2024-01-01 11:00")
    cid = h.save()
    with engine.begin() as conn:
        ids = dict(conn.execute(select(identities.c.external_id, identities.c.member_id)).all())
        merge_members(conn, ids["alice"], [ids["alice_phone"]])
    with engine.connect() as conn:
        df = load_frame(conn, cid)
    assert df["member_id"].to_list() == [ids["alice"], ids["alice"]]


def test_filters_groups_time_and_empty(engine, history):
    h = history()
    for day in range(1, 6):
        h.msg("g1", "a", f"2024-01-0{day} 12:00").msg("g2", "b", f"2024-01-0{day} 13:00")
    cid = h.save()
    with engine.connect() as conn:
        all_ = load_frame(conn, cid)
        g1 = all_.filter(pl.col("platform_id") == "e0")["group_id"][0]
        only_g1 = load_frame(conn, cid, group_ids=[g1])
        window = load_frame(conn, cid, since_ms=_ms(h, "2024-01-02 00:00"), until_ms=_ms(h, "2024-01-04 00:00"))
        none = load_frame(conn, cid, group_ids=[])
        other = load_frame(conn, cid + 1000)
        isolated = load_frame(conn, cid, isolated=True)
    assert all_.height == 10
    assert only_g1.height == 5 and set(only_g1["group_id"]) == {g1}
    assert window.height == 4  # days 2 and 3, both groups; until is exclusive
    assert none.height == 0 and none.schema == pl.Schema(SCHEMA)
    assert other.height == 0
    assert isolated.equals(all_)
    assert all_["at_ms"].is_sorted()


def test_isolated_sees_uncommitted_writes(engine, history):
    h = history()
    h.msg("g", "a", "2024-01-01 10:00")
    cid = h.save()
    from shequn.store.directory import GroupDirectory
    from shequn.store.event_writer import EventWriter
    from shequn.store.members import IdentityResolver

    with engine.connect() as conn:
        h2 = history()
        h2.msg("g", "b", "2024-01-02 10:00")
        h2.events[0].platform_id = "late"
        EventWriter(conn, cid, GroupDirectory(conn, cid), IdentityResolver(conn, cid)).write(h2.events)
        assert load_frame(conn, cid, isolated=True).height == 2
        conn.rollback()
