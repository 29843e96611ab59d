"""Presence: which local calendar days each member spoke on.

Why a module of its own: the pyramid, the recall list and churn risk all reason about *active days*
(days with at least one human message), and a day must mean the community's day (Asia/Shanghai by
default), not a UTC day — otherwise a member who speaks at 07:00 Beijing time every morning is
counted on the previous day. Every function takes the ``load_frame`` frame
(``id, group_id, member_id, is_bot, kind, at_ms, platform_id, reply_to, to``) and returns a polars frame.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import polars as pl

DAY_MS = 86_400_000

#: a human chat message: kind ``message`` from a known, non-bot member
HUMAN_MESSAGE = (pl.col("kind") == "message") & ~pl.col("is_bot").fill_null(False) & pl.col("member_id").is_not_null()


def human_messages(frame: pl.DataFrame, *, until_ms: int | None = None) -> pl.DataFrame:
    """Human chat messages, optionally only those before ``until_ms`` (exclusive)."""
    out = frame.filter(HUMAN_MESSAGE)
    return out if until_ms is None else out.filter(pl.col("at_ms") < until_ms)


def local_day_expr(tz: str, col: str = "at_ms") -> pl.Expr:
    """Epoch ms -> the local calendar day as an integer (days since 1970-01-01), DST-correct."""
    return (
        pl.from_epoch(pl.col(col), time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(tz)
        .dt.date().cast(pl.Int32)
    )


def local_day(ms: int, tz: str) -> int:
    """One instant's local day number (the scalar twin of :func:`local_day_expr`)."""
    d = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(ZoneInfo(tz)).date()
    return (d - date(1970, 1, 1)).days


def day_to_date(day: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(day))


def active_days(frame: pl.DataFrame, tz: str, *, until_ms: int | None = None) -> pl.DataFrame:
    """``member_id, day, messages``: one row per member and local day they sent a human message, sorted."""
    return (
        human_messages(frame, until_ms=until_ms)
        .select("member_id", local_day_expr(tz).alias("day"))
        .group_by("member_id", "day")
        .agg(pl.len().cast(pl.Int64).alias("messages"))
        .sort("member_id", "day")
    )
