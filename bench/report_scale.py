"""The HTML report at scale: `shequn report` and `shequn report --weekly` on the replayed N-event community
of bench/replay_data.py (real ubuntu-irc distributions), with each step timed and peak memory.

Steps of the period report: build_insights (the insights document, measured in detail by
bench/insights_scale.py), the response-time distribution (insights.response over the period), the view
and its charts (matplotlib SVG), the Jinja2 render; then the same for the weekly report (two insights
documents, speakers of both weeks). Prints the HTML size and the number of charts, and the machine.

    python bench/report_scale.py [--events 10000000] [--pg [URL]]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_mib  # noqa: E402
from replay_data import DEFAULT_PG, postgres_db, sqlite_db  # noqa: E402

from shequn.insights.report import data, view  # noqa: E402
from shequn.insights.report.render import render  # noqa: E402
from shequn.store.db import open_engine  # noqa: E402


def run(url: str, label: str) -> None:
    print(f"\n{label}: {url.split('?')[0]}")
    eng = open_engine(url)
    timings: dict[str, float] = {}

    def step(name, fn):
        t = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - t
        print(f"  {name:<34} {timings[name]:8.2f} s   peak RSS {peak_rss_mib():7.0f} MiB", flush=True)
        return out

    with eng.connect() as conn:
        from shequn.insights.summary import build_insights

        extras: dict = {}
        doc = step("build_insights (last 28 days)", lambda: build_insights(conn, 1, extras=extras))
        times = step("response times for the chart", lambda: data.response_times(extras["responses"], doc["period"]["until_ms"]))
        extras.clear()
        names = data._names(conn, (q.get("member_id") for q in doc["members"]["response_time"]["unanswered"]))
        v = step("view + charts (SVG)", lambda: view.overview_view(data.Overview(doc, times, names)))
        html = step("render (Jinja2)", lambda: render("report.html.j2", v))
        total = sum(timings.values())
        print(f"  period report total              {total:8.2f} s   {len(html.encode()) / 1024:,.0f} KiB, "
              f"{len(re.findall('<svg', html))} charts, {len(times):,} questions, {doc['events']:,} events read")
        t = time.perf_counter()
        week = data.weekly(conn, 1)
        t_data = time.perf_counter() - t
        t = time.perf_counter()
        whtml = render("weekly.html.j2", view.weekly_view(week))
        t_render = time.perf_counter() - t
        print(f"  weekly report {week.this.label}: data {t_data:.2f} s (two insights documents + speakers), "
              f"view+render {t_render:.2f} s, total {t_data + t_render:.2f} s, {len(whtml.encode()) / 1024:,.0f} KiB; "
              f"peak RSS {peak_rss_mib():.0f} MiB")
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--pg", nargs="?", const=DEFAULT_PG, help="also run on PostgreSQL (default URL: the test database)")
    args = ap.parse_args()
    print(f"machine: {describe()}")
    print(f"events: {args.events:,} (bench/replay_data.py, replayed ubuntu-irc)")
    run(sqlite_db(args.events), "SQLite")
    if args.pg:
        run(postgres_db(args.events, pg_url=args.pg), "PostgreSQL")


if __name__ == "__main__":
    main()
