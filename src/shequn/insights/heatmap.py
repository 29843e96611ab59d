"""Weekday x hour activity heatmap: when the community talks, in its own time zone.

Counts human messages by local weekday (0 = Monday ... 6 = Sunday) and local hour (0-23); an
operator reads it to schedule posts (早报, check-ins) when people are there. DST is handled by the
time-zone conversion: a message at 01:30 on the night clocks go back lands in hour 1 either way.
"""

from __future__ import annotations

import polars as pl

from shequn.insights.presence import HUMAN_MESSAGE

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def heatmap(frame: pl.DataFrame, tz: str, *, since_ms: int, until_ms: int) -> dict:
    """``{"weekdays": [...], "counts": 7 rows of 24 ints, "total": n, "peak": {weekday, hour, messages}}``."""
    local = pl.from_epoch(pl.col("at_ms"), time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(tz)
    cells = (
        frame.filter(HUMAN_MESSAGE & (pl.col("at_ms") >= since_ms) & (pl.col("at_ms") < until_ms))
        .select((local.dt.weekday() - 1).alias("wd"), local.dt.hour().alias("h"))
        .group_by("wd", "h").agg(pl.len().alias("n"))
    )
    counts = [[0] * 24 for _ in range(7)]
    for wd, h, n in cells.iter_rows():
        counts[wd][h] = int(n)
    total = sum(map(sum, counts))
    peak = None
    if total:
        wd, h = max(((w, hr) for w in range(7) for hr in range(24)), key=lambda c: (counts[c[0]][c[1]], -c[0], -c[1]))
        peak = {"weekday": WEEKDAYS[wd], "hour": h, "messages": counts[wd][h]}
    return {"weekdays": WEEKDAYS, "counts": counts, "total": total, "peak": peak}
