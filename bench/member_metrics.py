"""Member metrics at scale: each step behind `shequn members` (and the member sections of
`shequn insights`) timed on the replayed N-event community of bench/replay_data.py, with peak memory.

Steps: load the frame with text (ConnectorX), resolve addressee names, interactions, activity score,
pyramid and 80/95 bands, status and newcomer/churn periods, recall list, response time, reply graph
centrality (sampled betweenness), absence factor, churn risk (fit + score), then the whole member table
once more in one call. Reply inference is measured by bench/reply_inference.py and not repeated here
(the replayed IRC copies carry addressees, which become mention edges).

    python bench/member_metrics.py [--events 10000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_mib  # noqa: E402
from replay_data import sqlite_db  # noqa: E402

from shequn.insights import activity, churn, graph, membership, pyramid, recall, response  # noqa: E402
from shequn.insights.frame import community_tz, load_frame  # noqa: E402
from shequn.insights.interactions import interactions, member_names  # noqa: E402
from shequn.insights.member_table import build_member_table  # noqa: E402
from shequn.store.db import open_engine  # noqa: E402
from shequn.store.tables import communities  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    args = ap.parse_args()
    print(f"machine: {describe()}")
    url = sqlite_db(args.events)
    times: dict[str, float] = {}

    def step(name, fn):
        t = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t
        print(f"  {name:<28} {times[name]:8.2f} s   peak {peak_rss_mib():7.0f} MiB", flush=True)
        return out

    eng = open_engine(url)
    with eng.connect() as conn:
        cid = conn.execute(select(communities.c.id).where(communities.c.name == "replay")).scalar_one()
        tz = community_tz(conn, cid)
        frame = step("load frame (with text)", lambda: load_frame(conn, cid, with_text=True))
        names = step("member names", lambda: member_names(conn, cid))
    eng.dispose()
    as_of = int(frame["at_ms"].max()) + 1
    print(f"events {frame.height:,}; SQLite {url}")
    inter = step("interactions", lambda: interactions(frame, names=names))
    resp = step("response: first responses", lambda: response.first_responses(frame, inter))
    summary = step("response: summary", lambda: response.response_summary(resp, as_of_ms=as_of))
    step("activity score", lambda: activity.activity_scores(frame, as_of_ms=as_of, interactions=inter, answers=resp))
    step("pyramid tiers", lambda: pyramid.member_tiers(frame, as_of_ms=as_of, tz=tz))
    step("80/95 bands", lambda: pyramid.activity_bands(frame, as_of_ms=as_of))
    step("member status", lambda: membership.member_status(frame, as_of_ms=as_of))
    step("newcomer/churn periods", lambda: membership.membership_periods(frame, as_of_ms=as_of, tz=tz))
    rec = step("recall list", lambda: recall.recall_list(frame, as_of_ms=as_of, tz=tz))
    cen = step("centrality (PageRank, betw.)", lambda: graph.centrality(inter))
    step("absence factor", lambda: graph.absence_factor(frame))
    risk, info = step("churn risk (fit + score)", lambda: churn.churn_risk(frame, as_of_ms=as_of, tz=tz, interactions=inter))
    table = step("member table (all in one)", lambda: build_member_table(frame, tz=tz, as_of_ms=as_of, interactions=inter))
    print(f"interactions {inter.height:,}; questions {summary['questions']:,} (answered {summary['answered']:,}, "
          f"median {summary['median_s']} s); recall list {rec.height:,}; graph members {cen.height:,}; "
          f"at risk {int(risk['at_risk'].sum()):,} of {risk.height:,} ({info['model']}, {info['examples']:,} examples); "
          f"table rows {len(table.rows):,}")
    metrics = sum(v for k, v in times.items() if k not in ("load frame (with text)", "member names", "member table (all in one)"))
    print(f"metrics total {metrics:.1f} s (without loading); member table in one call {times['member table (all in one)']:.1f} s; "
          f"peak memory {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    pl.Config.set_tbl_rows(5)
    main()
