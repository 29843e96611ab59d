"""Member pyramid: core / active / casual / lurker from presence on active days, and the 80/95 split.

Why presence on days rather than message counts: one flood of 200 messages in an evening is one
day of presence; a member who drops by on many days carries the group. Thresholds (``TIERS``),
each counted over trailing local days ending on an active day (inclusive):

- ``core``:   30 active days in a quarter (90 days)
- ``active``:  7 active days in a month (30 days)
- ``casual``:  2 active days in a week (7 days)
- ``lurker``: a known member who meets none of these (or never spoke).

Promote at once, demote monthly: on any active day where a higher threshold is met, the member is
promoted immediately; at the start of each calendar month (community time zone) the tier is
re-set to the best tier met during the month just ended. So the tier at ``as_of`` is the best tier
met on any active day of the current month (up to ``as_of``) or of the previous month.

Beside it, :func:`activity_bands` gives the cumulative-activity split: members sorted by message
count; ``top80`` are the fewest members who together sent 80% of the messages, ``top95`` the next
ones up to 95%, ``rest`` the long tail.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from shequn.insights.presence import active_days, day_to_date, human_messages, local_day

#: (tier, active days needed, trailing window in days), highest first
TIERS = (("core", 30, 90), ("active", 7, 30), ("casual", 2, 7))
ORDER = {"lurker": 0, "casual": 1, "active": 2, "core": 3}
NAMES = {v: k for k, v in ORDER.items()}


def _month_index(day: int) -> int:
    d = day_to_date(day)
    return d.year * 12 + d.month - 1


def member_tiers(frame: pl.DataFrame, *, as_of_ms: int, tz: str, days: pl.DataFrame | None = None) -> pl.DataFrame:
    """``member_id, tier, days_7, days_30, days_90`` for every member seen in the frame (any event).

    ``days_N``: active days in the N local days ending on ``as_of``'s local day (inclusive).
    ``days``: ``active_days(frame, tz, until_ms=as_of_ms)`` when the caller already has it (it is shared).
    """
    # select, then filter: only the three columns needed are copied, not every column of the frame
    seen = frame.select("member_id", "is_bot", "at_ms").filter(
        pl.col("member_id").is_not_null() & ~pl.col("is_bot").fill_null(False) & (pl.col("at_ms") < as_of_ms))
    members = seen.select(pl.col("member_id").cast(pl.Int64)).unique().sort("member_id")
    ad = active_days(frame, tz, until_ms=as_of_ms) if days is None else days
    today = local_day(as_of_ms - 1, tz) if as_of_ms > 0 else 0
    m_idx = _month_index(today)
    if ad.is_empty():
        return members.with_columns(pl.lit("lurker").alias("tier"), *(pl.lit(0).cast(pl.Int64).alias(f"days_{n}") for n in (7, 30, 90)))
    mid = ad["member_id"].to_numpy().astype(np.int64)
    day = ad["day"].to_numpy().astype(np.int64)
    # one sorted key per (member, day): trailing counts are differences of searchsorted positions
    key = mid * 1_000_000 + day
    pos = np.arange(len(key))
    level = np.zeros(len(key), dtype=np.int64)
    for tier, need, window in reversed(TIERS):  # casual, active, core: later ones overwrite
        count = pos - np.searchsorted(key, key - (window - 1), side="left") + 1
        level = np.where(count >= need, ORDER[tier], level)
    months = _months_vec(day)
    recent = months >= m_idx - 1
    per_day = pl.DataFrame({"member_id": mid, "level": np.where(recent, level, 0)})
    best = per_day.group_by("member_id").agg(pl.col("level").max())
    counts = ad.group_by("member_id").agg(
        *((pl.col("day") > today - n).sum().cast(pl.Int64).alias(f"days_{n}") for n in (7, 30, 90))
    )
    return (
        members.join(best, on="member_id", how="left").join(counts, on="member_id", how="left")
        .with_columns(
            pl.col("level").fill_null(0).replace_strict(NAMES, return_dtype=pl.Utf8).alias("tier"),
            *(pl.col(f"days_{n}").fill_null(0) for n in (7, 30, 90)),
        )
        .select("member_id", "tier", "days_7", "days_30", "days_90")
    )


def _months_vec(day: np.ndarray) -> np.ndarray:
    dates = day.astype("datetime64[D]")
    return dates.astype("datetime64[M]").astype(np.int64) + 1970 * 12


def activity_bands(frame: pl.DataFrame, *, as_of_ms: int | None = None) -> pl.DataFrame:
    """``member_id, messages, cumulative_share, band`` (``top80`` / ``top95`` / ``rest``), busiest first.

    A member is in ``top80`` when the members before them sent less than 80% of all messages (so
    the member who crosses 80% is included); likewise ``top95``. Ties are broken by member id.
    """
    msgs = human_messages(frame, until_ms=as_of_ms)
    counts = msgs.group_by(pl.col("member_id").cast(pl.Int64)).agg(pl.len().cast(pl.Int64).alias("messages"))
    counts = counts.sort(["messages", "member_id"], descending=[True, False])
    total = counts["messages"].sum() or 1
    before = ((counts["messages"].cum_sum() - counts["messages"]) / total).to_list()
    return counts.with_columns(
        (pl.col("messages").cum_sum() / total).round(4).alias("cumulative_share"),
        pl.Series("band", _bands(before), dtype=pl.Utf8),
    )


def _bands(before: list[float]) -> list[str]:
    return ["top80" if b < 0.80 else "top95" if b < 0.95 else "rest" for b in before]
