"""Points backtest: how long backtesting points and levels takes over N stored events (default 10 million),
events/s, per-event latency of the pipeline, peak memory, and the machine.

The events are the ubuntu-irc train split replayed into N events by ``bench/replay_data.py`` (a cached
SQLite file, or a PostgreSQL schema with ``--pg``). The playbook is the issue's contract plus a MEE6
level curve with names, i.e. points *and* levels:

    points:
      message: {award: 1, cooldown: 60s, daily_cap: 20}
      levels: {curve: mee6, names: [...]}

Figures:
- ``backtest``: the real ``shequn backtest`` path (``engine.backtest.run_backtest``: stored events streamed
  by ``store.event_reader`` through the pipeline, memory state, MemoryLedger) in one process, wall and CPU seconds;
- ``split``: the same with members split over one worker process per core (what ``shequn backtest`` does
  by default for this playbook), checked to give the same points, levels and actions;
- ``read only``: the same stream with no module, so the share of reading is visible;
- ``latency``: pipeline.handle per event (points module), percentiles over the first ``--latency-events``;
- peak RSS of the process (the backtest must stream: memory must not grow with N).

    python bench/points_backtest.py [--events 10000000] [--pg [URL]] [--latency-events 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_children_mib, peak_rss_mib  # noqa: E402
from replay_data import COMMUNITY, TIMEZONE, postgres_db, sqlite_db  # noqa: E402

from shequn.engine.backtest import MAX_AUTO_WORKERS, run_backtest  # noqa: E402
from shequn.engine.module import Context  # noqa: E402
from shequn.engine.outbox import SandboxOutbox  # noqa: E402
from shequn.engine.pipeline import Pipeline  # noqa: E402
from shequn.engine.state import MemoryState  # noqa: E402
from shequn.playbook.loader import parse_playbook  # noqa: E402
from shequn.points.ledger import MemoryLedger  # noqa: E402
from shequn.store.db import open_engine  # noqa: E402
from shequn.store.event_reader import iter_stored_events  # noqa: E402

PLAYBOOK = f"""community: {COMMUNITY}
timezone: {TIMEZONE}
points:
  message: {{award: 1, cooldown: 60s, daily_cap: 20}}
  levels: {{curve: mee6, names: [新人, 成员, 活跃, 达人, 专家, 大神]}}
"""


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the split backtest's workers)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def plan_workers_label() -> int:
    return min(os.cpu_count() or 1, MAX_AUTO_WORKERS)


def read_only(conn) -> int:
    n = 0
    for _ in iter_stored_events(conn, 1):
        n += 1
    return n


def latency(conn, playbook, limit: int) -> array:
    """Nanoseconds per pipeline.handle call (the points module's work for one event)."""
    pipeline = Pipeline(playbook)
    ctx = Context(community_id=1, timezone=playbook.timezone, now_ms=0, state=MemoryState(), sandbox=True,
                  ledger=MemoryLedger(keep_history=0))
    outbox, ns, clock = SandboxOutbox(), array("q"), time.perf_counter_ns
    for n, ev in enumerate(iter_stored_events(conn, 1)):
        if n >= limit:
            break
        ctx.now_ms = ev.at_ms
        t = clock()
        pipeline.handle(ev, ctx, outbox)
        ns.append(clock() - t)
    return ns


def pct(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def run(url: str, label: str, latency_events: int) -> None:
    engine = open_engine(url)
    playbook = parse_playbook(PLAYBOOK)
    with engine.connect() as conn:
        n_read, read_wall, read_cpu = timed(lambda: read_only(conn))
        print(f"  read only: {n_read:,} events in {read_wall:.1f} s wall, {read_cpu:.1f} s CPU", flush=True)
        result, wall, cpu = timed(lambda: run_backtest(conn, playbook, 1, workers=1))
        print(f"  one process: {wall:.1f} s wall", flush=True)
        split_start = time.perf_counter()
        split = run_backtest(conn, playbook, 1, workers=None)
        split_wall = time.perf_counter() - split_start
        split_cpu = children_cpu()
        lat = sorted(latency(conn, playbook, latency_events))
    if split.member_fields != result.member_fields or len(split.actions) != len(result.actions):
        raise SystemExit("the split backtest disagrees with the one-process backtest")
    fields = result.member_fields
    points = sum(f["points"] for f in fields.values())
    levels = sum(1 for f in fields.values() if f["level"] > 0)
    print(f"[{label}] {result.events:,} events backtested (points + levels)")
    print(f"  backtest:  {wall:8.1f} s wall  {cpu:8.1f} s CPU   {result.events / wall:>10,.0f} events/s wall  {result.events / cpu:>10,.0f} events/s CPU")
    workers = plan_workers_label()
    print(f"  split by member over {workers} worker processes: {split_wall:8.1f} s wall  {split_cpu:8.1f} s CPU (workers)  "
          f"{split.events / split_wall:>10,.0f} events/s wall  (same points, levels and actions as one process)")
    print(f"  read only: {read_wall:8.1f} s wall  {read_cpu:8.1f} s CPU   {n_read / read_wall:>10,.0f} events/s wall  (reading's share of the backtest CPU: {read_cpu / cpu:.0%})")
    print(f"  pipeline.handle latency over {len(lat):,} events: p50 {pct(lat, .5):.2f} µs  p95 {pct(lat, .95):.2f} µs  "
          f"p99 {pct(lat, .99):.2f} µs  max {lat[-1] / 1000:.0f} µs")
    print(f"  result: {len(fields):,} members, {points:,} points awarded, {levels:,} members above level 0")
    print(f"  peak RSS: {peak_rss_mib():,.0f} MiB (this process), {peak_rss_children_mib():,.0f} MiB (largest split worker)")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--pg", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1:5432/test", default=None,
                    help="backtest the PostgreSQL copy instead of SQLite (URL optional)")
    ap.add_argument("--latency-events", type=int, default=1_000_000)
    args = ap.parse_args()
    print(f"machine: {describe()}")
    try:
        with open("/proc/loadavg") as fh:
            print(f"load average at start: {fh.read().split()[0]} (other processes share these cores)")
    except OSError:
        pass
    url = postgres_db(args.events, pg_url=args.pg) if args.pg else sqlite_db(args.events)
    run(url, "postgresql" if args.pg else "sqlite", args.latency_events)


if __name__ == "__main__":
    main()
