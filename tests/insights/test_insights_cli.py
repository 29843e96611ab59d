"""``shequn insights`` end to end on a small history (SQLite and PostgreSQL), and the frame cache."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from shequn.domain.events import GroupRef
from shequn.insights import frame_cache
from shequn.insights.frame import load_frame
from shequn.store.directory import GroupDirectory

START = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)


def _community(history, engine):
    h = history(community="读书会", tz="Asia/Shanghai")
    for d in range(35):
        t = START + timedelta(days=d)
        h.msg("main", "alice", t, text="今天读完了《三体》，大家觉得结局怎么样？")
        h.msg("main", "bob", t + timedelta(minutes=5), text="alice: 我觉得三体的结局很震撼", to="alice")
        if d % 7 == 0:
            h.msg("main", "carol", t + timedelta(hours=2), text="<script>alert(1)</script> hello\u200b world")
    h.join("main", "dave", START + timedelta(days=30))
    h.msg("side", "erin", START + timedelta(days=1), text="anyone here?")
    cid = h.save()
    with engine.begin() as conn:
        GroupDirectory(conn, cid).resolve(GroupRef("test", "empty", "empty"))  # a group with no events at all
    return cid


def test_insights_json(cli, engine, history):
    _community(history, engine)
    doc = cli.json("insights", "--json")
    assert doc["community"] == "读书会" and doc["timezone"] == "Asia/Shanghai" and doc["schema"] == 1
    assert doc["period"]["days"] == 28.0  # default: the 28 days before the last event
    a = doc["actives"]
    # last day 4 Feb: alice and bob daily, carol weekly (29 Jan)
    assert (a["dau"], a["wau"], a["mau"]) == (2, 3, 3) and a["stickiness"] == 0.6667
    assert a["joins"] == 1 and a["leaves"] == 0 and a["net_growth"] == 1
    groups = {g["name"]: g for g in doc["groups"]}
    assert groups["empty"]["lifecycle"]["stage"] == "dead" and groups["empty"]["lifecycle"]["reason"] == "no events"
    assert groups["side"]["lifecycle"]["stage"] == "dead"
    assert groups["main"]["lifecycle"]["stage"] == "stable"
    assert groups["main"]["health"]["retention"] == 1.0
    assert doc["stages"] == {"growing": 0, "stable": 1, "declining": 0, "dead": 2}
    assert [c["cohort"] for c in doc["cohorts"]] == ["2024-01"] and doc["cohorts"][0]["size"] == 4
    assert doc["heatmap"]["peak"]["hour"] == 17  # 09:00 UTC is 17:00 in Shanghai
    words = {k["term"] for p in doc["keywords"] for k in p["keywords"]}
    assert "script" not in words and "alert" not in words  # HTML is not a topic
    m = doc["members"]
    assert m["pyramid"]["lurker"] >= 1 and "key_members" in m and "recall" in m and "response_time" in m
    assert m["absence_factor"]["absence_factor"] == 2  # alice and bob send equal shares; carol a few
    assert set(doc["timings_s"]) >= {"load", "actives", "keywords", "groups"}


def test_insights_group_since_until_and_rich(cli, engine, history):
    _community(history, engine)
    doc = cli.json("insights", "--json", "--group", "side", "--since", "2024-01-01", "--until", "2024-01-08")
    assert [g["name"] for g in doc["groups"]] == ["side"]
    assert doc["period"]["since"] == "2023-12-31T16:00:00Z"  # local midnight in Shanghai
    assert doc["messages"] == 1 and doc["actives"]["speakers_share"]["speakers"] == 1
    hostile = history(community="读书会", tz="Asia/Shanghai")
    hostile.msg("[red]<b>群</b>[/red]", "[bold]mallory[/bold]", START, text="x" * 100_000)
    hostile.events[0].platform_id = "hostile"
    hostile.save()
    out = cli("insights").stdout
    assert "读书会" in out and "Actives" in out and "stable" in out
    assert "[red]<b>群</b>[/red]" in out  # names are shown as written, never read as Rich markup


def test_insights_errors(cli, engine, history):
    r = cli("insights", ok=False)
    assert r.exit_code == 1 and "import some history" in r.output
    _community(history, engine)
    for args, words in [
        (("--group", "nope"), "no group 'nope'"),
        (("--since", "yesterday"), "not a date"),
        (("--since", "2024-02-01", "--until", "2024-01-01"), "before --until"),
        (("--community", "other"), "no community named 'other'"),
    ]:
        r = cli("insights", *args, ok=False)
        assert r.exit_code == 1 and words in r.output, r.output


def test_frame_cache_appends_and_notices_a_replaced_database(engine, history, tmp_path, monkeypatch):
    monkeypatch.setenv("SHEQUN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(frame_cache, "MIN_ROWS", 1)
    h = history()
    h.msg("g", "a", START).msg("g", "b", START + timedelta(hours=1))
    cid = h.save()
    with engine.connect() as conn:
        first = load_frame(conn, cid)
    assert first.height == 2 and list((tmp_path / "cache" / "frames").glob("*/seg-*.parquet"))
    h2 = history()
    h2.msg("g", "c", START + timedelta(days=1))
    h2.events[0].platform_id = "later"
    h2.save()
    with engine.connect() as conn:
        second = load_frame(conn, cid)
        assert second.height == 3 and second.equals(load_frame(conn, cid, cache=False))
        assert load_frame(conn, cid, until_ms=int((START + timedelta(hours=2)).timestamp() * 1000)).height == 2
    if engine.dialect.name == "postgresql":  # a late commit below the cached ids (ids come at insert, not commit)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO events (id, community_id, group_id, kind, at_ms, platform_id) "
                              "SELECT 0, community_id, group_id, 'system', at_ms, 'late-commit' FROM events WHERE id = 1"))
        with engine.connect() as conn:
            assert "late-commit" in load_frame(conn, cid)["platform_id"].to_list()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE id = 0"))
    with engine.begin() as conn:  # history rewritten behind the cache's back: the sentinels no longer hold
        conn.execute(text("DELETE FROM events WHERE platform_id = 'later'"))
    with engine.connect() as conn:
        assert load_frame(conn, cid).height == 2


@pytest.mark.parametrize("n", [0])
def test_cache_skips_small_communities(engine, history, tmp_path, monkeypatch, n):
    monkeypatch.setenv("SHEQUN_CACHE", str(tmp_path / "cache"))
    cid = history().msg("g", "a", START).save()
    with engine.connect() as conn:
        assert load_frame(conn, cid).height == 1
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.parquet"))
