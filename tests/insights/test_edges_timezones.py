"""Every metric on non-UTC communities and across daylight-saving switches, answers worked out by hand.

Zones and switches used (checked against the tz database):
- Europe/Berlin 2026-03-29: 02:00 CET (01:00 UTC) jumps to 03:00 CEST, so local 29 March has 23 hours;
- Europe/Berlin 2026-10-25: 03:00 CEST (01:00 UTC) falls back to 02:00 CET, so 02:00-03:00 local happens twice;
- Asia/Shanghai: UTC+8 all year (no DST), so local days start at 16:00 UTC of the day before.
Each test also states what a naive UTC reading would give, where that differs, so it fails if a metric
buckets in UTC instead of the community's zone.
"""

from __future__ import annotations

import math

import polars as pl
from sqlalchemy import select

from member_frames import daily, frame, ms
from shequn.insights.activity import activity_scores
from shequn.insights.actives import actives_summary, daily_actives
from shequn.insights.churn import churn_risk
from shequn.insights.cohorts import cohort_retention
from shequn.insights.frame import load_frame
from shequn.insights.heatmap import heatmap
from shequn.insights.interactions import interactions
from shequn.insights.keywords import keywords_by_period
from shequn.insights.lifecycle import group_lifecycle, health, weekly
from shequn.insights.membership import member_status, membership_periods
from shequn.insights.presence import local_day
from shequn.insights.pyramid import member_tiers
from shequn.insights.recall import recall_list
from shequn.insights.response import first_responses, response_summary
from shequn.store.tables import groups
from tests.insights.conftest import at

BERLIN, SHANGHAI = "Europe/Berlin", "Asia/Shanghai"


def utc(text: str):
    return at(text, "UTC")


def _berlin_spring(history):
    """Stored history around Berlin's spring-forward night (times given in UTC; local time in the comments)."""
    h = history(tz=BERLIN)
    h.msg("g", "a", utc("2026-03-28 22:30"))   # Sat 28 Mar 23:30 CET
    h.join("g", "e", utc("2026-03-28 23:10"))  # Sun 29 Mar 00:10 CET
    h.msg("g", "b", utc("2026-03-29 00:30"))   # Sun 29 Mar 01:30 CET
    h.msg("g", "c", utc("2026-03-29 01:30"))   # Sun 29 Mar 03:30 CEST (02:00-03:00 never happened)
    h.msg("g", "d", utc("2026-03-29 22:30"))   # Mon 30 Mar 00:30 CEST: still the 29th in UTC
    h.msg("g", "a", utc("2026-03-30 10:00"))   # Mon 30 Mar 12:00 CEST
    h.leave("g", "b", utc("2026-03-30 21:59"))  # Mon 30 Mar 23:59 CEST
    h.kick("g", "c", utc("2026-03-30 22:00"))  # Tue 31 Mar 00:00 CEST: after the period below
    return h.save()


def test_actives_on_the_23_hour_day(engine, history):
    cid = _berlin_spring(history)
    with engine.connect() as conn:
        f = load_frame(conn, cid)
    first, last = local_day(ms("2026-03-28 12:00", BERLIN), BERLIN), local_day(ms("2026-03-30 12:00", BERLIN), BERLIN)
    d = daily_actives(f, BERLIN, first_day=first, last_day=last)
    # local 28th: a; 29th: b and c (01:30 CET and 03:30 CEST are the same local day); 30th: d (00:30) and a
    assert d["dau"].to_list() == [1, 2, 2]
    assert d["wau"].to_list() == [1, 3, 4] and d["mau"].to_list() == [1, 3, 4] and d["stickiness"][-1] == 0.5
    # in UTC days the same messages read 1 (a), 3 (b, c, d), 1 (a)
    assert daily_actives(f, "UTC", first_day=first, last_day=last)["dau"].to_list() == [1, 3, 1]
    # the period 29 Mar 00:00 CET .. 31 Mar 00:00 CEST is 47 hours but two whole local days
    since, until = ms("2026-03-29 00:00", BERLIN), ms("2026-03-31 00:00", BERLIN)
    assert until - since == 47 * 3_600_000
    doc = actives_summary(f, BERLIN, since_ms=since, until_ms=until)
    assert [r["day"] for r in doc["daily"]] == ["2026-03-29", "2026-03-30"]
    assert (doc["dau"], doc["wau"], doc["mau"], doc["average_dau"]) == (2, 4, 4, 2.0)
    # e's join (00:10 CET on the 29th) is inside; c's kick at 00:00 on the 31st is not: 1 join, 1 leave (b)
    assert (doc["joins"], doc["leaves"], doc["net_growth"]) == (1, 1, 0)
    # present: a, b, c, d (spoke) and e (joined); speakers a, b, c, d -> 4/5
    assert doc["speakers_share"] == {"speakers": 4, "present": 5, "share": 0.8}


