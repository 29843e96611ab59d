"""Recall list (召回名单): previously active members whose usual rhythm is now clearly overdue.

Why rhythm and not one fixed silence: a member who spoke every day and has been quiet for a week
is drifting; a member who drops by once a month and was quiet for a week is on schedule. For each
member with at least ``min_active_days`` active days (local days with a message) before ``as_of``:

- ``usual_gap_days``: the median gap between consecutive active days;
- ``silent_days``: local days from the last active day to ``as_of``'s day;
- overdue when ``silent_days >= max(factor * usual_gap_days, usual_gap_days + min_overdue_days)``
  (defaults 3x and 7 days) and ``silent_days <= max_silence_days`` (90: after that they are gone,
  not drifting — they show up as churned instead).

Ranked most valuable first: by active days in the 90 days before they fell silent, then by how
overdue they are (``overdue = silent_days / usual_gap_days``). Each row has its reason in words,
in English and Chinese: "usually speaks every 2.1 days; silent for 19 days".
"""

from __future__ import annotations

import polars as pl

from shequn.insights.presence import active_days, local_day

SCHEMA = {"member_id": pl.Int64, "active_days": pl.Int64, "recent_active_days": pl.Int64, "usual_gap_days": pl.Float64,
          "silent_days": pl.Int64, "overdue": pl.Float64, "reason": pl.Utf8, "reason_zh": pl.Utf8}


def recall_list(
    frame: pl.DataFrame,
    *,
    as_of_ms: int,
    tz: str,
    min_active_days: int = 4,
    factor: float = 3.0,
    min_overdue_days: int = 7,
    max_silence_days: int = 90,
    days: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The ranked recall list (columns in ``SCHEMA``); empty when nobody is overdue.

    ``days``: ``active_days(frame, tz, until_ms=as_of_ms)`` when the caller already has it (it is shared).
    """
    ad = active_days(frame, tz, until_ms=as_of_ms) if days is None else days
    if ad.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    today = local_day(as_of_ms - 1, tz)
    per = (
        ad.with_columns((pl.col("day") - pl.col("day").shift(1).over("member_id")).alias("gap"))
        .group_by("member_id")
        .agg(
            pl.len().cast(pl.Int64).alias("active_days"),
            pl.col("gap").drop_nulls().median().alias("usual_gap_days"),
            pl.col("day").max().alias("last_day"),
        )
        .filter(pl.col("active_days") >= min_active_days)
        .with_columns((pl.lit(today) - pl.col("last_day")).cast(pl.Int64).alias("silent_days"))
    )
    recent = ad.join(per.select("member_id", "last_day"), on="member_id").filter(pl.col("day") > pl.col("last_day") - 90)
    recent = recent.group_by("member_id").agg(pl.len().cast(pl.Int64).alias("recent_active_days"))
    due = pl.max_horizontal(pl.col("usual_gap_days") * factor, pl.col("usual_gap_days") + min_overdue_days)
    out = (
        per.join(recent, on="member_id")
        .filter((pl.col("silent_days") >= due) & (pl.col("silent_days") <= max_silence_days))
        .with_columns((pl.col("silent_days") / pl.col("usual_gap_days")).round(1).alias("overdue"))
        .sort(["recent_active_days", "overdue", "member_id"], descending=[True, True, False])
    )
    reasons = [
        (f"usually speaks every {g:.1f} days; silent for {s} days", f"通常每 {g:.1f} 天发言一次；已沉默 {s} 天")
        for g, s in zip(out["usual_gap_days"].to_list(), out["silent_days"].to_list())
    ]
    return out.with_columns(
        pl.Series("reason", [r[0] for r in reasons], dtype=pl.Utf8),
        pl.Series("reason_zh", [r[1] for r in reasons], dtype=pl.Utf8),
        pl.col("usual_gap_days").cast(pl.Float64),
    ).select(list(SCHEMA))
