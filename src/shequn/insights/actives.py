"""Actives: DAU / WAU / MAU, stickiness, joins, leaves, net growth and speakers' share.

Definitions (docs/metrics.md has examples):
- an *active* member on a local day is one who sent a human message (kind ``message``, not a bot)
  that day, days taken in the community's time zone;
- DAU / WAU / MAU for day D: distinct active members over the rolling 1 / 7 / 28 local days ending
  on D (28 rather than a calendar month, so every window has the same length and weekdays);
- stickiness = DAU / MAU of the same day (how many of the month's actives come on a given day);
- joins: join events; leaves: leave + kick events; net growth = joins - leaves (bots excluded);
- speakers' share = speakers / members present in the period, where *present* means a member with
  any event in the period, or one who was in the group before it and had not left (their last
  earlier event in that group is not a leave or kick).

Rolling distinct counts are computed without expanding every member-day into 28 rows: a member's
active day d covers the days [d, min(next active day, d + window)), so a +1/-1 difference array over
those intervals, summed, gives the count for every day in one pass.
"""

from __future__ import annotations

import polars as pl

from shequn.insights.presence import HUMAN_MESSAGE, local_day, local_day_of

WINDOWS = {"dau": 1, "wau": 7, "mau": 28}
DAY_MS = 86_400_000
LEAVES = ("leave", "kick")
HUMAN = pl.col("member_id").is_not_null() & ~pl.col("is_bot")

DAILY_SCHEMA = {"day": pl.Date, "dau": pl.Int64, "wau": pl.Int64, "mau": pl.Int64, "stickiness": pl.Float64}