def test_insights_cli_period_over_the_dst_night(cli, engine, history):
    _berlin_spring(history)
    doc = cli.json("insights", "--json", "--since", "2026-03-29", "--until", "2026-03-30")
    # --since/--until are local midnights: 23:00 UTC on the 28th to 22:00 UTC on the 29th, 23 hours
    assert doc["period"]["since"] == "2026-03-28T23:00:00Z" and doc["period"]["until"] == "2026-03-29T22:00:00Z"
    assert doc["period"]["days"] == round(23 / 24, 2)
    assert [r["day"] for r in doc["actives"]["daily"]] == ["2026-03-29"] and doc["actives"]["dau"] == 2
    assert doc["messages"] == 2 and doc["actives"]["joins"] == 1  # b, c; e joined at 00:10 CET
    hm = doc["heatmap"]["counts"]
    assert hm[6][1] == 1 and hm[6][2] == 0 and hm[6][3] == 1  # Sunday 01:30 and 03:30; hour 2 never existed


def test_heatmap_dst_nights():
    rows = [
        {"member": 1, "at": "2026-03-29 00:30+00:00"},  # Sun 01:30 CET
        {"member": 2, "at": "2026-03-29 01:30+00:00"},  # Sun 03:30 CEST
        {"member": 1, "at": "2026-10-25 00:30+00:00"},  # Sun 02:30 CEST (first pass)
        {"member": 2, "at": "2026-10-25 01:30+00:00"},  # Sun 02:30 CET (second pass)
        {"member": 3, "at": "2026-10-25 02:30+00:00"},  # Sun 03:30 CET
    ]
    hm = heatmap(frame(rows), BERLIN, since_ms=0, until_ms=ms("2027-01-01 00:00"))
    sunday = hm["counts"][6]
    assert sunday[1] == 1 and sunday[2] == 2 and sunday[3] == 2 and hm["total"] == 5
    assert hm["peak"] == {"weekday": "Sun", "hour": 2, "messages": 2}  # ties go to the earliest cell
    # Shanghai: the same instants are Sunday 08:30, 09:30 and 08:30, 09:30, 10:30
    assert heatmap(frame(rows), SHANGHAI, since_ms=0, until_ms=ms("2027-01-01 00:00"))["counts"][6][8:11] == [2, 2, 1]


