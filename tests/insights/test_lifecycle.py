"""Group lifecycle stages and the health vector on hand-made weekly histories."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from shequn.insights.frame import load_frame
from shequn.insights.lifecycle import Thresholds, group_lifecycle, health, stage, weekly
from shequn.store.tables import groups

AS_OF = datetime(2024, 3, 1, tzinfo=timezone.utc)  # week 0 = 23 Feb .. 29 Feb
AS_OF_MS = int(AS_OF.timestamp() * 1000)


def when(week: int, day: int = 3, hour: int = 12) -> datetime:
    """A moment in week ``week`` (0 = the latest 7 days before AS_OF)."""
    return AS_OF - timedelta(days=7 * week + 7 - day) + timedelta(hours=hour - 12)


def speakers(h, group: str, week: int, n: int, *, prefix: str = "m", day: int = 3) -> None:
    for i in range(n):
        h.msg(group, f"{prefix}{i}", when(week, day))


def _weeks(counts):
    return [{"speakers": c} for c in counts]


def test_stage_rules_by_hand():
    assert stage(_weeks([8, 8, 8, 8, 3, 3, 3, 3]), age_weeks=8, recent_speakers=8)[0] == "growing"
    assert stage(_weeks([3, 3, 3, 3, 8, 8, 8, 8]), age_weeks=8, recent_speakers=3)[0] == "declining"
    assert stage(_weeks([5, 5, 5, 5, 5, 5, 5, 5]), age_weeks=8, recent_speakers=5)[0] == "stable"
    # one burst week cannot flip a stable group: the median of 4 weeks ignores it
    assert stage(_weeks([5, 40, 5, 5, 5, 5, 5, 5]), age_weeks=8, recent_speakers=40)[0] == "stable"
    # small groups: 3 -> 2 speakers is a 33% drop but only one person: no flapping
    assert stage(_weeks([2, 2, 2, 2, 3, 3, 3, 3]), age_weeks=8, recent_speakers=2)[0] == "stable"
    name, reason, _ = stage(_weeks([0, 0, 4, 4, 4, 4, 4, 4]), age_weeks=8, recent_speakers=1)
    assert name == "dead" and "1 speaker" in reason
    assert stage(_weeks([6, 0, 0, 0, 0, 0, 0, 0]), age_weeks=1, recent_speakers=6)[0] == "stable"  # too young
    # a 3-week-old group compares its last week with the two before
    s, _, fig = stage(_weeks([9, 3, 3, 0, 0, 0, 0, 0]), age_weeks=3, recent_speakers=9)
    assert s == "growing" and fig["recent_speakers_median"] == 9 and fig["earlier_speakers_median"] == 3
    assert stage(_weeks([5] * 8), age_weeks=8, recent_speakers=5, t=Thresholds(dead_speakers=6))[0] == "dead"


def test_group_lifecycle_on_stored_history(engine, history):
    h = history()
    for w in range(8):
        speakers(h, "growing", w, 8 if w < 4 else 3)
        speakers(h, "declining", w, 3 if w < 4 else 8)
        speakers(h, "steady", w, 5)
        speakers(h, "dying", w, 4 if w >= 2 else 0)
    for i in range(40):  # one heated evening in week 1 of the steady group
        h.msg("steady", f"crowd{i}", when(1, 5, 20))
    for w in range(8):
        h.msg("solo", "alone", when(w))  # a one-member group: no conversation
    h.join("growing", "newbie", when(0)).leave("growing", "m7", when(0, 5))
    cid = h.save()
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
        ids = dict(conn.execute(select(groups.c.name, groups.c.id)).all())
    stages = group_lifecycle(frame, "UTC", as_of_ms=AS_OF_MS)
    by_name = {name: stages[gid] for name, gid in ids.items()}
    assert {n: s["stage"] for n, s in by_name.items()} == {
        "growing": "growing", "declining": "declining", "steady": "stable", "dying": "dead", "solo": "dead"}
    g = by_name["growing"]
    assert g["weekly"][0]["week_start"] == "2024-02-23" and g["weekly"][0]["speakers"] == 8
    assert g["weekly"][0]["joins"] == 1 and g["weekly"][0]["leaves"] == 1
    assert g["trend"] == round(8 / 3, 3) and g["age_weeks"] == 8
    hv = health(frame.filter(frame["group_id"] == ids["growing"]), "UTC", as_of_ms=AS_OF_MS, lifecycle=g,
                response_rate=0.5, absence_factor=3)
    # weeks 4-7 speakers m0..m2 all spoke again in weeks 0-3
    assert hv["retention"] == 1.0
    assert hv["growth"] == {"joins_4w": 1, "leaves_4w": 1, "net_4w": 0, "speaker_trend": round(8 / 3, 3)}
    assert hv["activity"] == {"messages_per_day": round(32 / 28, 2), "speakers_per_week": 8.0}
    assert (hv["response_rate"], hv["absence_factor"]) == (0.5, 3)
    wk = weekly(frame, "UTC", as_of_ms=AS_OF_MS)
    assert wk.filter(wk["group_id"] == ids["dying"])["messages"].to_list() == [0, 0, 4, 4, 4, 4, 4, 4]


def test_week_boundaries_use_the_community_time_zone(engine, history):
    h = history(tz="Asia/Shanghai")
    # 29 Feb 23:30 in Shanghai is 15:30 UTC: inside week 0 when as_of is 1 March 00:00 Shanghai
    h.msg("g", "a", "2024-02-29 23:30").msg("g", "b", "2024-02-23 00:10").msg("g", "c", "2024-02-22 23:50")
    cid = h.save()
    as_of = int(datetime(2024, 3, 1, tzinfo=timezone(timedelta(hours=8))).timestamp() * 1000)
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
    wk = weekly(frame, "Asia/Shanghai", as_of_ms=as_of)
    assert wk["messages"].to_list()[:2] == [2, 1]  # c's 22 Feb 23:50 belongs to week 1
