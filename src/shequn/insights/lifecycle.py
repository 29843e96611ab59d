"""Group lifecycle stage (growing / stable / declining / dead) and the group health vector.

Why weekly windows and medians: an operator moves active members to a fresh group *before* the old
one goes silent, so the stage must follow the trend, not the last burst. One heated evening (a
release, a flame war) multiplies a day's messages by ten; it barely moves the number of distinct
*speakers*, and the *median* of four weekly speaker counts ignores one outlying week entirely.

Weeks are 7 local days (community time zone) counted back from the day of ``as_of``: week 0 is the
latest 7 days, week 1 the 7 before, and so on. For each group and week: human messages, speakers
(distinct members who sent one), joins and leaves (leave + kick).

Stage, first rule that applies (thresholds in ``Thresholds``):
1. ``dead``: fewer than 2 speakers in the last 2 weeks, i.e. weeks 0 and 1 in local days (nobody
   talks, or one person talks alone: no conversation is left);
2. the group is younger than 2 weeks of history: ``stable`` ("too young to show a trend");
3. recent = median weekly speakers over weeks 0-3, earlier = median over weeks 4-7 (only weeks
   after the group's first event count; a younger group splits its weeks in half);
   ``growing`` when recent >= 1.25 x earlier and recent - earlier >= 2 speakers;
   ``declining`` when recent <= 0.75 x earlier and earlier - recent >= 2 speakers;
   otherwise ``stable``. The absolute margin keeps small groups (3 vs 2 speakers) from flapping.

Health vector (never folded into one number; each part answers a different question):
- growth: joins, leaves, net growth over the last 4 weeks and the speaker trend ratio recent/earlier;
- retention: share of weeks 4-7 speakers who spoke again in weeks 0-3;
- activity: human messages per day and speakers per week over the last 4 weeks;
- response rate: share of questions answered within 24 h (``shequn.insights.response``);
- absence factor: fewest members who sent half the messages (``shequn.insights.graph``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from shequn.insights.presence import HUMAN_MESSAGE, day_to_date, local_day, local_day_of

WEEKS = 8
LEAVES = ("leave", "kick")


@dataclass(frozen=True)
class Thresholds:
    dead_weeks: int = 2
    dead_speakers: int = 2  # fewer distinct speakers than this over ``dead_weeks`` -> dead
    grow_ratio: float = 1.25
    decline_ratio: float = 0.75
    min_change: float = 2.0  # speakers: the trend must also move by at least this many people


WEEKLY_SCHEMA = {"group_id": pl.Int64, "week": pl.Int32, "messages": pl.Int64, "speakers": pl.Int64,
                 "joins": pl.Int64, "leaves": pl.Int64}


def weekly(frame: pl.DataFrame, tz: str, *, as_of_ms: int, weeks: int = WEEKS) -> pl.DataFrame:
    """Per group and week 0..weeks-1 (0 = the latest 7 local days): messages, speakers, joins, leaves.

    Every (group, week) pair is present, zeros included, for each group in the frame.
    """
    today = local_day(as_of_ms - 1, tz)
    recent = (pl.col("at_ms") >= as_of_ms - (7 * weeks + 2) * 86_400_000) & (pl.col("at_ms") < as_of_ms)  # +2 days: any zone offset
    f = frame.filter(recent).with_columns(((today - local_day_of(frame, tz)) // 7).cast(pl.Int32).alias("week"))
    f = f.filter(pl.col("week") < weeks)
    human = pl.col("member_id").is_not_null() & ~pl.col("is_bot")
    agg = f.group_by("group_id", "week").agg(
        HUMAN_MESSAGE.sum().cast(pl.Int64).alias("messages"),
        pl.col("member_id").filter(HUMAN_MESSAGE).n_unique().cast(pl.Int64).alias("speakers"),
        ((pl.col("kind") == "join") & human).sum().cast(pl.Int64).alias("joins"),
        (pl.col("kind").is_in(LEAVES) & human).sum().cast(pl.Int64).alias("leaves"),
    )
    groups = frame.select(pl.col("group_id").cast(pl.Int64)).unique()
    grid = groups.join(pl.DataFrame({"week": pl.int_range(0, weeks, eager=True).cast(pl.Int32)}), how="cross")
    return (grid.join(agg.with_columns(pl.col("group_id").cast(pl.Int64)), on=["group_id", "week"], how="left")
            .with_columns(pl.col(c).fill_null(0) for c in ("messages", "speakers", "joins", "leaves"))
            .select(list(WEEKLY_SCHEMA)).sort("group_id", "week"))


def _median(values: list[int]) -> float:
    v = sorted(values)
    n = len(v)
    return float(v[n // 2]) if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def stage(weeks: list[dict], *, age_weeks: int, recent_speakers: int, t: Thresholds = Thresholds()) -> tuple[str, str, dict]:
    """(stage, reason in words, figures) for one group's weekly rows (index = week number, 0 latest).

    ``age_weeks``: how many of those weeks lie after the group's first event (younger groups have
    fewer weeks to judge); ``recent_speakers``: distinct speakers over the last ``dead_weeks`` weeks.
    """
    figures: dict = {"recent_speakers_median": None, "earlier_speakers_median": None, "trend": None}
    if recent_speakers < t.dead_speakers:
        return "dead", f"{recent_speakers} speaker(s) in the last {t.dead_weeks} weeks", figures
    usable = max(1, min(age_weeks, len(weeks)))
    if usable < 2:
        return "stable", "too young to show a trend (under 2 weeks of history)", figures
    half = min(4, usable // 2) if usable < 8 else 4
    recent = _median([w["speakers"] for w in weeks[:half]])
    earlier = _median([w["speakers"] for w in weeks[half:usable]])
    trend = round(recent / earlier, 3) if earlier else None
    figures = {"recent_speakers_median": recent, "earlier_speakers_median": earlier, "trend": trend}
    words = f"median weekly speakers {recent:g} in the last {half} weeks vs {earlier:g} in the {usable - half} before"
    if (earlier == 0 or recent >= t.grow_ratio * earlier) and recent - earlier >= t.min_change:
        return "growing", words, figures
    if recent <= t.decline_ratio * earlier and earlier - recent >= t.min_change:
        return "declining", words, figures
    return "stable", words, figures


def retention(frame: pl.DataFrame, tz: str, *, as_of_ms: int) -> float | None:
    """Share of members who spoke in weeks 4-7 and spoke again in weeks 0-3 (null if none spoke then)."""
    today = local_day(as_of_ms - 1, tz)
    w = frame.filter(HUMAN_MESSAGE & (pl.col("at_ms") < as_of_ms) & (pl.col("at_ms") >= as_of_ms - 58 * 86_400_000)).select(
        "member_id", ((today - local_day_of(frame, tz)) // 7).alias("week")
    ).filter(pl.col("week") < 8)
    earlier = set(w.filter(pl.col("week") >= 4)["member_id"].unique().to_list())
    if not earlier:
        return None
    recent = set(w.filter(pl.col("week") < 4)["member_id"].unique().to_list())
    return round(len(earlier & recent) / len(earlier), 4)


def group_lifecycle(frame: pl.DataFrame, tz: str, *, as_of_ms: int, t: Thresholds = Thresholds()) -> dict[int, dict]:
    """Per group id: ``stage``, ``reason``, the figures behind it and the weekly rows (week 0 first)."""
    rows = weekly(frame, tz, as_of_ms=as_of_ms)
    today = local_day(as_of_ms - 1, tz)
    first = frame.filter(pl.col("at_ms") < as_of_ms).group_by("group_id").agg(pl.col("at_ms").min())
    first_day = {int(g): local_day(int(ms), tz) for g, ms in first.iter_rows()}
    # the last ``dead_weeks`` *local* weeks, as in ``weekly``: an elapsed-time cut (as_of - 14 x 24 h) would
    # reach into week 2 whenever as_of is not local midnight or a DST change falls inside the fortnight
    start = as_of_ms - (7 * t.dead_weeks + 2) * 86_400_000  # a superset; the local-day test below decides
    lately = (
        frame.filter(HUMAN_MESSAGE & (pl.col("at_ms") >= start) & (pl.col("at_ms") < as_of_ms))
        .filter(local_day_of(frame, tz) > today - 7 * t.dead_weeks)
        .group_by("group_id").agg(pl.col("member_id").n_unique().alias("n"))
    )
    recent_speakers = {int(g): int(n) for g, n in lately.iter_rows()}
    out: dict[int, dict] = {}
    for (gid,), part in rows.group_by(["group_id"], maintain_order=True):
        weeks = part.sort("week").to_dicts()
        gid = int(gid)
        age = ((today - first_day[gid]) // 7 + 1) if gid in first_day else 0
        name, reason, figures = stage(weeks, age_weeks=age, recent_speakers=recent_speakers.get(gid, 0), t=t)
        out[gid] = {
            "stage": name, "reason": reason, **figures, "age_weeks": age,
            "weekly": [
                {"week_start": (day_to_date(today - 7 * w["week"] - 6)).isoformat(), "messages": w["messages"],
                 "speakers": w["speakers"], "joins": w["joins"], "leaves": w["leaves"]}
                for w in weeks
            ],
        }
    return out


def health(frame: pl.DataFrame, tz: str, *, as_of_ms: int, lifecycle: dict, response_rate: float | None,
           absence_factor: int | None) -> dict:
    """The health vector of one group (``lifecycle`` is that group's entry from :func:`group_lifecycle`)."""
    last4 = lifecycle["weekly"][:4]
    joins = sum(w["joins"] for w in last4)
    leaves = sum(w["leaves"] for w in last4)
    days = min(28, max(1, lifecycle["age_weeks"] * 7))
    return {
        "growth": {"joins_4w": joins, "leaves_4w": leaves, "net_4w": joins - leaves, "speaker_trend": lifecycle["trend"]},
        "retention": retention(frame, tz, as_of_ms=as_of_ms),
        "activity": {
            "messages_per_day": round(sum(w["messages"] for w in last4) / days, 2),
            "speakers_per_week": _median([w["speakers"] for w in last4]) if last4 else 0.0,
        },
        "response_rate": response_rate,
        "absence_factor": absence_factor,
    }


def week_start(as_of_ms: int, tz: str, week: int) -> str:
    """Local date the given week (0 = latest) starts on."""
    return (day_to_date(local_day(as_of_ms - 1, tz)) - timedelta(days=7 * week + 6)).isoformat()
