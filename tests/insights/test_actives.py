"""Actives on hand-made histories: rolling DAU/WAU/MAU, stickiness, joins/leaves, speakers' share, DST days."""

from __future__ import annotations

from datetime import date

import polars as pl

from shequn.insights.actives import actives_summary, daily_actives, membership_flow, speakers_share
from shequn.insights.frame import load_frame
from shequn.insights.heatmap import heatmap
from shequn.insights.presence import local_day
from tests.insights.conftest import at


def ms(text: str, tz: str = "UTC") -> int:
    return int(at(text, tz).timestamp() * 1000)


def day(text: str) -> int:
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


def _january(history):
    h = history()
    h.msg("g", "a", "2024-01-01 09:00").msg("g", "a", "2024-01-02 09:00").msg("g", "a", "2024-01-02 18:00")
    h.msg("g", "b", "2024-01-02 10:00")
    h.msg("g", "bot", "2024-01-02 11:00", bot=True)
    h.join("g", "x", "2024-01-03 08:00").join("g", "c", "2024-01-04 08:00")
    h.msg("g", "c", "2024-01-05 12:00")
    h.leave("g", "b", "2024-01-06 12:00").kick("g", "x", "2024-01-07 12:00")
    h.msg("g", "a", "2024-01-10 23:59")
    return h.save()


def test_rolling_windows_by_hand(engine, history):
    cid = _january(history)
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
    d = daily_actives(frame, "UTC", first_day=day("2024-01-01"), last_day=day("2024-01-10"))
    assert d["dau"].to_list() == [1, 2, 0, 0, 1, 0, 0, 0, 0, 1]
    assert d["wau"].to_list() == [1, 2, 2, 2, 3, 3, 3, 3, 1, 2]
    assert d["mau"].to_list() == [1, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    assert d["stickiness"][-1] == round(1 / 3, 4)
    assert d["day"][0] == date(2024, 1, 1)


def test_flow_and_speakers_share(engine, history):
    cid = _january(history)
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
    assert membership_flow(frame, since_ms=ms("2024-01-01 00:00"), until_ms=ms("2024-01-11 00:00")) == {
        "joins": 2, "leaves": 2, "net_growth": 0}
    # Jan 5-10: c and a spoke; a, b, c, x were all there at some point (b and x left during it); the bot never counts
    assert speakers_share(frame, since_ms=ms("2024-01-05 00:00"), until_ms=ms("2024-01-11 00:00")) == {
        "speakers": 2, "present": 4, "share": 0.5}
    # Jan 8-10: b and x had left before it began; a and c are present, only a spoke
    assert speakers_share(frame, since_ms=ms("2024-01-08 00:00"), until_ms=ms("2024-01-11 00:00")) == {
        "speakers": 1, "present": 2, "share": 0.5}
    doc = actives_summary(frame, "UTC", since_ms=ms("2024-01-01 00:00"), until_ms=ms("2024-01-11 00:00"))
    assert (doc["dau"], doc["wau"], doc["mau"], doc["joins"], doc["leaves"]) == (1, 2, 3, 2, 2)
    assert doc["average_dau"] == 0.5 and len(doc["daily"]) == 10 and doc["daily"][1] == {
        "day": "2024-01-02", "dau": 2, "wau": 2, "mau": 2, "stickiness": 1.0}


def test_days_follow_the_community_time_zone_across_dst(engine, history):
    tz = "America/New_York"
    h = history(tz=tz)
    h.msg("g", "p", "2024-03-09 23:30")  # Saturday night EST: already 10 March in UTC
    h.msg("g", "q", "2024-03-10 00:30")  # the night clocks spring forward (02:00 -> 03:00)
    h.msg("g", "r", "2024-03-10 23:30")  # EDT: 11 March in UTC
    h.msg("g", "s", at("2024-11-03 05:30", "UTC"))  # 01:30 EDT, first time
    h.msg("g", "t", at("2024-11-03 06:30", "UTC"))  # 01:30 EST, second time (clocks fell back)
    cid = h.save()
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
    d = daily_actives(frame, tz, first_day=day("2024-03-09"), last_day=day("2024-03-11"))
    assert d["dau"].to_list() == [1, 2, 0]
    utc = daily_actives(frame, "UTC", first_day=day("2024-03-09"), last_day=day("2024-03-11"))
    assert utc["dau"].to_list() == [0, 2, 1]  # the naive UTC answer differs: the time zone matters
    assert local_day(ms("2024-03-10 23:30", tz), tz) == day("2024-03-10")
    hm = heatmap(frame, tz, since_ms=0, until_ms=ms("2025-01-01 00:00"))
    assert hm["counts"][5][23] == 1  # Saturday 23:00
    assert hm["counts"][6][0] == 1 and hm["counts"][6][23] == 1  # Sunday 00:00 and 23:00 (DST start)
    assert hm["counts"][6][1] == 2  # both 01:30s of the fall-back night are Sunday 01:00 local
    assert hm["total"] == 5 and hm["peak"] == {"weekday": "Sun", "hour": 1, "messages": 2}


def test_empty_and_one_member(engine, history):
    h = history()
    h.msg("solo", "only", "2024-02-01 10:00").msg("solo", "only", "2024-02-03 10:00")
    cid = h.save()
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
        empty = load_frame(conn, cid, group_ids=[])
    d = daily_actives(frame, "UTC", first_day=day("2024-02-01"), last_day=day("2024-02-04"))
    assert d["dau"].to_list() == [1, 0, 1, 0] and d["mau"].to_list() == [1, 1, 1, 1]
    doc = actives_summary(empty, "UTC", since_ms=ms("2024-02-01 00:00"), until_ms=ms("2024-02-05 00:00"))
    assert (doc["dau"], doc["mau"], doc["stickiness"], doc["joins"]) == (0, 0, None, 0)
    assert doc["speakers_share"] == {"speakers": 0, "present": 0, "share": None}
    assert [r["dau"] for r in doc["daily"]] == [0, 0, 0, 0]
    assert heatmap(empty, "UTC", since_ms=0, until_ms=10**13)["peak"] is None
    assert isinstance(frame, pl.DataFrame)
