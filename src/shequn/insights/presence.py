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


QUARTER_MS = 900_000


def day_column(tz: str) -> str:
    """Name of the frame column holding each event's local day in ``tz`` (see :func:`with_local_day`)."""
    return f"day@{tz}"


def with_local_day(frame: pl.DataFrame, tz: str, col: str = "at_ms") -> pl.DataFrame:
    """``frame`` plus column ``day_column(tz)``: each row's local day (as :func:`local_day_expr`).

    Why: converting 10 million instants between zones takes about a second, and half the sections of
    the insights document need local days. Every offset in use since 1972 and every instant a zone
    changes at is a multiple of 15 minutes, so all instants of one UTC quarter-hour fall on the same
    local day: only the few thousand distinct quarter-hours are converted, and joined back. A
    quarter-hour whose first and last millisecond fall on different local days (a zone with an odd
    historical offset) is converted event by event, so the result is exact for any zone.
    """
    name = day_column(tz)
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Int32).alias(name))
    quarter = (pl.col(col) // QUARTER_MS).alias("_q")
    keys = _quarter_days(frame.select(quarter.unique()), tz, name)
    out = frame.with_columns(quarter).join(keys, on="_q", how="left", maintain_order="left")
    if out[name].null_count():  # quarter-hours that straddle a local midnight: exact, event by event
        out = out.with_columns(pl.coalesce(pl.col(name), local_day_expr(tz, col)).alias(name))
    return out.drop("_q")


def _quarter_days(quarters: pl.DataFrame, tz: str, name: str) -> pl.DataFrame:
    """``_q, <name>`` for quarter-hours whose first and last millisecond share a local day; null otherwise."""
    q = quarters.with_columns((pl.col("_q") * QUARTER_MS).alias("_start"), (pl.col("_q") * QUARTER_MS + QUARTER_MS - 1).alias("_last"))
    q = q.with_columns(local_day_expr(tz, "_start").alias(name), local_day_expr(tz, "_last").alias("_lastday"))
    return q.select("_q", pl.when(pl.col(name) == pl.col("_lastday")).then(pl.col(name)).otherwise(None).alias(name))


def local_day_of(frame: pl.DataFrame, tz: str) -> pl.Expr:
    """The local-day expression for rows of ``frame``: its precomputed column when it has one."""
    name = day_column(tz)
    return pl.col(name) if name in frame.columns else local_day_expr(tz)


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
        .select("member_id", local_day_of(frame, tz).alias("day"))
        .group_by("member_id", "day")
        .agg(pl.len().cast(pl.Int64).alias("messages"))
        .sort("member_id", "day")
    )
