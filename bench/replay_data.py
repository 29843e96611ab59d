"""Benchmark data: N events (default 10 million) replayed from the real ubuntu-irc train split.

The train split (about 220,000 lines over 153 sampled days of #ubuntu) is parsed once with the real
IRC importer into a template: per line its day index, time of day, kind, author nick, text, platform
id and payload. The template is then replayed as many times as needed, each copy a group of its own:

- copy ``k`` is group ``#ubuntu-KKK``; its 153 days are laid end to end starting ``k * 7`` days after
  2024-01-01 UTC, so about 46 groups of five months each overlap like a real community's groups
  (times of day, per-day volume, bursts and quiet days are the real ones);
- members are remapped per *era* of 4 consecutive groups: nick ``n`` in copy ``k`` is the identity
  ``n~<k // 4>`` (display name ``n``), so members carry over into the next groups for a while and
  then turn over, as members do when an operator moves them to a fresh group;
- the last copy is cut so that exactly N events are written.

Events are written in bulk through ADBC (SQLite: prepared inserts in C; PostgreSQL: binary COPY) into
a database migrated by the real schema, so every shequn command works on it. The SQLite file is
cached under /tmp/shequn-replay/ keyed by N (and a format version); reruns reuse it. PostgreSQL data
goes into schema ``replay_<N>`` and is reused when it holds N events.

API::

    from replay_data import sqlite_db, postgres_db
    url = sqlite_db(10_000_000)            # "sqlite:////tmp/shequn-replay/replay-v1-10000000.db"
    url = postgres_db(10_000_000)          # "postgresql+psycopg://...?options=-csearch_path%3Dreplay_10000000"
    # community "replay" (Asia/Shanghai) is community id 1 in either database

Command line: ``python bench/replay_data.py [--events N] [--pg [URL]] [--fresh]`` prints the URL(s).
Needs ``pip install adbc-driver-sqlite adbc-driver-postgresql`` (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import quote

import orjson
import polars as pl
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("SHEQUN_SHARED_DATA", ROOT.parent / "shared" / "data")) / "chat" / "ubuntu-irc" / "train"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CACHE = Path(os.environ.get("SHEQUN_REPLAY_CACHE", "/tmp/shequn-replay"))
VERSION = "v1"  # bump when the generated data changes: old cache files are then ignored
COMMUNITY = "replay"
TIMEZONE = "Asia/Shanghai"
BASE_MS = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
DAY_MS = 86_400_000
STAGGER_DAYS = 7
GROUPS_PER_ERA = 4


def template(data: Path = DEFAULT_DATA) -> pl.DataFrame:
    """The train split as one frame: day (file index), offset_ms (from that day's 00:00 UTC), kind, nick,
    text, platform_id, payload (JSON text or null). Parsed by the real importer."""
    sys.path.insert(0, str(ROOT / "src"))
    from shequn.domain.events import Event
    from shequn.importers.base import ImportOptions, Source
    from shequn.importers.irc import read

    files = sorted(data.glob("*.raw.txt"))
    if not files:
        raise SystemExit(f"no ubuntu-irc day files under {data}")
    cols: dict[str, list] = {k: [] for k in ("day", "offset_ms", "kind", "nick", "text", "platform_id", "payload")}
    opts = ImportOptions(tz=timezone.utc)
    for day, f in enumerate(files):
        y, m, d = map(int, f.name[:10].split("-"))
        midnight = int(datetime(y, m, d, tzinfo=timezone.utc).timestamp() * 1000)
        for ev in read(Source(f), opts):
            if not isinstance(ev, Event):
                continue
            cols["day"].append(day)
            cols["offset_ms"].append(ev.at_ms - midnight)
            cols["kind"].append(ev.kind.value)
            cols["nick"].append(ev.author.external_id if ev.author else None)
            cols["text"].append(ev.text)
            cols["platform_id"].append(ev.platform_id)
            cols["payload"].append(orjson.dumps(ev.payload).decode() if ev.payload else None)
    return pl.DataFrame(cols, schema={"day": pl.Int64, "offset_ms": pl.Int64, "kind": pl.String, "nick": pl.String,
                                      "text": pl.String, "platform_id": pl.String, "payload": pl.String})


def plan(n_events: int, per_copy: int) -> list[int]:
    """Events taken from each copy: full copies, then a cut last one."""
    sizes = [per_copy] * (n_events // per_copy)
    if n_events % per_copy:
        sizes.append(n_events % per_copy)
    return sizes


def _people(tpl: pl.DataFrame, sizes: list[int]) -> pl.DataFrame:
    """One identity (and member) per (era, nick) that speaks or acts in the copies of that era."""
    nicks_by_len = {}
    frames = []
    for k, size in enumerate(sizes):
        key = size
        if key not in nicks_by_len:
            nicks_by_len[key] = tpl.head(size).select(pl.col("nick").drop_nulls().unique())
        frames.append(nicks_by_len[key].with_columns(era=pl.lit(k // GROUPS_PER_ERA, pl.Int64)))
    people = pl.concat(frames).unique(subset=["era", "nick"]).sort("era", "nick")
    return people.with_row_index("identity_id", offset=1).with_columns(
        pl.col("identity_id").cast(pl.Int64),
        (pl.col("nick") + "~" + pl.col("era").cast(pl.String)).alias("external_id"),
    )


def _copy(tpl: pl.DataFrame, people: pl.DataFrame, k: int, size: int, group_id: int) -> pa.Table:
    start = BASE_MS + k * STAGGER_DAYS * DAY_MS
    ids = people.filter(pl.col("era") == k // GROUPS_PER_ERA).select("nick", "identity_id")
    df = tpl.head(size).join(ids, on="nick", how="left", maintain_order="left")
    return df.select(
        pl.lit(1, pl.Int32).alias("community_id"),
        pl.lit(group_id, pl.Int32).alias("group_id"),
        pl.col("identity_id").cast(pl.Int32),
        pl.col("kind"),
        (start + pl.col("day") * DAY_MS + pl.col("offset_ms")).alias("at_ms"),
        pl.col("platform_id"),
        pl.lit(None, pl.String).alias("reply_to"),
        pl.col("text"),
        pl.col("payload"),
    ).to_arrow()


def _write(url: str, adbc_connect, adbc_target: str, n_events: int, data: Path, schema: str | None = None) -> None:
    """Create the schema with the real migrations, then bulk-write groups, members, identities and events."""
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import text

    from shequn.store.db import open_engine
    from shequn.store.directory import ensure_community
    from shequn.store.tables import events

    t0 = time.perf_counter()
    tpl = template(data)
    sizes = plan(n_events, tpl.height)
    people = _people(tpl, sizes)
    engine = open_engine(url)
    now = int(time.time() * 1000)
    with engine.begin() as conn:
        cid = ensure_community(conn, COMMUNITY, TIMEZONE)
        assert cid == 1, "replay data expects a fresh database"
        for index in events.indexes:  # built once at the end: far cheaper than updating them row by row
            index.drop(conn)
    engine.dispose()
    groups = pa.table({
        "id": pa.array(range(1, len(sizes) + 1), pa.int32()),
        "community_id": pa.array([cid] * len(sizes), pa.int32()),
        "platform": ["irc"] * len(sizes),
        "external_id": [f"#ubuntu-{k:03d}" for k in range(len(sizes))],
        "name": [f"#ubuntu-{k:03d}" for k in range(len(sizes))],
        "kind": ["other"] * len(sizes),
        "created_ms": pa.array([BASE_MS + k * STAGGER_DAYS * DAY_MS for k in range(len(sizes))], pa.int64()),
    })
    member_rows = people.select(
        pl.col("identity_id").cast(pl.Int32).alias("id"), pl.lit(cid, pl.Int32).alias("community_id"),
        pl.col("nick").alias("display_name"), pl.lit(now, pl.Int64).alias("created_ms"),
    ).to_arrow()
    identity_rows = people.select(
        pl.col("identity_id").cast(pl.Int32).alias("id"), pl.lit(cid, pl.Int32).alias("community_id"),
        pl.lit("irc").alias("platform"), pl.col("external_id"), pl.col("nick").alias("display_name"),
        pl.lit(False).alias("is_bot"), pl.col("identity_id").cast(pl.Int32).alias("member_id"),
    ).to_arrow()
    with adbc_connect(adbc_target) as db:
        with db.cursor() as cur:
            kw = {"db_schema_name": schema} if schema else {}
            cur.adbc_ingest("groups", groups, mode="append", **kw)
            cur.adbc_ingest("members", member_rows, mode="append", **kw)
            cur.adbc_ingest("identities", identity_rows, mode="append", **kw)
            written = 0
            for k, size in enumerate(sizes):
                cur.adbc_ingest("events", _copy(tpl, people, k, size, k + 1), mode="append", **kw)
                written += size
                print(f"  replay: {written:,} / {n_events:,} events", file=sys.stderr, end="\r")
        db.commit()
    print(file=sys.stderr)
    engine = open_engine(url, migrate=False)
    with engine.begin() as conn:
        for index in events.indexes:
            index.create(conn)
        if engine.dialect.name == "postgresql":  # explicit ids were written: move the sequences past them
            for table in ("groups", "members", "identities"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"  replay: wrote {n_events:,} events, {len(sizes)} groups, {people.height:,} members in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)


def sqlite_db(n_events: int = 10_000_000, *, data: Path = DEFAULT_DATA, fresh: bool = False) -> str:
    """URL of an SQLite file holding the replayed events (built once, then cached under /tmp)."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    CACHE.mkdir(parents=True, exist_ok=True)
    final = CACHE / f"replay-{VERSION}-{n_events}.db"
    if final.exists() and not fresh:
        return f"sqlite:///{final}"
    building = final.with_suffix(f".building-{os.getpid()}")
    for stale in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        stale.unlink(missing_ok=True)
    _write(f"sqlite:///{building}", adbc_sqlite.connect, str(building), n_events, data)
    for side in ("-wal", "-shm"):
        Path(f"{building}{side}").unlink(missing_ok=True)
    building.replace(final)  # only a finished file gets the cache name
    return f"sqlite:///{final}"


def postgres_db(n_events: int = 10_000_000, *, pg_url: str = DEFAULT_PG, data: Path = DEFAULT_DATA, fresh: bool = False) -> str:
    """URL (search_path set) of PostgreSQL schema ``replay_<N>`` holding the replayed events."""
    import adbc_driver_postgresql.dbapi as adbc_pg
    from sqlalchemy import create_engine, text

    schema = f"replay_{VERSION}_{n_events}"
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = 'events'"),
                              {"s": schema}).first()
        count = conn.execute(text(f'SELECT count(*) FROM "{schema}".events')).scalar() if exists else None
        if count == n_events and not fresh:
            admin.dispose()
            return url
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    _write(url, adbc_pg.connect, libpq, n_events, data, schema=schema)
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--pg", nargs="?", const=DEFAULT_PG, default=None, help="also build the PostgreSQL schema (URL optional)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--fresh", action="store_true", help="rebuild even if cached")
    args = ap.parse_args()
    print(sqlite_db(args.events, data=args.data, fresh=args.fresh))
    if args.pg:
        print(postgres_db(args.events, pg_url=args.pg, data=args.data, fresh=args.fresh))


if __name__ == "__main__":
    main()
