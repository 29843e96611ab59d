"""Cohort retention (同期群留存): who is still speaking one, two, three ... months after their first message.

A member's cohort is the local calendar month (community time zone) of their first human message in
the whole history. ``retention[k]`` of a cohort is the share of its members who sent a human message
in the k-th month after the cohort month (``retention[0]`` is 1.0 by definition). Months that have
not ended by ``as_of`` are included but marked: ``complete`` is false when the cohort's last entry is
a month ``as_of`` falls inside, because members may still speak before it ends (``as_of`` at local
midnight on the 1st closes the month before it).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from shequn.insights.presence import HUMAN_MESSAGE, day_column, day_to_date, local_day


def _month_expr(tz: str) -> pl.Expr:
    local = pl.from_epoch(pl.col("at_ms"), time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(tz)
    return (local.dt.year().cast(pl.Int32) * 12 + local.dt.month().cast(pl.Int32) - 1).alias("month")


def _label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def cohort_retention(frame: pl.DataFrame, tz: str, *, as_of_ms: int, since_ms: int | None = None, max_months: int = 12,
                     days: pl.DataFrame | None = None) -> list[dict]:
    """``[{cohort: "2024-03", size, retention: [1.0, 0.42, ...], complete}]`` oldest first.

    ``days``: ``presence.active_days(frame, tz, until_ms=as_of_ms)`` when the caller has it (the
    member-days are all a cohort needs; a few hundred thousand rows instead of every message).

    Only cohorts whose month starts at or after ``since_ms``'s month are listed (their members' first
    message is still taken from the whole history); at most ``max_months`` offsets are shown.
    """
    human = frame.filter(HUMAN_MESSAGE & (pl.col("at_ms") < as_of_ms)) if days is None else None
    if days is not None or day_column(tz) in frame.columns:  # local days known: months from distinct member-days
        if days is None:
            days = human.select("member_id", pl.col(day_column(tz)).alias("day")).unique()
        local = pl.col("day").cast(pl.Date)
        msgs = days.select("member_id", (local.dt.year().cast(pl.Int32) * 12 + local.dt.month().cast(pl.Int32) - 1).alias("month")).unique()
    else:
        # one row per member and UTC quarter-hour before converting zones (the conversion then runs on far
        # fewer rows); every zone offset in use is a multiple of 15 minutes, so no message changes month
        hours = human.select("member_id", (pl.col("at_ms") // 900_000 * 900_000).alias("at_ms")).unique()
        msgs = hours.select("member_id", _month_expr(tz)).unique()
    if msgs.is_empty():
        return []
    first = msgs.group_by("member_id").agg(pl.col("month").min().alias("cohort"))
    d = msgs.join(first, on="member_id").with_columns((pl.col("month") - pl.col("cohort")).alias("k"))
    if since_ms is not None:
        since = date_of(since_ms, tz)
        d = d.filter(pl.col("cohort") >= since.year * 12 + since.month - 1)
    now_day = date_of(as_of_ms - 1, tz)
    current = now_day.year * 12 + now_day.month - 1  # the month holding the last instant read: the last one listed
    at = date_of(as_of_ms, tz)
    # a month is complete once as_of has reached its end: as_of = 1 Jan 00:00 local closes December
    open_month = at.year * 12 + at.month - 1
    counts = d.filter(pl.col("k") < max_months).group_by("cohort", "k").agg(pl.len().alias("n")).sort("cohort", "k")
    out = []
    for (cohort,), part in counts.group_by(["cohort"], maintain_order=True):
        cohort = int(cohort)
        by_k = dict(zip(part["k"].to_list(), part["n"].to_list()))
        size = by_k.get(0, 0)
        last_k = min(current - cohort, max_months - 1)
        out.append({
            "cohort": _label(cohort), "size": size,
            "retention": [round(by_k.get(k, 0) / size, 4) for k in range(last_k + 1)],
            "complete": cohort + last_k < open_month,
        })
    return out


def date_of(ms: int, tz: str) -> date:
    """The local calendar date of an instant."""
    return day_to_date(local_day(ms, tz))