def test_lifecycle_weeks_and_dead_rule_across_dst(engine, history):
    # as_of = Sun 5 Apr 2026 00:00 CEST (4 Apr 22:00 UTC): week 0 = 29 Mar..4 Apr (holding the 23-hour day),
    # week 1 = 22..28 Mar, week 2 = 15..21 Mar.
    h = history(tz=BERLIN)
    h.msg("lone", "x", utc("2026-03-21 22:30"))     # Sat 21 Mar 23:30 CET: week 2, although only 13 d 23.5 h ago
    h.msg("lone", "y", utc("2026-04-01 10:00"))     # week 0
    h.msg("pair", "x", utc("2026-03-21 23:30"))     # Sun 22 Mar 00:30 CET: week 1
    h.msg("pair", "y", utc("2026-03-28 22:30"))     # Sat 28 Mar 23:30 CET: week 1
    h.msg("pair", "x", utc("2026-04-04 21:30"))     # Sat 4 Apr 23:30 CEST: week 0
    h.msg("back", "y", utc("2026-03-07 22:30"))     # Sat 7 Mar 23:30 CET: week 4 (1..7 Mar)
    h.msg("back", "y", utc("2026-04-01 10:00"))     # week 0
    cid = h.save()
    as_of = ms("2026-04-05 00:00", BERLIN)
    with engine.connect() as conn:
        f = load_frame(conn, cid)
        ids = dict(conn.execute(select(groups.c.name, groups.c.id)).all())
    wk = weekly(f, BERLIN, as_of_ms=as_of)
    assert wk.filter(pl.col("group_id") == ids["lone"])["speakers"].to_list()[:3] == [1, 0, 1]
    assert wk.filter(pl.col("group_id") == ids["pair"])["speakers"].to_list()[:3] == [1, 2, 0]
    life = group_lifecycle(f, BERLIN, as_of_ms=as_of)
    lone, pair = life[ids["lone"]], life[ids["pair"]]
    assert [w["week_start"] for w in lone["weekly"][:3]] == ["2026-03-29", "2026-03-22", "2026-03-15"]
    # "lone": only y spoke in weeks 0-1 -> dead. (An elapsed-time cut of 14 x 24 h, 21 Mar 22:00 UTC, would let x's
    # message of week 2 count and call the group alive.)
    assert lone["stage"] == "dead" and lone["reason"] == "1 speaker(s) in the last 2 weeks"
    # "pair": x and y in weeks 0-1; 2 weeks old -> week 0 (1 speaker) vs week 1 (2): down by one person only -> stable
    assert pair["stage"] == "stable" and (pair["recent_speakers_median"], pair["earlier_speakers_median"]) == (1, 2)
    assert pair["age_weeks"] == 2
    # "back": y spoke in week 4 and again in week 0 -> retention 1/1; 1 message in the last 4 weeks / 28 days
    back = life[ids["back"]]
    hv = health(f.filter(pl.col("group_id") == ids["back"]), BERLIN, as_of_ms=as_of, lifecycle=back, response_rate=None,
                absence_factor=1)
    assert (back["stage"], back["age_weeks"], hv["retention"]) == ("dead", 5, 1.0)
    assert hv["activity"] == {"messages_per_day": round(1 / 28, 2), "speakers_per_week": 0.0}


def test_pyramid_demotes_at_the_local_month_boundary():
    # active on 1-7 June at 10:00 Shanghai; as_of 1 Aug 01:00 Shanghai = 31 Jul 17:00 UTC.
    f = frame(daily(1, [f"2024-06-0{d}" for d in range(1, 8)]), tz=SHANGHAI)
    as_of = ms("2024-08-01 01:00", SHANGHAI)
    # Shanghai: it is August, the best tier of July (none) applies -> lurker; in UTC it is still 31 July -> active
    assert member_tiers(f, as_of_ms=as_of, tz=SHANGHAI)["tier"].to_list() == ["lurker"]
    assert member_tiers(f, as_of_ms=as_of, tz="UTC")["tier"].to_list() == ["active"]


def test_newcomers_and_churn_periods_in_local_months_and_weeks():
    f = frame([
        {"member": 1, "at": "2026-03-31 22:30+00:00"},                 # Wed 1 Apr 00:30 CEST: last (and only) message
        {"member": 2, "at": "2026-03-29 00:30+00:00", "kind": "join"},  # Sun 29 Mar 01:30 CET
        {"member": 2, "at": "2026-05-20 10:00+00:00"},
    ])
    as_of = ms("2026-06-01 00:00", BERLIN)
    st = {r["member_id"]: r for r in member_status(f, as_of_ms=as_of).iter_rows(named=True)}
    # member 1: silent from 31 Mar 22:30 UTC to 31 May 22:00 UTC = 60 days 23.5 hours -> 60 whole days, churned
    assert (st[1]["status"], st[1]["silent_days"], st[2]["status"]) == ("churned", 60, "active")
    per = {r["period"]: r for r in membership_periods(f, as_of_ms=as_of, tz=BERLIN).iter_rows(named=True)}
    # Berlin: member 1 arrives and churns in April, member 2 arrives in March; as_of - 30 d is in May -> May open
    assert {p: (r["newcomers"], r["churned"], r["complete"]) for p, r in per.items()} == {
        "2026-03": (1, 0, True), "2026-04": (1, 1, True)}
    assert set(membership_periods(f, as_of_ms=as_of, tz="UTC")["period"].to_list()) == {"2026-03"}  # both in UTC March
    weeks = {r["period"]: (r["newcomers"], r["churned"]) for r in
             membership_periods(f, as_of_ms=as_of, tz=BERLIN, period="week").iter_rows(named=True)}
    assert weeks == {"2026-03-23": (1, 0), "2026-03-30": (1, 1)}  # Sun 29 Mar is in the week of Mon 23 Mar