def member_days(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    """``member_id, day`` (local day number): unique days each member sent a human message."""
    return frame.filter(HUMAN_MESSAGE).select("member_id", local_day_of(frame, tz).alias("day")).unique()


def _rolling_distinct(md: pl.DataFrame, window: int, first_day: int, last_day: int) -> pl.Series:
    """Distinct members active in the ``window`` days ending on each day first_day..last_day."""
    md = md.sort("member_id", "day").with_columns(pl.col("day").shift(-1).over("member_id").alias("next"))
    ends = pl.min_horizontal(pl.col("next").fill_null(pl.col("day") + window), pl.col("day") + window)
    deltas = pl.concat([
        md.select(pl.col("day").alias("d"), pl.lit(1, pl.Int64).alias("v")),
        md.select(ends.alias("d"), pl.lit(-1, pl.Int64).alias("v")),
    ]).group_by("d").agg(pl.col("v").sum())
    days = pl.DataFrame({"d": pl.int_range(min(first_day, int(md["day"].min())), last_day + 1, eager=True).cast(pl.Int32)})
    counts = days.join(deltas.with_columns(pl.col("d").cast(pl.Int32)), on="d", how="left").sort("d").with_columns(
        pl.col("v").fill_null(0).cum_sum()
    )
    return counts.filter(pl.col("d") >= first_day)["v"]


def daily_actives(frame: pl.DataFrame, tz: str, *, first_day: int, last_day: int) -> pl.DataFrame:
    """One row per local day ``first_day..last_day`` (day numbers): day, dau, wau, mau, stickiness."""
    if last_day < first_day:
        return pl.DataFrame(schema=DAILY_SCHEMA)
    md = member_days(frame.filter(pl.col("member_id").is_not_null()), tz).filter(pl.col("day") <= last_day)
    days = pl.int_range(first_day, last_day + 1, eager=True).cast(pl.Int32)
    if md.is_empty():
        zeros = pl.Series([0] * len(days), dtype=pl.Int64)
        return pl.DataFrame({"day": days.cast(pl.Date), "dau": zeros, "wau": zeros, "mau": zeros,
                             "stickiness": pl.Series([None] * len(days), dtype=pl.Float64)})
    out = pl.DataFrame({"day": days.cast(pl.Date)}).with_columns(
        **{name: _rolling_distinct(md, w, first_day, last_day).cast(pl.Int64) for name, w in WINDOWS.items()}
    )
    return out.with_columns(
        pl.when(pl.col("mau") > 0).then((pl.col("dau") / pl.col("mau")).round(4)).otherwise(None).alias("stickiness")
    )


def membership_flow(frame: pl.DataFrame, *, since_ms: int, until_ms: int) -> dict:
    """Joins, leaves (leave + kick) and net growth of human members in ``[since_ms, until_ms)``."""
    p = frame.filter(HUMAN & (pl.col("at_ms") >= since_ms) & (pl.col("at_ms") < until_ms))
    joins = p.filter(pl.col("kind") == "join").height
    leaves = p.filter(pl.col("kind").is_in(LEAVES)).height
    return {"joins": joins, "leaves": leaves, "net_growth": joins - leaves}


def present_members(frame: pl.DataFrame, *, since_ms: int, until_ms: int) -> pl.DataFrame:
    """``group_id, member_id`` of members present in the period (see the module docstring)."""
    human = frame.select("id", "group_id", "member_id", "is_bot", "kind", "at_ms").filter(HUMAN & (pl.col("at_ms") < until_ms))
    during = human.filter(pl.col("at_ms") >= since_ms).select("group_id", "member_id").unique()
    from shequn.insights.frame import sort_events

    # on rows in (at_ms, id) order (the frame's: checked, not re-sorted) the last row of each pair is its
    # latest event, which ``unique(keep="last")`` finds without grouping; the pair travels as one integer
    # (as in ``interactions``), much faster to hash than two columns
    pair = pl.col("group_id").cast(pl.UInt64) * (1 << 32) + pl.col("member_id").cast(pl.UInt64)
    before = (
        sort_events(human.filter(pl.col("at_ms") < since_ms))
        .select(pair.alias("pair"), "kind")
        .unique("pair", keep="last")
        .filter(~pl.col("kind").is_in(LEAVES))
        .select((pl.col("pair") // (1 << 32)).cast(pl.Int64).alias("group_id"), (pl.col("pair") % (1 << 32)).cast(pl.Int64).alias("member_id"))
    )
    return pl.concat([during, before]).unique()


def speakers_share(frame: pl.DataFrame, *, since_ms: int, until_ms: int, present: int | None = None) -> dict:
    """``speakers``, ``present`` and their ratio ``share`` (null when nobody is present).

    ``present``: the number of members present, when the caller has already counted it.
    """
    if present is None:
        present = present_members(frame, since_ms=since_ms, until_ms=until_ms)["member_id"].n_unique()
    speakers = (frame.select("member_id", "is_bot", "kind", "at_ms")
                .filter(HUMAN_MESSAGE & (pl.col("at_ms") >= since_ms) & (pl.col("at_ms") < until_ms))["member_id"].n_unique())
    return {"speakers": speakers, "present": present, "share": round(speakers / present, 4) if present else None}


def actives_summary(frame: pl.DataFrame, tz: str, *, since_ms: int, until_ms: int, daily: bool = True,
                    present: int | None = None) -> dict:
    """The ``actives`` section of ``shequn insights --json`` for one frame (a community or one group).

    ``dau``/``wau``/``mau``/``stickiness`` are those of the last local day of the period (the day that
    holds ``until_ms - 1``); ``daily`` lists every day of the period. ``present``: members present,
    if already counted (see :func:`speakers_share`).
    """
    first_day = local_day(since_ms, tz)
    last_day = local_day(until_ms - 1, tz)
    # rolling windows look back at most 28 days; two more cover any time-zone offset
    window = frame.filter((pl.col("at_ms") >= since_ms - (WINDOWS["mau"] + 2) * DAY_MS) & (pl.col("at_ms") < until_ms))
    series = daily_actives(window, tz, first_day=first_day, last_day=last_day)
    last = series.row(-1, named=True) if series.height else {"dau": 0, "wau": 0, "mau": 0, "stickiness": None}
    avg_dau = round(float(series["dau"].mean()), 2) if series.height else 0.0
    doc = {
        "dau": last["dau"], "wau": last["wau"], "mau": last["mau"], "stickiness": last["stickiness"],
        "average_dau": avg_dau,
        **membership_flow(window, since_ms=since_ms, until_ms=until_ms),
        # speakers from the window (it holds the period); presence needs the whole history, so from the frame
        "speakers_share": speakers_share(window, since_ms=since_ms, until_ms=until_ms, present=present if present is not None
                                         else present_members(frame, since_ms=since_ms, until_ms=until_ms)["member_id"].n_unique()),
    }
    if daily:
        doc["daily"] = [
            {"day": r["day"].isoformat(), "dau": r["dau"], "wau": r["wau"], "mau": r["mau"], "stickiness": r["stickiness"]}
            for r in series.iter_rows(named=True)
        ]
    return doc

