"""What a report shows, fetched from the insights functions; nothing here computes a metric.

Why its own module: the report is a *view* of ``shequn.insights.summary.build_insights`` (the same
document ``shequn insights --json`` prints), so the numbers in the HTML always agree with the CLI.
Two things a chart needs that the summary document does not list are asked of the same insight
modules the summary uses, with the same inputs:

- per-question first-response times, for the response-time distribution
  (``response.first_responses`` over the period, as the summary's ``response_time`` section);
- who spoke in each of the two weeks of a weekly report (``presence.active_days``), for new and
  lost speakers.

A weekly report is two summaries, one per ISO week (see :mod:`shequn.insights.report.weeks`): the
differences between them are what changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, select

from shequn.insights.frame import community_tz
from shequn.insights.report.weeks import Week, default_until_ms, report_week
from shequn.insights.summary import build_insights
from shequn.store.tables import events, members


@dataclass
class Overview:
    doc: dict  # build_insights(...) for the period
    response_s: list[float | None]  # one entry per question of the period; None = not answered (yet)
    names: dict[int, str]  # member id -> display name, for rows the summary lists by id only


@dataclass
class Weekly:
    this: Week
    last: Week
    doc: dict  # build_insights for this week
    previous: dict  # build_insights for last week
    response_s: list[float | None]
    new_speakers: list[str]  # spoke this week, not last week (names, most active first)
    lost_speakers: list[str]  # spoke last week, not this week
    names: dict[int, str]


def _names(conn: Connection, ids) -> dict[int, str]:
    ids = sorted({int(i) for i in ids if i is not None})
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.update(conn.execute(select(members.c.id, members.c.display_name).where(members.c.id.in_(chunk))).all())
    return out


def response_times(responses: pl.DataFrame, until_ms: int) -> list[float | None]:
    """First-response seconds per question asked before ``until`` (None when not answered before ``until``),
    from the ``responses`` that ``build_insights`` counted (its ``extras``), so the chart and the
    ``response_time`` section describe the same questions."""
    if responses.is_empty():
        return []
    answered = pl.col("answered_ms").is_not_null() & (pl.col("answered_ms") < until_ms)
    rows = responses.filter(pl.col("asked_ms") < until_ms)
    return rows.select(pl.when(answered).then(pl.col("response_s")).otherwise(None)).to_series().to_list()


def last_event_ms(conn: Connection, community_id: int, group_ids) -> int | None:
    q = select(events.c.at_ms).where(events.c.community_id == community_id)
    if group_ids is not None:
        q = q.where(events.c.group_id.in_(list(group_ids)))
    return conn.execute(q.order_by(events.c.at_ms.desc()).limit(1)).scalar()


def overview(conn: Connection, community_id: int, *, group_ids=None, since_ms=None, until_ms=None) -> Overview:
    extras: dict = {}
    doc = build_insights(conn, community_id, group_ids=group_ids, since_ms=since_ms, until_ms=until_ms, extras=extras)
    times = response_times(extras.get("responses", pl.DataFrame()), doc["period"]["until_ms"])
    unanswered = (doc.get("members") or {}).get("response_time", {}).get("unanswered", [])
    return Overview(doc, times, _names(conn, (q.get("member_id") for q in unanswered)))


def speakers(frame: pl.DataFrame | None, *, week: Week, tz: str) -> dict[int, int]:
    """member id -> active days in the week (presence.active_days: human messages on local days), from
    the frame ``build_insights`` loaded for that week (its ``extras``)."""
    from shequn.insights.presence import active_days

    if frame is None or frame.is_empty():
        return {}
    ad = active_days(frame.filter((pl.col("at_ms") >= week.start_ms) & (pl.col("at_ms") < week.end_ms)), tz)
    return dict(ad.group_by("member_id").agg(pl.len()).iter_rows())


def weekly(conn: Connection, community_id: int, *, group_ids=None, until_ms=None, now_ms: int | None = None) -> Weekly:
    tz = community_tz(conn, community_id)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    if until_ms is None:
        until_ms = default_until_ms(last_event_ms(conn, community_id, group_ids), now_ms, tz)
    this = report_week(until_ms, tz)
    last = this.previous()
    # one frame per document, reused for the chart and the speakers, and let go before the next is loaded
    extras: dict = {}
    doc = build_insights(conn, community_id, group_ids=group_ids, since_ms=this.start_ms, until_ms=this.end_ms, extras=extras)
    times = response_times(extras.get("responses", pl.DataFrame()), this.end_ms)
    now_days = speakers(extras.get("frame"), week=this, tz=tz)
    extras.clear()
    previous = build_insights(conn, community_id, group_ids=group_ids, since_ms=last.start_ms, until_ms=last.end_ms, extras=extras)
    before_days = speakers(extras.get("frame"), week=last, tz=tz)
    extras.clear()
    new_ids = sorted(set(now_days) - set(before_days), key=lambda m: (-now_days[m], m))
    lost_ids = sorted(set(before_days) - set(now_days), key=lambda m: (-before_days[m], m))
    unanswered = (doc.get("members") or {}).get("response_time", {}).get("unanswered", [])
    names = _names(conn, [*new_ids, *lost_ids, *(q.get("member_id") for q in unanswered)])
    return Weekly(
        this, last, doc, previous, times,
        [names.get(m, f"#{m}") for m in new_ids], [names.get(m, f"#{m}") for m in lost_ids], names,
    )