def test_recall_counts_local_days():
    # daily at 10:00 Shanghai on 1-10 June; as_of 30 Jun 07:00 Shanghai (29 Jun 23:00 UTC)
    f = frame(daily(1, [f"2024-06-{d:02d}" for d in range(1, 11)]), tz=SHANGHAI)
    as_of = ms("2024-06-30 07:00", SHANGHAI)
    r = recall_list(f, as_of_ms=as_of, tz=SHANGHAI).row(0, named=True)
    assert (r["usual_gap_days"], r["silent_days"]) == (1.0, 20)  # 10 Jun -> 30 Jun
    assert recall_list(f, as_of_ms=as_of, tz="UTC")["silent_days"].to_list() == [19]  # UTC says 29 June
    # Berlin, daily at 12:00 on 20-31 March across the 23-hour day: the gap is still 1 local day
    g = frame(daily(2, [f"2026-03-{d}" for d in range(20, 32)], hour="12:00"), tz=BERLIN)
    r = recall_list(g, as_of_ms=ms("2026-04-15 12:00", BERLIN), tz=BERLIN).row(0, named=True)
    assert r["reason"] == "usually speaks every 1.0 days; silent for 15 days" and r["active_days"] == 12


def test_churn_windows_are_local_days():
    # as_of 25 Jun 00:00 Shanghai: the current window is local 28 May .. 24 June
    f = frame([{"member": 1, "at": "2024-05-28 01:00"}, {"member": 2, "at": "2024-06-20 10:00"}], tz=SHANGHAI)
    as_of = ms("2024-06-25 00:00", SHANGHAI)
    risk, info = churn_risk(f, as_of_ms=as_of, tz=SHANGHAI)
    rows = {r["member_id"]: r for r in risk.iter_rows(named=True)}
    assert set(rows) == {1, 2} and info["model"] is None
    assert (rows[1]["recency_days"], rows[2]["recency_days"]) == (28.0, 5.0)  # window end 25 Jun - 28 May / - 20 Jun
    # in UTC member 1 spoke on 27 May (17:00 UTC), before the window 28 May .. 24 Jun
    assert churn_risk(f, as_of_ms=as_of, tz="UTC")[0]["member_id"].to_list() == [2]
    # Berlin: spoke Sun 29 Mar 12:00 CEST; as_of 1 Apr 00:00 CEST -> window end 1 Apr, recency 3 local days
    g = frame([{"member": 3, "at": "2026-03-29 12:00"}], tz=BERLIN)
    row = churn_risk(g, as_of_ms=ms("2026-04-01 00:00", BERLIN), tz=BERLIN)[0].row(0, named=True)
    assert (row["member_id"], row["recency_days"], row["active_days"], row["risk"]) == (3, 3.0, 1.0, None)


def test_response_times_are_elapsed_time_across_both_switches():
    f = frame([
        {"id": 1, "member": 1, "at": "2026-03-29 00:30+00:00", "text": "wie geht das?"},        # 01:30 CET
        {"id": 2, "member": 2, "at": "2026-03-29 01:30+00:00", "text": "so", "reply_to": 1},    # 03:30 CEST
        {"id": 3, "member": 1, "at": "2026-10-25 00:30+00:00", "text": "und das?"},            # 02:30 CEST
        {"id": 4, "member": 2, "at": "2026-10-25 01:15+00:00", "text": "so", "reply_to": 3},    # 02:15 CET
    ])
    r = first_responses(f, interactions(f))
    # wall clocks say 2 h and -15 min; elapsed time is 1 h and 45 min
    assert r.select("question_id", "response_s").rows() == [(1, 3600.0), (3, 2700.0)]
    s = response_summary(r, as_of_ms=ms("2026-10-27 00:00", BERLIN))
    assert (s["median_s"], s["p90_s"], s["answered_24h_share"]) == (2700.0, 3600.0, 1.0)


