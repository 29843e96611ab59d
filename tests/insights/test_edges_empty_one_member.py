"""Empty groups, communities without a single event, and one person talking alone: every metric, answers by hand.

Empty means no events at all: each metric returns zeros, empty lists or null shares (never a crash, never a
division by zero), and every surface (`shequn insights --json`, `shequn members --json`, `shequn report`,
`shequn replies --json`) prints them. One member alone has no replies: no answers, no KOL, PageRank 1 and
betweenness 0 when asked for, absence factor 1, a dead group.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

import polars as pl
import pytest

from member_frames import frame, ms
from shequn.domain.events import GroupRef
from shequn.insights.activity import activity_scores
from shequn.insights.actives import actives_summary, daily_actives
from shequn.insights.churn import churn_risk
from shequn.insights.cohorts import cohort_retention
from shequn.insights.graph import absence_factor, centrality, key_members
from shequn.insights.heatmap import heatmap
from shequn.insights.interactions import interactions
from shequn.insights.keywords import keywords_by_period
from shequn.insights.lifecycle import group_lifecycle, health, retention, weekly
from shequn.insights.member_table import build_member_table
from shequn.insights.membership import member_status, membership_periods
from shequn.insights.pyramid import activity_bands, member_tiers
from shequn.insights.recall import recall_list
from shequn.insights.response import first_responses, response_summary
from shequn.insights.summary import _empty_life
from shequn.store.directory import GroupDirectory

SHANGHAI = "Asia/Shanghai"
EMPTY = frame([])
AS_OF = ms("2024-06-30 12:00", SHANGHAI)


def test_every_metric_on_an_empty_frame():
    d = daily_actives(EMPTY, SHANGHAI, first_day=19_000, last_day=19_002)
    assert d["dau"].to_list() == [0, 0, 0] and d["mau"].to_list() == [0, 0, 0] and d["stickiness"].null_count() == 3
    doc = actives_summary(EMPTY, SHANGHAI, since_ms=AS_OF - 7 * 86_400_000, until_ms=AS_OF)
    assert (doc["dau"], doc["wau"], doc["mau"], doc["stickiness"], doc["average_dau"]) == (0, 0, 0, None, 0.0)
    assert (doc["joins"], doc["leaves"], doc["net_growth"]) == (0, 0, 0) and len(doc["daily"]) == 8
    assert doc["speakers_share"] == {"speakers": 0, "present": 0, "share": None}
    assert activity_scores(EMPTY, as_of_ms=AS_OF).is_empty()
    assert member_tiers(EMPTY, as_of_ms=AS_OF, tz=SHANGHAI).is_empty() and activity_bands(EMPTY).is_empty()
    assert member_status(EMPTY, as_of_ms=AS_OF).is_empty()
    assert membership_periods(EMPTY, as_of_ms=AS_OF, tz=SHANGHAI, period="week").is_empty()
    assert recall_list(EMPTY, as_of_ms=AS_OF, tz=SHANGHAI).is_empty()
    risk, info = churn_risk(EMPTY, as_of_ms=AS_OF, tz=SHANGHAI)
    assert risk.is_empty() and (info["model"], info["examples"], info["churned"]) == (None, 0, 0)
    inter = interactions(EMPTY)
    assert inter.is_empty()
    s = response_summary(first_responses(EMPTY, inter), as_of_ms=AS_OF)
    assert s == {"questions": 0, "answered": 0, "median_s": None, "p90_s": None, "answered_24h_share": None,
                 "eligible_24h": 0, "unanswered_count": 0, "unanswered": []}
    assert centrality(inter).is_empty() and key_members(centrality(inter)).is_empty()
    assert centrality(inter, members=[]).is_empty()
    assert absence_factor(EMPTY) == {"absence_factor": 0, "members": [], "messages": 0}
    assert group_lifecycle(EMPTY, SHANGHAI, as_of_ms=AS_OF) == {} and weekly(EMPTY, SHANGHAI, as_of_ms=AS_OF).is_empty()
    assert retention(EMPTY, SHANGHAI, as_of_ms=AS_OF) is None
    assert cohort_retention(EMPTY, SHANGHAI, as_of_ms=AS_OF) == []
    hm = heatmap(EMPTY, SHANGHAI, since_ms=0, until_ms=AS_OF)
    assert hm["total"] == 0 and hm["peak"] is None and hm["counts"] == [[0] * 24] * 7
    texts = pl.DataFrame(schema={"id": pl.Int64, "at_ms": pl.Int64, "text": pl.String})
    weeks = keywords_by_period(texts, texts.select("id", "text"), as_of_ms=AS_OF, tz=SHANGHAI, periods=2)
    assert [(w["start"], w["end"], w["messages"], w["keywords"]) for w in weeks] == [
        ("2024-06-24", "2024-07-01", 0, []), ("2024-06-17", "2024-06-24", 0, [])]
    assert build_member_table(EMPTY, tz=SHANGHAI, as_of_ms=AS_OF).rows == []


def test_a_group_without_events_is_dead_with_zero_health():
    life = _empty_life(SHANGHAI, AS_OF)
    assert (life["stage"], life["reason"], life["age_weeks"], len(life["weekly"])) == ("dead", "no events", 0, 8)
    assert life["weekly"][0]["week_start"] == "2024-06-24"  # the 7 local days ending on 30 June
    h = health(EMPTY, SHANGHAI, as_of_ms=AS_OF, lifecycle=life, response_rate=None, absence_factor=0)
    assert h == {"growth": {"joins_4w": 0, "leaves_4w": 0, "net_4w": 0, "speaker_trend": None}, "retention": None,
                 "activity": {"messages_per_day": 0.0, "speakers_per_week": 0.0}, "response_rate": None, "absence_factor": 0}


def _solo():
    """One member, Shanghai time, 1-10 March 2024 at 10:00 daily: questions on 2 and 5 March, a self-reply on 5 March."""
    rows = []
    for d in range(1, 11):
        text = {2: "这个怎么安装？", 5: "how do I reset it?"}.get(d, "早上好")
        rows.append({"id": d, "member": 1, "at": f"2024-03-{d:02d} 10:00", "text": text})
    rows.append({"id": 11, "member": 1, "at": "2024-03-05 10:05", "text": "找到了", "reply_to": 5})
    return frame(rows, tz=SHANGHAI)


def test_one_member_talking_alone():
    f = _solo()
    as_of = ms("2024-03-10 10:00", SHANGHAI) + 1
    inter = interactions(f)
    assert inter.is_empty()  # a reply to yourself is not an interaction
    # actives: on 10 March DAU = WAU = MAU = 1; stickiness 1; speakers 1 of 1 present
    doc = actives_summary(f, SHANGHAI, since_ms=ms("2024-03-01 00:00", SHANGHAI), until_ms=as_of)
    assert (doc["dau"], doc["wau"], doc["mau"], doc["stickiness"], doc["average_dau"]) == (1, 1, 1, 1.0, 1.0)
    assert doc["speakers_share"] == {"speakers": 1, "present": 1, "share": 1.0}
    # score: 11 plain messages this month, no replies, no answers
    assert activity_scores(f, as_of_ms=as_of, interactions=inter).rows() == [(1, 11, 0, 0, 0, 11.0)]
    # 10 active days in the last 30 -> active (7 in 30), not core (30 in 90); 7 of them in the last 7 days
    assert member_tiers(f, as_of_ms=as_of, tz=SHANGHAI).rows() == [(1, "active", 7, 10, 10)]
    assert activity_bands(f)["band"].to_list() == ["top80"]  # the only member sends 100%
    st = member_status(f, as_of_ms=as_of).row(0, named=True)
    assert (st["status"], st["newcomer"], st["silent_days"], st["left"]) == ("active", True, 0, False)
    assert membership_periods(f, as_of_ms=as_of, tz=SHANGHAI).rows() == [("2024-03", 1, 0, 0, False)]
    assert recall_list(f, as_of_ms=as_of, tz=SHANGHAI).is_empty()  # spoke today
    # ten days of history: no labelled window at all, so no model and no made-up risk
    risk, info = churn_risk(f, as_of_ms=as_of, tz=SHANGHAI, interactions=inter)
    assert risk["member_id"].to_list() == [1] and risk["risk"].to_list() == [None] and info["examples"] == 0
    # response time: both questions unanswered (the self-reply does not count); both are older than 24 h
    r = response_summary(first_responses(f, inter), as_of_ms=as_of)
    assert (r["questions"], r["answered"], r["median_s"], r["p90_s"]) == (2, 0, None, None)
    assert (r["eligible_24h"], r["answered_24h_share"], r["unanswered_count"]) == (2, 0.0, 2)
    assert [(u["id"], u["text"]) for u in r["unanswered"]] == [(2, "这个怎么安装？"), (5, "how do I reset it?")]
    # graph: no edge; asked to include the speaker, PageRank is 1 (all of it) and betweenness 0; no KOL
    c = centrality(inter, members=[1])
    assert c.rows() == [(1, 1.0, 0.0, 0, 0, 0)] and key_members(c).is_empty()
    assert absence_factor(f) == {"absence_factor": 1, "members": [1], "messages": 11}
    # lifecycle: one person alone is no conversation -> dead; 2 weeks old (1 Mar .. 10 Mar)
    life = group_lifecycle(f, SHANGHAI, as_of_ms=as_of)[1]
    assert (life["stage"], life["reason"], life["age_weeks"]) == ("dead", "1 speaker(s) in the last 2 weeks", 2)
    assert [w["messages"] for w in life["weekly"][:3]] == [8, 3, 0]  # 4-10 Mar (self-reply incl.), 1-3 Mar
    h = health(f, SHANGHAI, as_of_ms=as_of, lifecycle=life, response_rate=r["answered_24h_share"], absence_factor=1)
    # 11 messages over min(28, 2 weeks x 7) = 14 days; weekly speakers of the last 4 weeks 1, 1, 0, 0 -> median 0.5
    assert h["activity"] == {"messages_per_day": round(11 / 14, 2), "speakers_per_week": 0.5}
    assert (h["retention"], h["response_rate"], h["absence_factor"]) == (None, 0.0, 1)
    assert cohort_retention(f, SHANGHAI, as_of_ms=as_of) == [{"cohort": "2024-03", "size": 1, "retention": [1.0], "complete": False}]
    hm = heatmap(f, SHANGHAI, since_ms=0, until_ms=as_of)
    # Fri 1 Mar .. Sun 10 Mar at 10:00: Fri, Sat, Sun twice, Tue twice (with the self-reply): ties -> Tuesday
    assert hm["total"] == 11 and hm["peak"] == {"weekday": "Tue", "hour": 10, "messages": 2}
    row = build_member_table(f, tz=SHANGHAI, as_of_ms=as_of).rows[0]
    assert (row["score"], row["tier"], row["band"], row["status"], row["risk"], row["reasons"]) == (
        11.0, "active", "top80", "active", None, [])


def test_one_member_who_went_quiet_is_recalled_and_churns():
    # every 2 days from 1 May (10 active days, last 19 May), then silent; as_of 20 June 12:00 Shanghai
    f = frame([{"member": 1, "at": f"2024-05-{d:02d} 09:00"} for d in range(1, 20, 2)], tz=SHANGHAI)
    as_of = ms("2024-06-20 12:00", SHANGHAI)
    r = recall_list(f, as_of_ms=as_of, tz=SHANGHAI).row(0, named=True)
    # 32 silent days >= max(3 x 2, 2 + 7) and <= 90
    assert (r["usual_gap_days"], r["silent_days"], r["overdue"]) == (2.0, 32, 16.0)
    st = member_status(f, as_of_ms=as_of).row(0, named=True)
    assert (st["status"], st["silent_days"]) == ("churned", 32)  # 19 May 09:00 -> 20 Jun 12:00: 32 days 3 hours
    assert membership_periods(f, as_of_ms=as_of, tz=SHANGHAI).rows() == [("2024-05", 1, 1, 0, False)]


# --- every surface on a community with no events, and on a group with none (SQLite and PostgreSQL) ---


def _assert_all_zero(doc: dict) -> None:
    a = doc["actives"]
    assert (doc["events"], doc["messages"], a["dau"], a["wau"], a["mau"], a["stickiness"], a["average_dau"]) == (0, 0, 0, 0, 0, None, 0.0)
    assert (a["joins"], a["leaves"], a["net_growth"]) == (0, 0, 0)
    assert a["speakers_share"] == {"speakers": 0, "present": 0, "share": None}
    assert a["daily"] and all((r["dau"], r["wau"], r["mau"], r["stickiness"]) == (0, 0, 0, None) for r in a["daily"])
    assert doc["cohorts"] == [] and doc["heatmap"]["total"] == 0 and doc["heatmap"]["peak"] is None
    assert doc["keywords"] and all(k["messages"] == 0 and k["keywords"] == [] for k in doc["keywords"])
    m = doc["members"]
    assert m["activity_score"] == {"members_scored": 0, "median": None, "top": []}
    assert m["pyramid"] == {"core": 0, "active": 0, "casual": 0, "lurker": 0}
    assert m["activity_bands"] == {"top80": 0, "top95": 0, "rest": 0}
    assert m["status"] == {"active": 0, "lurker": 0, "churned": 0}
    assert (m["newcomers"], m["inactive"], m["left"], m["churned_in_period"], m["recall"], m["recall_count"]) == (0, 0, 0, 0, [], 0)
    assert m["response_time"] == {"questions": 0, "answered": 0, "median_s": None, "p90_s": None, "answered_24h_share": None,
                                  "eligible_24h": 0, "unanswered_count": 0, "unanswered": []}
    assert m["key_members"] == [] and m["absence_factor"] == {"absence_factor": 0, "messages": 0, "members": []}
    assert (m["churn_risk"]["model"], m["churn_risk"]["at_risk"], m["churn_risk"]["top"]) == (None, 0, [])


def _recent(iso: str) -> bool:
    """An ``as_of`` / ``until`` of an empty selection is now (not 1970)."""
    return abs(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() - time.time()) < 600


def test_every_surface_on_a_community_without_events(cli, history, tmp_path):
    history(community="空", tz="Europe/Berlin").save()
    doc = cli.json("insights", "--json")
    _assert_all_zero(doc)
    assert doc["groups"] == [] and doc["stages"] == {"growing": 0, "stable": 0, "declining": 0, "dead": 0}
    assert doc["period"]["days"] == 28.0 and _recent(doc["period"]["until"])
    assert "0 messages in the period" in cli("insights").stdout
    members = cli.json("members", "-c", "空", "--json")
    assert (members["members"], members["total"], members["timezone"]) == ([], 0, "Europe/Berlin")
    assert _recent(members["as_of"]) and "a fit needs 50" in members["churn_model"]["note"]
    assert "0 members" in cli("members", "-c", "空").stdout
    for args in ([], ["--weekly"]):
        out = tmp_path / "r.html"
        cli("report", "--out", out, "--lang", "en", *args)
        page = out.read_text(encoding="utf-8")
        assert "No data for this period." in page and "<svg" not in page
        kpis = dict(re.findall(r'data-key="(\w+)"><div class="label">[^<]*</div><div class="value">([^<]*)<', page))
        assert (kpis["messages"], kpis["mau"], kpis["joins"], kpis["stickiness"], kpis["speakers_share"]) == ("0", "0", "0", "—", "—")
    assert cli("replies", "--json").stdout == ""


def test_every_surface_on_a_group_without_events(cli, engine, history, tmp_path):
    h = history(community="课程", tz=SHANGHAI)
    h.msg("main", "ana", "2024-03-01 10:00", text="大家好").msg("main", "bo", "2024-03-01 10:05", text="你好")
    cid = h.save()
    with engine.begin() as conn:
        GroupDirectory(conn, cid).resolve(GroupRef("test", "empty", "empty"))
    doc = cli.json("insights", "--json", "--group", "empty")
    _assert_all_zero(doc)
    (g,) = doc["groups"]
    assert g["name"] == "empty" and g["lifecycle"]["stage"] == "dead" and g["lifecycle"]["reason"] == "no events"
    assert g["health"]["absence_factor"] == 0 and g["health"]["response_rate"] is None
    assert g["actives"]["speakers_share"]["share"] is None and doc["stages"]["dead"] == 1
    # in the whole community the empty group sits beside the talking one, also dead, with zeros
    whole = {x["name"]: x for x in cli.json("insights", "--json")["groups"]}
    assert whole["empty"]["actives"]["mau"] == 0 and whole["main"]["actives"]["mau"] == 2
    members = cli.json("members", "-c", "课程", "--json", "--group", "empty")
    assert members["members"] == [] and members["total"] == 0 and _recent(members["as_of"])
    out = tmp_path / "g.html"
    cli("report", "--group", "empty", "--out", out, "--lang", "en")
    assert "No data for this period." in out.read_text(encoding="utf-8")
    assert cli("replies", "--json", "--group", "empty").stdout == ""


@pytest.mark.parametrize("surface", ["insights", "members"])
def test_one_member_community_end_to_end(cli, history, surface):
    h = history(community="solo", tz=SHANGHAI)
    for d in range(1, 11):
        h.msg("solo", "ana", f"2024-03-{d:02d} 10:00", text={2: "这个怎么安装？", 5: "how do I reset it?"}.get(d, "早上好"))
    h.msg("solo", "ana", "2024-03-05 10:05", text="找到了", reply_to="e4")  # e4 = the 5 March question: a self-reply
    h.save()
    if surface == "members":
        (row,) = cli.json("members", "-c", "solo", "--json")["members"]
        assert (row["name"], row["score"], row["messages"], row["replies"], row["answers"]) == ("ana", 11.0, 11, 0, 0)
        assert (row["tier"], row["band"], row["status"], row["risk"], row["recall_rank"], row["reasons"]) == (
            "active", "top80", "active", None, None, [])
        return
    doc = cli.json("insights", "--json")
    a, m, (g,) = doc["actives"], doc["members"], doc["groups"]
    assert (doc["messages"], a["dau"], a["wau"], a["mau"], a["stickiness"]) == (11, 1, 1, 1, 1.0)
    # the default period is the 28 days before the last event: 11 Feb .. 10 Mar, 29 local days, 10 of them active
    assert len(a["daily"]) == 29 and a["average_dau"] == round(10 / 29, 2)
    assert (m["pyramid"]["active"], m["activity_bands"]["top80"], m["newcomers"], m["key_members"]) == (1, 1, 1, [])
    rt = m["response_time"]
    assert (rt["questions"], rt["answered"], rt["answered_24h_share"], rt["unanswered_count"]) == (2, 0, 0.0, 2)
    assert m["absence_factor"]["absence_factor"] == 1 and m["absence_factor"]["members"][0]["name"] == "ana"
    assert (g["lifecycle"]["stage"], g["health"]["response_rate"], g["health"]["absence_factor"]) == ("dead", 0.0, 1)
    assert doc["stages"]["dead"] == 1 and doc["cohorts"] == [{"cohort": "2024-03", "size": 1, "retention": [1.0], "complete": False}]
