"""Activity score, pyramid, 80/95 bands, newcomers/churn, recall: hand-made histories, answers computed by hand."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from member_frames import daily, frame, ms
from shequn.insights.activity import activity_scores
from shequn.insights.interactions import interactions
from shequn.insights.membership import member_status, membership_periods
from shequn.insights.pyramid import activity_bands, member_tiers
from shequn.insights.recall import recall_list

EMPTY = frame([])


def days(start: str, n: int, step: int = 1) -> list[str]:
    d0 = date.fromisoformat(start)
    return [(d0 + timedelta(days=i * step)).isoformat() for i in range(n)]


def test_activity_score_weights_and_monthly_decay():
    f = frame([
        {"member": 1, "at": "2024-06-20 10:00"},                         # this month: 1
        {"member": 2, "at": "2024-06-20 10:01", "reply_to": 1},           # reply: 2
        {"member": 1, "at": "2024-05-20 10:00"},                         # 31 days ago -> 0.9
        {"member": 1, "at": "2024-04-10 10:00"},                         # 81 days ago -> 0.81
        {"member": 2, "at": "2024-06-21 09:00", "kind": "reaction"},      # 0.5
        {"member": 3, "at": "2024-06-21 09:00", "bot": True},            # bots never score
        {"member": 1, "at": "2024-07-01 00:00"},                         # at as_of: ignored
    ])
    as_of = ms("2024-06-30 12:00")
    inter = interactions(f)
    s = {r["member_id"]: r for r in activity_scores(f, as_of_ms=as_of, interactions=inter).iter_rows(named=True)}
    assert s[1]["score"] == pytest.approx(1 + 0.9 + 0.81) and s[1]["messages"] == 3 and s[1]["replies"] == 0
    assert s[2]["score"] == pytest.approx(2.5) and (s[2]["messages"], s[2]["replies"], s[2]["reactions"]) == (1, 1, 1)
    assert 3 not in s
    answers = pl.DataFrame({"answer_id": [2]})
    s = {r["member_id"]: r for r in activity_scores(f, as_of_ms=as_of, interactions=inter, answers=answers).iter_rows(named=True)}
    assert s[2]["score"] == pytest.approx(5.5) and s[2]["answers"] == 1


def test_activity_score_empty():
    assert activity_scores(EMPTY, as_of_ms=ms("2024-01-01 00:00")).is_empty()


def test_pyramid_thresholds_promote_at_once():
    rows = (daily(1, days("2024-04-01", 45, 2))      # every other day for 90 days: 45 days in 90 -> core
            + daily(2, days("2024-06-20", 7))        # 7 consecutive days -> active
            + daily(3, ["2024-06-27", "2024-06-29"])  # 2 days within a week -> casual
            + daily(4, ["2024-06-01", "2024-06-20"])  # 2 days, 19 apart -> lurker
            + [{"member": 5, "at": "2024-06-10 10:00", "kind": "join"}])  # never spoke -> lurker
    t = {r["member_id"]: r for r in member_tiers(frame(rows), as_of_ms=ms("2024-06-30 12:00"), tz="UTC").iter_rows(named=True)}
    assert {m: t[m]["tier"] for m in t} == {1: "core", 2: "active", 3: "casual", 4: "lurker", 5: "lurker"}
    assert (t[2]["days_7"], t[2]["days_30"], t[2]["days_90"]) == (3, 7, 7)  # 06-24..06-26 in the last week
    # member 1 spoke on days 2024-04-01 + 2k, k < 45: in the 30 days 06-01..06-30 those are 06-02..06-28 (14 days)
    assert t[1]["days_30"] == 14


def test_pyramid_demotes_only_at_month_boundaries():
    rows = daily(1, days("2024-06-01", 7))  # active in early June, silent since
    f = frame(rows)
    # still active at the end of June and through July (best of previous month), lurker in August
    assert member_tiers(f, as_of_ms=ms("2024-06-30 23:00"), tz="UTC")["tier"].to_list() == ["active"]
    assert member_tiers(f, as_of_ms=ms("2024-07-31 23:00"), tz="UTC")["tier"].to_list() == ["active"]
    assert member_tiers(f, as_of_ms=ms("2024-08-01 01:00"), tz="UTC")["tier"].to_list() == ["lurker"]


def test_pyramid_uses_community_days_across_dst():
    # 23:30 and 00:30 New York time on the DST night are two local days (one UTC day apart: 03:30Z, 04:30Z)
    rows = [{"member": 1, "at": "2024-03-09 23:30"}, {"member": 1, "at": "2024-03-10 00:30"}]
    f = frame(rows, tz="America/New_York")
    assert member_tiers(f, as_of_ms=ms("2024-03-12 12:00"), tz="America/New_York")["tier"].to_list() == ["casual"]
    assert member_tiers(f, as_of_ms=ms("2024-03-12 12:00"), tz="UTC")["tier"].to_list() == ["lurker"]  # one UTC day


def test_pyramid_empty_and_one_member():
    assert member_tiers(EMPTY, as_of_ms=ms("2024-01-01 00:00"), tz="Asia/Shanghai").is_empty()
    one = frame([{"member": 7, "at": "2024-01-01 00:00"}])
    assert member_tiers(one, as_of_ms=ms("2024-01-02 00:00"), tz="Asia/Shanghai").rows() == [(7, "lurker", 1, 1, 1)]


def test_activity_bands_80_95():
    # member 1: 80 messages, member 2: 15, member 3: 4, member 4: 1 -> 100 messages
    rows = []
    for m, n in ((1, 80), (2, 15), (3, 4), (4, 1)):
        rows += [{"member": m, "at": f"2024-06-01 {10 + i // 60:02d}:{i % 60:02d}"} for i in range(n)]
    b = {r["member_id"]: r["band"] for r in activity_bands(frame(rows)).iter_rows(named=True)}
    assert b == {1: "top80", 2: "top95", 3: "rest", 4: "rest"}
    assert activity_bands(EMPTY).is_empty()


def test_member_status_and_periods():
    rows = (daily(1, ["2024-04-02", "2024-04-28"])                 # silent since 04-28 -> churned, counted in April
            + daily(2, ["2024-05-03", "2024-06-25"])                # active
            + [{"member": 3, "at": "2024-06-10 10:00", "kind": "join"}]  # lurker, newcomer
            + daily(4, ["2024-06-01"]) + [{"member": 4, "at": "2024-06-02 10:00", "kind": "leave"}])  # left
    f = frame(rows)
    as_of = ms("2024-06-30 00:00")
    st = {r["member_id"]: r for r in member_status(f, as_of_ms=as_of).iter_rows(named=True)}
    assert {m: st[m]["status"] for m in st} == {1: "churned", 2: "active", 3: "lurker", 4: "churned"}
    assert st[1]["silent_days"] == 62 and st[4]["left"] and st[3]["newcomer"] and not st[2]["newcomer"]
    per = {r["period"]: r for r in membership_periods(f, as_of_ms=as_of, tz="UTC").iter_rows(named=True)}
    assert (per["2024-04"]["newcomers"], per["2024-04"]["churned"], per["2024-04"]["complete"]) == (1, 1, True)
    assert (per["2024-06"]["newcomers"], per["2024-06"]["churned"], per["2024-06"]["left"]) == (2, 1, 1)
    assert per["2024-05"]["complete"] is False  # 30 days before as_of is in May: May's churn can still grow
    weeks = membership_periods(f, as_of_ms=as_of, tz="UTC", period="week")
    assert weeks["period"][0] == "2024-04-01"  # Monday of the week of 2024-04-02
    assert membership_periods(EMPTY, as_of_ms=as_of, tz="UTC").is_empty()


def test_membership_period_uses_local_month():
    # 2024-04-30 23:30 in UTC is already May in Shanghai
    f = frame([{"member": 1, "at": "2024-04-30 23:30"}])
    as_of = ms("2024-07-01 00:00")
    assert membership_periods(f, as_of_ms=as_of, tz="Asia/Shanghai")["period"].to_list() == ["2024-05"]
    assert membership_periods(f, as_of_ms=as_of, tz="UTC")["period"].to_list() == ["2024-04"]


def test_recall_list_rhythm_and_reason():
    rows = (daily(1, days("2024-06-01", 10))           # daily for 10 days (06-01..06-10), silent 20 days
            + daily(2, days("2024-03-01", 6, 14))      # every 14 days, last 05-10: 51 days silent < 3*14 + ... -> 42 due: listed
            + daily(3, days("2024-06-20", 10))         # on schedule (last 06-29)
            + daily(4, days("2024-01-01", 5)))         # silent for 176 days: gone, not drifting
    r = recall_list(frame(rows), as_of_ms=ms("2024-06-30 12:00"), tz="UTC")
    assert r["member_id"].to_list() == [1, 2]
    one = r.row(0, named=True)
    assert (one["usual_gap_days"], one["silent_days"], one["overdue"]) == (1.0, 20, 20.0)
    assert one["reason"] == "usually speaks every 1.0 days; silent for 20 days"
    assert one["reason_zh"] == "通常每 1.0 天发言一次；已沉默 20 天"
    assert r.row(1, named=True)["silent_days"] == 51
    assert recall_list(EMPTY, as_of_ms=ms("2024-06-30 12:00"), tz="UTC").is_empty()
