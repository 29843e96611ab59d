"""Newcomers, churned members and each member's status: who arrived, who went quiet, who left.

Definitions (``SILENCE_DAYS`` = 30):
- newcomer: a member whose first event of any kind (join, message, reaction ...) falls in the
  period (status: within the last 30 days before ``as_of``);
- churned: a member who spoke before and has sent no message for 30 days, or whose last event is
  a leave/kick. A churned member is *counted in the period of their last message* (a member who
  last spoke on 3 May is part of May's churn, even though we only know it from 2 June on), so a
  period's churn keeps growing for 30 days after it ends — ``membership_periods`` marks those
  periods ``complete = false``;
- lurker: a member who never sent a message (and did not leave);
- active: spoke within the last 30 days.
"""

from __future__ import annotations

import polars as pl

from shequn.insights.presence import DAY_MS, HUMAN_MESSAGE

SILENCE_DAYS = 30
LEAVE_KINDS = ("leave", "kick")


def member_status(frame: pl.DataFrame, *, as_of_ms: int) -> pl.DataFrame:
    """``member_id, first_seen_ms, first_message_ms, last_message_ms, silent_days, left, newcomer, status``.

    ``silent_days``: whole days since the last message (null if never spoke); ``status`` is one of
    ``active``, ``lurker``, ``churned``. Events at or after ``as_of_ms`` are ignored.
    """
    # select, then filter: only the columns the aggregation reads are copied
    past = frame.select("member_id", "is_bot", "kind", "at_ms").filter(
        pl.col("member_id").is_not_null() & ~pl.col("is_bot").fill_null(False) & (pl.col("at_ms") < as_of_ms))
    if past.is_empty():
        return pl.DataFrame(schema={"member_id": pl.Int64, "first_seen_ms": pl.Int64, "first_message_ms": pl.Int64,
                                    "last_message_ms": pl.Int64, "silent_days": pl.Int64, "left": pl.Boolean,
                                    "newcomer": pl.Boolean, "status": pl.Utf8})
    is_msg = HUMAN_MESSAGE
    is_leave = pl.col("kind").is_in(LEAVE_KINDS)
    agg = past.group_by(pl.col("member_id").cast(pl.Int64)).agg(
        pl.col("at_ms").min().alias("first_seen_ms"),
        pl.col("at_ms").filter(is_msg).min().alias("first_message_ms"),
        pl.col("at_ms").filter(is_msg).max().alias("last_message_ms"),
        pl.col("at_ms").filter(is_leave).max().alias("last_leave_ms"),
        pl.col("at_ms").filter(~is_leave).max().alias("last_other_ms"),
    )
    silence = SILENCE_DAYS * DAY_MS
    return agg.with_columns(
        ((pl.lit(as_of_ms) - pl.col("last_message_ms")) // DAY_MS).alias("silent_days"),
        (pl.col("last_leave_ms").is_not_null() & (pl.col("last_leave_ms") >= pl.col("last_other_ms").fill_null(0))).alias("left"),
        (pl.col("first_seen_ms") >= as_of_ms - silence).alias("newcomer"),
    ).with_columns(
        pl.when(pl.col("left") | (pl.col("last_message_ms") <= as_of_ms - silence)).then(pl.lit("churned"))
        .when(pl.col("last_message_ms").is_null()).then(pl.lit("lurker"))
        .otherwise(pl.lit("active")).alias("status")
    ).select("member_id", "first_seen_ms", "first_message_ms", "last_message_ms", "silent_days", "left", "newcomer", "status").sort("member_id")


def _period_expr(tz: str, col: str, period: str) -> pl.Expr:
    local = pl.from_epoch(pl.col(col), time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.date()
    if period == "month":
        return local.dt.truncate("1mo").cast(pl.Utf8).str.slice(0, 7)
    if period == "week":
        return local.dt.truncate("1w").cast(pl.Utf8)  # the Monday the ISO week starts on
    raise ValueError(f"period must be 'week' or 'month', not {period!r}")


def membership_periods(frame: pl.DataFrame, *, as_of_ms: int, tz: str, period: str = "month") -> pl.DataFrame:
    """Per local ``period`` (``2024-05`` or the week's Monday): ``newcomers, churned, left, complete``.

    ``churned`` counts members (silent 30 days by ``as_of`` or left) in the period of their last
    message; ``left`` counts members whose last event is a leave/kick, in the period of that event;
    ``complete`` is false while members who last spoke in the period could still turn out churned.
    """
    status = member_status(frame, as_of_ms=as_of_ms)
    if status.is_empty():
        return pl.DataFrame(schema={"period": pl.Utf8, "newcomers": pl.Int64, "churned": pl.Int64, "left": pl.Int64, "complete": pl.Boolean})
    new = status.select(_period_expr(tz, "first_seen_ms", period).alias("period")).group_by("period").agg(pl.len().alias("newcomers"))
    churned = (status.filter((pl.col("status") == "churned") & pl.col("last_message_ms").is_not_null())
               .select(_period_expr(tz, "last_message_ms", period).alias("period")).group_by("period").agg(pl.len().alias("churned")))
    leaves = frame.filter(pl.col("kind").is_in(LEAVE_KINDS) & pl.col("member_id").is_not_null() & (pl.col("at_ms") < as_of_ms))
    left_members = status.filter(pl.col("left")).select("member_id")
    left = (leaves.with_columns(pl.col("member_id").cast(pl.Int64)).join(left_members, on="member_id")
            .group_by("member_id").agg(pl.col("at_ms").max())
            .select(_period_expr(tz, "at_ms", period).alias("period")).group_by("period").agg(pl.len().alias("left")))
    # a period is complete once its end is 30 days behind as_of; the period holding (as_of - 30 days) is not
    open_from = pl.DataFrame({"t": [as_of_ms - SILENCE_DAYS * DAY_MS]}).select(_period_expr(tz, "t", period)).item()
    out = new.join(churned, on="period", how="full", coalesce=True).join(left, on="period", how="full", coalesce=True)
    return out.with_columns(
        *(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("newcomers", "churned", "left")),
        (pl.col("period") < open_from).alias("complete"),
    ).select("period", "newcomers", "churned", "left", "complete").sort("period")


