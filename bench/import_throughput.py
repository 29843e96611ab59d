"""Import throughput and peak memory: `shequn import irc` over the whole ubuntu-irc train split on
SQLite and on PostgreSQL, against a bare baseline that parses the same lines with one regex and
bulk-inserts them into SQLite with no engine (no identities, no groups, no dedup bookkeeping).

Each measurement runs in a fresh child process so peak memory (ru_maxrss) is its own.

    python bench/import_throughput.py [--data ../shared/data/chat/ubuntu-irc/train] [--pg URL] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_children_mib, peak_rss_mib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "chat" / "ubuntu-irc" / "train"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LINE = re.compile(r"^\[(\d\d):(\d\d)\] <([^>]*)> ?(.*)$")


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the parser process): unlike wall time,
    barely affected by other work on a busy machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def baseline(data: Path, db: Path) -> dict:
    """Parse '[HH:MM] <nick> text' lines and executemany them into a single SQLite table."""
    files = sorted(f for f in data.glob("*.raw.txt"))
    start, cpu = time.perf_counter(), cpu_seconds()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE lines (file TEXT, line INTEGER, at TEXT, nick TEXT, text TEXT)")
    lines = 0
    batch = []
    for f in files:
        day = f.name[:10]
        with open(f, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh):
                lines += 1
                m = LINE.match(line)
                if m:
                    batch.append((f.name, n, f"{day}T{m.group(1)}:{m.group(2)}", m.group(3), m.group(4)))
                else:
                    batch.append((f.name, n, None, None, line.rstrip("\n")))
                if len(batch) >= 2000:
                    conn.executemany("INSERT INTO lines VALUES (?,?,?,?,?)", batch)
                    conn.commit()
                    batch.clear()
    conn.executemany("INSERT INTO lines VALUES (?,?,?,?,?)", batch)
    conn.commit()
    conn.close()
    return {"lines": lines, "seconds": time.perf_counter() - start, "cpu_s": cpu_seconds() - cpu}


def baseline_indexed(data: Path, db: Path) -> dict:
    """Same as baseline, but into our events table with its unique key and indexes (no engine):
    shows how much of the gap is the schema an event store needs rather than our code."""
    from shequn.store.db import open_engine

    open_engine(f"sqlite:///{db}").dispose()
    files = sorted(f for f in data.glob("*.raw.txt"))
    start, cpu = time.perf_counter(), cpu_seconds()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("INSERT INTO communities (id, name, timezone, created_ms) VALUES (1, 'b', 'UTC', 0)")
    conn.execute("INSERT INTO groups (id, community_id, platform, external_id, name, kind, created_ms) VALUES (1, 1, 'irc', 'g', 'g', 'other', 0)")
    sql = ("INSERT INTO events (community_id, group_id, identity_id, kind, at_ms, platform_id, text) VALUES (1, 1, NULL, ?, ?, ?, ?) "
           "ON CONFLICT (group_id, platform_id) DO NOTHING")
    lines = 0
    batch = []
    for f in files:
        stem = f.name.rsplit(".", 1)[0]
        with open(f, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh):
                lines += 1
                m = LINE.match(line)
                batch.append(("message" if m else "system", n, f"{stem}:{n}", m.group(4) if m else line))
                if len(batch) >= 2000:
                    conn.executemany(sql, batch)
                    conn.commit()
                    batch.clear()
    conn.executemany(sql, batch)
    conn.commit()
    conn.close()
    return {"lines": lines, "seconds": time.perf_counter() - start, "cpu_s": cpu_seconds() - cpu}


def make_big(data: Path, out: Path, copies: int) -> Path:
    """One IRC day file made of ``copies`` x every train line (a multi-hundred-MB export)."""
    big = out / "2020-01-01.big.txt"
    with open(big, "wb") as w:
        for _ in range(copies):
            for f in sorted(data.glob("*.raw.txt")):
                w.write(f.read_bytes())
    return big


def shequn_import(data: Path, url: str, parallel: bool | None = None) -> dict:
    from shequn.importers.registry import get_importer
    from shequn.importers.runner import run_import
    from shequn.store.db import open_engine

    engine = open_engine(url)  # migrations are applied here, outside the timed part
    start, cpu = time.perf_counter(), cpu_seconds()
    summary = run_import(engine, get_importer("irc"), [data], community="bench", group="#ubuntu", parallel=parallel)
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    engine.dispose()
    return {"lines": summary.added + summary.duplicates + summary.rejected, "added": summary.added, "seconds": seconds, "cpu_s": cpu}


def child(args) -> None:
    data = Path(args.data)
    if args.child == "baseline":
        out = baseline(data, Path(args.target))
    elif args.child == "baseline-indexed":
        out = baseline_indexed(data, Path(args.target))
    else:
        out = shequn_import(data, args.target, {"auto": None, "on": True, "off": False}[args.parallel])
    out["peak_rss_mib"] = peak_rss_mib()
    out["parser_rss_mib"] = peak_rss_children_mib()  # the parser process of a big import (0 if none ran)
    print(json.dumps(out))


def run_child(kind: str, data: Path, target: str, parallel: str = "auto") -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--data", str(data), "--target", target, "--parallel", parallel],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pg_schema_url(pg: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", f"CREATE SCHEMA {schema}"], check=True)
    return schema, f"{pg}?options=-csearch_path%3D{schema}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--pg", default=os.environ.get("SHEQUN_TEST_PG", DEFAULT_PG))
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the best is reported")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--big", type=int, default=5, help="also import one file this many times the split's size (0: skip)")
    ap.add_argument("--parallel", choices=["auto", "on", "off"], default="auto",
                    help="shequn import: parse in a second process (auto: when the input is big and a core is idle)")
    ap.add_argument("--child")
    ap.add_argument("--target")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    data = Path(args.data)
    if not data.exists():
        raise SystemExit(f"data not found: {data}")
    size = sum(f.stat().st_size for f in data.glob("*.raw.txt"))
    print(f"machine: {describe()}")
    print(f"data: {data} ({len(list(data.glob('*.raw.txt')))} files, {size / 1e6:.1f} MB)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["baseline (sqlite3, no engine)", "baseline, same indexed table", "shequn import (SQLite)"] + ([] if args.no_pg else ["shequn import (PostgreSQL)"]):
            runs = []
            for i in range(args.repeat):
                if name.startswith("baseline ("):
                    r = run_child("baseline", data, str(Path(tmp) / f"base{i}.db"))
                elif name.startswith("baseline,"):
                    r = run_child("baseline-indexed", data, str(Path(tmp) / f"based{i}.db"))
                elif "SQLite" in name:
                    r = run_child("shequn", data, f"sqlite:///{Path(tmp) / f'shequn{i}.db'}", args.parallel)
                else:
                    schema, url = pg_schema_url(args.pg)
                    try:
                        r = run_child("shequn", data, url, args.parallel)
                    finally:
                        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", f"DROP SCHEMA {schema} CASCADE"],
                                       check=True, env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})  # no NOTICE per table
                runs.append(r)
            best = min(runs, key=lambda r: r["seconds"])
            best["lines_per_s"] = best["lines"] / best["seconds"]
            best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
            best["parser_rss_mib"] = max(r["parser_rss_mib"] for r in runs)
            best["cpu_s"] = min(r["cpu_s"] for r in runs)
            results[name] = best
            parser = f" + parser process {best['parser_rss_mib']:5.1f} MiB" if best["parser_rss_mib"] else ""
            print(f"{name:32s} {best['lines']:>9,} lines  {best['seconds']:7.2f} s  {best['lines_per_s']:>10,.0f} lines/s  "
                  f"CPU {best['cpu_s']:6.2f} s  peak RSS {best['peak_rss_mib']:6.1f} MiB{parser}  (best of {len(runs)})")
    base = results["baseline (sqlite3, no engine)"]
    for name, r in results.items():
        if name != "baseline (sqlite3, no engine)":
            print(f"ratio {name} / baseline: {r['lines_per_s'] / base['lines_per_s']:.2f} (wall)  {base['cpu_s'] / r['cpu_s']:.2f} (CPU time)")
    if args.big:
        # Memory must not grow with file size: one file args.big times the size of the whole split.
        with tempfile.TemporaryDirectory() as tmp:
            big = make_big(data, Path(tmp), args.big)
            r = run_child("shequn", big.parent, f"sqlite:///{Path(tmp) / 'big.db'}")
            print(
                f"single {big.stat().st_size / 1e6:.0f} MB file ({args.big}x the split): {r['lines']:,} lines in {r['seconds']:.1f} s, "
                f"{r['lines'] / r['seconds']:,.0f} lines/s, peak RSS {r['peak_rss_mib']:.1f} MiB + parser {r['parser_rss_mib']:.1f} MiB "
                f"(vs {results['shequn import (SQLite)']['peak_rss_mib']:.1f} MiB for the {size / 1e6:.0f} MB split)"
            )


if __name__ == "__main__":
    main()
