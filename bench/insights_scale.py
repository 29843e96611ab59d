"""`shequn insights --json` at scale: N events (default 10 million) replayed from ubuntu-irc, on SQLite and PostgreSQL.

For each database it measures, each in a fresh process so peak memory is its own:
- cold: ``build_insights`` with an empty frame cache (every event column read from the store);
- warm: the same again with the cache the cold run left (only newer events are read; the normal
  case for an operator who runs insights every day);
- cli: one real ``shequn --db URL insights --json`` process (warm cache), output thrown away.
Each line prints wall time, the per-section times the document reports, and peak RSS of the
process (plus its SQLite reader child). Data comes from bench/replay_data.py (cached under /tmp).

    python bench/insights_scale.py [--events N] [--pg URL] [--no-pg] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import describe, peak_rss_children_mib, peak_rss_mib  # noqa: E402

TARGET_S = 10.0


def child(url: str) -> None:
    """Runs in its own process: one build_insights call, figures as JSON on stdout."""
    from shequn.insights.summary import build_insights
    from shequn.store.db import open_engine

    engine = open_engine(url)
    start = time.perf_counter()
    with engine.connect() as conn:
        doc = build_insights(conn, 1)
    seconds = time.perf_counter() - start
    body = json.dumps(doc, ensure_ascii=False)
    print(json.dumps({
        "seconds": seconds, "events": doc["events"], "json_bytes": len(body), "timings": doc["timings_s"],
        "rss_mib": peak_rss_mib(), "reader_rss_mib": peak_rss_children_mib(),
        "stages": doc["stages"], "groups": len(doc["groups"]), "mau": doc["actives"]["mau"],
    }))


def run_child(url: str, cache: Path) -> dict:
    env = {**os.environ, "SHEQUN_CACHE": str(cache)}
    out = subprocess.run([sys.executable, __file__, "--child", url], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_cli(url: str, cache: Path) -> dict:
    env = {**os.environ, "SHEQUN_CACHE": str(cache)}
    shequn = shutil.which("shequn") or "shequn"
    # /proc-free peak RSS of the CLI process: wrap it in a tiny Python that reports its child's rusage
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, r.returncode)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, shequn, "--db", url, "insights", "--json"], env=env,
                         capture_output=True, text=True, check=False)
    seconds, rss, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"shequn insights failed:\n{out.stderr[-3000:]}")
    return {"seconds": float(seconds), "rss_mib": float(rss)}


def show(label: str, r: dict) -> None:
    flag = "" if r["seconds"] <= TARGET_S else f"  (over the {TARGET_S:g} s target)"
    extra = f", reader child {r['reader_rss_mib']:.0f} MiB" if r.get("reader_rss_mib") else ""
    print(f"  {label:<5} {r['seconds']:7.2f} s   peak RSS {r['rss_mib']:.0f} MiB{extra}{flag}")
    if "timings" in r:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["timings"].items(), key=lambda kv: -kv[1]))
        print(f"        sections (s): {parts}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--pg", default=None, help="PostgreSQL server URL (default: the test server on 127.0.0.1)")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    import replay_data

    print(f"machine: {describe()}")
    print(f"shequn insights --json on {args.events:,} events replayed from ubuntu-irc (target {TARGET_S:g} s)")
    targets = []
    if not args.no_sqlite:
        targets.append(("SQLite", replay_data.sqlite_db(args.events)))
    if not args.no_pg:
        targets.append(("PostgreSQL", replay_data.postgres_db(args.events, **({"pg_url": args.pg} if args.pg else {}))))
    for name, url in targets:
        cache = Path(tempfile.mkdtemp(prefix="shequn-bench-cache-"))
        try:
            cold = run_child(url, cache)
            print(f"{name}: {cold['events']:,} events, {cold['groups']} groups, stages {cold['stages']}, "
                  f"MAU {cold['mau']:,}, JSON {cold['json_bytes'] / 1024:.0f} KiB")
            show("cold", cold)
            show("warm", run_child(url, cache))
            show("cli", run_cli(url, cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
