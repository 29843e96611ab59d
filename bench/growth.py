"""Growth benchmarks: mall redemptions under contention, and the referral module's cost in a replay.

1. Mall: T threads (each its own connection) redeem from one item until it is sold out, on SQLite and
   PostgreSQL. Prints redemptions/s, latency percentiles, and checks nothing was oversold and the
   ledger balances.
2. Referral: a synthetic stream of N events (messages, joins with an inviter, leaves; 1 new member
   per 50 events) through the real pipeline with memory state and ledger, exactly as ``shequn
   backtest`` runs it (ticks once a simulated minute). Baseline: the same stream through a pipeline
   with no modules. Each run is its own process, so peak memory is its own.

    python bench/growth.py [--events 2000000] [--threads 8] [--stock 400] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_mib  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def bench_mall(url: str, threads: int, stock: int) -> dict:
    from sqlalchemy import func, select

    from shequn.domain.events import Author, Event, EventKind, GroupRef
    from shequn.engine.live import LiveIngest
    from shequn.mall import shop
    from shequn.playbook.loader import parse_playbook
    from shequn.points.ledger import DbLedger, check_ledger
    from shequn.store.db import open_engine
    from shequn.store.tables import communities, identities, mall_redemptions
    from datetime import datetime, timezone

    engine = open_engine(url)
    buyers = stock + stock // 2  # more buyers than stock: the tail of the run is all "sold out"
    g = GroupRef("bench", "g", "bench")
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    LiveIngest(engine, parse_playbook("community: bench\ntimezone: UTC\n")).receive(
        Event(g, f"m{i}", EventKind.MESSAGE, when, Author(f"u{i}", f"user {i}"), text="hi") for i in range(buyers)
    )
    with engine.begin() as conn:
        cid = conn.execute(select(communities.c.id).where(communities.c.name == "bench")).scalar_one()
        ids = list(conn.execute(select(identities.c.member_id).where(identities.c.community_id == cid)).scalars())
        ledger = DbLedger(conn, cid)
        for m in ids:
            ledger.post(member_id=m, amount=1000, rule="bench.fund", reason="bench", key=f"fund:{m}", at_ms=0)
        shop.add_item(conn, cid, "item", price=100, stock=stock)
    queue = list(ids)
    lock = threading.Lock()
    latencies: list[float] = []
    outcomes = {"ok": 0, "sold_out": 0, "error": 0}

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                member = queue.pop()
            t0 = time.perf_counter()
            try:
                with engine.begin() as conn:
                    shop.redeem(conn, cid, member, "item", ledger=DbLedger(conn, cid))
                kind = "ok"
            except shop.SoldOut:
                kind = "sold_out"
            except Exception:  # noqa: BLE001 - counted and reported, never hidden
                kind = "error"
            dt = time.perf_counter() - t0
            with lock:
                outcomes[kind] += 1
                latencies.append(dt)

    start = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    with engine.connect() as conn:
        codes = conn.execute(select(func.count()).select_from(mall_redemptions)).scalar_one()
        problems = check_ledger(conn, cid)
    engine.dispose()
    return {
        "attempts": len(latencies), **outcomes, "codes": codes, "oversold": codes > stock, "ledger_problems": len(problems),
        "per_s": len(latencies) / wall, "p50_ms": pct(latencies, 50) * 1000, "p95_ms": pct(latencies, 95) * 1000,
        "p99_ms": pct(latencies, 99) * 1000, "wall_s": wall,
    }


def synthetic_events(n: int):
    """Messages by existing members; every 50th event a join (invited by a random member, by name),
    every 200th a leave. Deterministic (fixed seed), generated lazily: memory does not grow with N."""
    import random

    from shequn.domain.events import EventKind, StoredEvent

    rng = random.Random(42)
    t = 1_704_067_200_000
    members = 50
    for i in range(n):
        t += 20_000
        if i % 50 == 0:
            members += 1
            kind, who, payload = EventKind.JOIN, members, {"invited_by_name": f"user {rng.randint(1, members - 1)}"}
        elif i % 200 == 7:
            kind, who, payload = EventKind.LEAVE, rng.randint(max(1, members - 300), members), {}
        else:
            kind, who, payload = EventKind.MESSAGE, rng.randint(max(1, members - 2000), members), {}
        yield StoredEvent(id=i + 1, community_id=1, group_id=1, group_name="g", platform="bench", platform_id=str(i), kind=kind,
                          at_ms=t, identity_id=who, member_id=who, member_name=f"user {who}", text="hi", reply_to=None, payload=payload)


def child_replay(which: str, n: int) -> None:
    from shequn.engine.module import Context
    from shequn.engine.outbox import SandboxOutbox
    from shequn.engine.pipeline import Pipeline
    from shequn.engine.people import OverlayPeople
    from shequn.engine.state import MemoryState
    from shequn.playbook.loader import parse_playbook
    from shequn.points.ledger import MemoryLedger

    text = "community: bench\ntimezone: UTC\n"
    if which == "referral":
        text += "referral: {stay_days: 7, min_messages: 1, points: 10, reward_every: 3, reward_points: 30, reward_tag: 裂变达人}\n"
    pipeline = Pipeline(parse_playbook(text))
    ctx = Context(community_id=1, timezone="UTC", now_ms=0, state=MemoryState(), sandbox=True)
    ctx.people = OverlayPeople()
    ctx.ledger = MemoryLedger(keep_history=10)
    outbox = SandboxOutbox()
    next_tick = None
    start = time.perf_counter()
    for ev in synthetic_events(n):
        ctx.now_ms = ev.at_ms
        if next_tick is None or ev.at_ms >= next_tick:
            pipeline.tick(ev.at_ms, ctx, outbox)
            next_tick = ev.at_ms - ev.at_ms % 60_000 + 60_000
        pipeline.handle(ev, ctx, outbox)
    wall = time.perf_counter() - start
    summary = pipeline.member_summary(ctx)
    vested = sum(f.get("vested_invites", 0) for f in summary.values())
    print(json.dumps({"events": n, "wall_s": wall, "per_s": n / wall, "peak_mib": peak_rss_mib(), "vested": vested, "actions": len(outbox.actions)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--stock", type=int, default=400)
    ap.add_argument("--pg", default=DEFAULT_PG)
    ap.add_argument("--child", nargs=2, metavar=("WHICH", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_replay(args.child[0], int(args.child[1]))
        return
    print(f"machine: {describe()}")
    from sqlalchemy import create_engine, text

    with tempfile.TemporaryDirectory() as d:
        results = {"sqlite": bench_mall(f"sqlite:///{d}/bench.db", args.threads, args.stock)}
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in args.pg else "?"
        results["postgresql"] = bench_mall(f"{args.pg}{sep}options=-csearch_path%3D{schema}", args.threads, args.stock)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    for db, r in results.items():
        print(f"mall {db}: {args.threads} threads, stock {args.stock}: {r['attempts']} attempts, {r['ok']} redeemed, {r['sold_out']} sold out, "
              f"{r['error']} errors, {r['codes']} codes, oversold={r['oversold']}, ledger problems={r['ledger_problems']}; "
              f"{r['per_s']:.0f} attempts/s, latency p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
    for which in ("baseline", "referral"):
        out = subprocess.run([sys.executable, __file__, "--child", which, str(args.events)], check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"replay {which}: {r['events']:,} events in {r['wall_s']:.1f} s = {r['per_s']:,.0f} events/s, peak memory {r['peak_mib']:.0f} MiB"
              + (f", {r['vested']:,} invites vested, {r['actions']:,} actions" if which == "referral" else ""))


if __name__ == "__main__":
    main()
