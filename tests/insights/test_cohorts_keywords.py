"""Cohort retention and weekly keywords on hand-made histories (hostile text included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from shequn.insights.cohorts import cohort_retention
from shequn.insights.frame import load_frame, load_texts
from shequn.insights.keywords import keywords_by_period, tokens, top_keywords
from shequn.insights.presence import active_days, with_local_day
from tests.insights.conftest import at


def ms(text: str, tz: str = "UTC") -> int:
    return int(at(text, tz).timestamp() * 1000)


def test_cohort_retention_by_hand(engine, history):
    h = history()
    h.msg("g", "a", "2024-01-15 10:00").msg("g", "a", "2024-02-03 10:00").msg("g", "a", "2024-03-01 10:00")
    h.msg("g", "b", "2024-01-20 10:00").msg("g", "b", "2024-03-05 10:00")
    h.msg("g", "c", "2024-02-10 10:00").msg("g", "c", "2024-03-02 10:00")
    h.join("g", "lurker", "2024-01-02 10:00")  # never speaks: in no cohort
    h.msg("g", "bot", "2024-01-03 10:00", bot=True)
    cid = h.save()
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
    rows = cohort_retention(frame, "UTC", as_of_ms=ms("2024-03-10 00:00"))
    assert rows == [
        {"cohort": "2024-01", "size": 2, "retention": [1.0, 0.5, 1.0], "complete": False},
        {"cohort": "2024-02", "size": 1, "retention": [1.0, 1.0], "complete": False},
    ]
    # from April on, March is complete; a since filter hides older cohorts but keeps their first months
    later = cohort_retention(frame, "UTC", as_of_ms=ms("2024-04-02 00:00"), since_ms=ms("2024-02-01 00:00"))
    assert later == [{"cohort": "2024-02", "size": 1, "retention": [1.0, 1.0, 0.0], "complete": False}]
    assert cohort_retention(frame.clear(), "UTC", as_of_ms=ms("2024-03-10 00:00")) == []


def test_cohort_month_is_local(engine, history):
    h = history(tz="Asia/Shanghai")
    h.msg("g", "d", at("2024-01-31 16:30", "UTC"))  # 1 February 00:30 in Shanghai
    cid = h.save()
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
    assert cohort_retention(frame, "Asia/Shanghai", as_of_ms=ms("2024-02-10 00:00"))[0]["cohort"] == "2024-02"
    assert cohort_retention(frame, "UTC", as_of_ms=ms("2024-02-10 00:00"))[0]["cohort"] == "2024-01"
    # the same from the precomputed local-day column and from member-days (what insights passes)
    for tz, want in (("Asia/Shanghai", "2024-02"), ("UTC", "2024-01")):
        as_of = ms("2024-02-10 00:00")
        assert cohort_retention(with_local_day(frame, tz), tz, as_of_ms=as_of)[0]["cohort"] == want
        days = active_days(frame, tz, until_ms=as_of)
        assert cohort_retention(frame, tz, as_of_ms=as_of, days=days)[0]["cohort"] == want


def test_cohorts_from_member_days_equal_cohorts_from_messages(engine, history):
    h = history(tz="America/New_York")
    for who, when in [("a", "2024-01-31 23:30"), ("a", "2024-03-10 02:30"), ("b", "2024-02-29 23:59"),
                      ("b", "2024-04-01 00:10"), ("c", "2024-03-31 22:00"), ("a", "2024-04-15 12:00")]:
        h.msg("g", who, at(when, "America/New_York"))
    cid = h.save()
    with engine.connect() as conn:
        frame = load_frame(conn, cid)
    as_of = ms("2024-04-20 00:00")
    plain = cohort_retention(frame, "America/New_York", as_of_ms=as_of)
    assert len(plain) == 3
    assert cohort_retention(with_local_day(frame, "America/New_York"), "America/New_York", as_of_ms=as_of) == plain
    days = active_days(frame, "America/New_York", until_ms=as_of)
    assert cohort_retention(frame, "America/New_York", as_of_ms=as_of, days=days) == plain


def _texts(rows):
    return pl.DataFrame(rows, schema={"id": pl.Int64, "at_ms": pl.Int64, "text": pl.String}, orient="row")


def test_tokens_clean_hostile_text():
    t = tokens(_texts([
        (1, 0, "alice: <b>GRUB</b> broke after the update http://example.com/grub-fix"),
        (2, 0, "gr\u200bub again!! 显卡驱动装不上，怎么办"),
        (3, 0, "spam " * 200_000),
    ]), exclude={"update"})
    got = {(i, term) for i, term in t.iter_rows()}
    assert (1, "grub") in got and (1, "broke") in got and (2, "grub") in got
    assert (1, "alice") not in got  # the leading addressee is a name, not a topic
    assert (1, "update") not in got and not any(term.startswith("http") or "example" in term for _, term in got)
    assert (2, "显卡") in got and (2, "驱动") in got
    assert (1, "the") not in got and (1, "after") not in got  # stop words
    assert [term for i, term in got if i == 3] == ["spam"]  # a wall of text is one message mentioning one word


def test_week_topics_rise_and_everyday_words_sink():
    day = 86_400_000
    as_of = ms("2024-03-01 00:00")
    background, week, old = [], [], []
    for i in range(200):
        background.append((i, as_of - 60 * day, f"ubuntu question {i % 7} about sound"))
    for i in range(20):
        week.append((1000 + i, as_of - 2 * day, "ubuntu grub rescue prompt" if i < 6 else "ubuntu hello there"))
    for i in range(10):
        old.append((2000 + i, as_of - 9 * day, "ubuntu wifi driver 网卡驱动"))
    texts = _texts(week + old)
    bg = _texts(background + week + old)
    best = top_keywords(_texts(week), bg, top=3)
    assert [k["term"] for k in best] == ["grub", "prompt", "rescue"] and best[0]["messages"] == 6  # equal scores: by term
    assert "ubuntu" not in [k["term"] for k in best]  # in every message everywhere: no information
    periods = keywords_by_period(texts, bg, as_of_ms=as_of, tz="UTC", periods=2)
    assert [p["start"] for p in periods] == ["2024-02-23", "2024-02-16"] and [p["messages"] for p in periods] == [20, 10]
    assert periods[0]["keywords"][0]["term"] == "grub"
    assert {"wifi", "driver", "网卡", "驱动"} <= {k["term"] for k in periods[1]["keywords"]}
    assert top_keywords(_texts([]), bg) == []


def test_load_texts_windows_and_samples(engine, history):
    h = history()
    for i in range(6):
        h.msg("g", "a", f"2024-01-0{i + 1} 10:00", text=f"word{i}")
    h.msg("g", "bot", "2024-01-02 11:00", text="beep", bot=True)
    h.join("g", "b", "2024-01-03 10:00")
    cid = h.save()
    with engine.connect() as conn:
        all_ = load_texts(conn, cid)
        window = load_texts(conn, cid, since_ms=ms("2024-01-03 00:00"), until_ms=ms("2024-01-05 00:00"))
        ids = sorted(all_["id"].to_list())
        sample = load_texts(conn, cid, id_ranges=[(ids[0], ids[0]), (ids[-1], ids[-1] + 5)])
    assert sorted(all_["text"].to_list()) == [f"word{i}" for i in range(6)]  # no bot, no join
    assert sorted(window["text"].to_list()) == ["word2", "word3"]
    assert sorted(sample["text"].to_list()) == ["word0", "word5"]
    assert datetime.fromtimestamp(window["at_ms"].min() / 1000, tz=timezone.utc) - at("2024-01-03 10:00") == timedelta(0)