def test_activity_decay_counts_elapsed_days_not_calendar_days():
    # as_of Mon 27 Apr 2026 12:00 CEST (10:00 UTC)
    f = frame([
        {"member": 1, "at": "2026-03-28 12:00"},  # CET, 11:00 UTC: 29 d 23 h before -> months_ago 0 -> 1
        {"member": 1, "at": "2026-03-27 12:00"},  # 30 d 23 h before -> months_ago 1 -> 0.9
    ], tz=BERLIN)
    assert activity_scores(f, as_of_ms=ms("2026-04-27 12:00", BERLIN))["score"].to_list() == [1.9]
    # one hour later the first message is exactly 30 x 24 h old: 0.9 + 0.9
    assert activity_scores(f, as_of_ms=ms("2026-04-27 13:00", BERLIN))["score"].to_list() == [1.8]


def test_cohorts_in_local_months_and_month_completion():
    f = frame([
        {"member": 1, "at": "2026-10-31 23:30+00:00"},  # Sun 1 Nov 00:30 CET
        {"member": 1, "at": "2026-11-30 23:30+00:00"},  # Tue 1 Dec 00:30 CET
        {"member": 2, "at": "2026-11-15 12:00+00:00"},
    ])
    new_year = ms("2027-01-01 00:00", BERLIN)  # 31 Dec 23:00 UTC
    # Berlin: both first spoke in November; member 1 again in December. as_of at local midnight closes December.
    assert cohort_retention(f, BERLIN, as_of_ms=new_year) == [
        {"cohort": "2026-11", "size": 2, "retention": [1.0, 0.5], "complete": True}]
    # one minute earlier December is still open
    assert cohort_retention(f, BERLIN, as_of_ms=new_year - 60_000)[0]["complete"] is False
    # UTC: member 1 is an October cohort (31 Oct 23:30) speaking again in November; December is still running
    assert cohort_retention(f, "UTC", as_of_ms=new_year) == [
        {"cohort": "2026-10", "size": 1, "retention": [1.0, 1.0, 0.0], "complete": False},
        {"cohort": "2026-11", "size": 1, "retention": [1.0, 0.0], "complete": False},
    ]


def test_keyword_weeks_are_local_weeks():
    # as_of 1 Mar 2024 00:00 Shanghai: week 0 = 23..29 Feb local. Three "grub" messages at 23 Feb 00:30 Shanghai
    # (22 Feb 16:30 UTC) are week 0 there, week 1 in UTC.
    t0 = ms("2024-02-23 00:30", SHANGHAI)
    texts = pl.DataFrame({"id": [1, 2, 3, 4], "at_ms": [t0, t0 + 1, t0 + 2, t0 + 3],
                          "text": ["grub rescue", "grub again", "grub fixed", "hello"]})
    bg = pl.DataFrame({"id": list(range(10, 30)), "text": ["hello world"] * 20})
    as_of = ms("2024-03-01 00:00", SHANGHAI)
    local = keywords_by_period(texts, bg, as_of_ms=as_of, tz=SHANGHAI, periods=2)
    assert [(p["start"], p["messages"]) for p in local] == [("2024-02-23", 4), ("2024-02-16", 0)]
    # p = 3/4 messages of the week, q = (0 + 1) / (20 + 1) in the background: score = 0.75 x ln(0.75 x 21)
    assert local[0]["keywords"] == [{"term": "grub", "messages": 3, "score": round(0.75 * math.log(0.75 * 21), 4)}]
    in_utc = keywords_by_period(texts, bg, as_of_ms=as_of, tz="UTC", periods=2)
    assert [p["messages"] for p in in_utc] == [0, 4]
    # Berlin, as_of Sun 5 Apr 00:00 CEST: 28 Mar 23:30 CET is week 1, 29 Mar 00:30 CET (the 23-hour day) week 0
    b = pl.DataFrame({"id": [1, 2], "at_ms": [ms("2026-03-28 23:30", BERLIN), ms("2026-03-29 00:30", BERLIN)], "text": ["a", "b"]})
    weeks = keywords_by_period(b, bg, as_of_ms=ms("2026-04-05 00:00", BERLIN), tz=BERLIN, periods=2)
    assert [(p["start"], p["end"], p["messages"]) for p in weeks] == [("2026-03-29", "2026-04-05", 1), ("2026-03-22", "2026-03-29", 1)]
