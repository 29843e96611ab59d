"""The analytics frame: one community's events as a Polars DataFrame, one row per event.

Every insight (actives, lifecycle, cohorts, member scores, reply graph ...) is a pure function over
this frame, so the store is read once per report and never row by row in Python. Building 10 million
Python tuples would take longer than all the metrics together; instead the columns travel straight
from the database into Arrow memory:

- SQLite file and PostgreSQL: ConnectorX reads the query in two id-range partitions on two threads
  (PostgreSQL through binary ``COPY``) straight into Arrow buffers; for SQLite it runs in a child
  process (``shequn.insights.sqlite_reader`` says why);
- big communities keep an incremental columnar copy (``shequn.insights.frame_cache``), so a load
  reads only what was stored since the last one;
- anything else (an in-memory SQLite database): the connection's own cursor, fetched in large chunks
  into Arrow arrays; slower, but it sees exactly what ``conn`` sees.

ConnectorX opens its own connections, so it reads what is *committed*; pass ``isolated=True`` to read
through ``conn`` itself (e.g. inside an uncommitted transaction).

Members are resolved through identities (events point at identities, identities at members), so an
operator's merge of two accounts shows up at once without rewriting events. ``to`` is the addressee
a source recorded in ``payload["to"]`` (IRC ``nick: ...``), else null.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
from sqlalchemy import Connection

from shequn.domain.events import EventKind
from shequn.store.directory import community_timezone

#: ``kind`` is an Enum over every EventKind value: comparisons are integer compares, memory one byte a row.
KIND = pl.Enum([k.value for k in EventKind])

SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64,
    "group_id": pl.Int64,
    "member_id": pl.Int64,
    "is_bot": pl.Boolean,
    "kind": KIND,
    "at_ms": pl.Int64,
    "platform_id": pl.String,
    "reply_to": pl.String,
    "to": pl.String,
}

RAW_SCHEMA = {"id": pl.Int64, "group_id": pl.Int64, "identity_id": pl.Int64, "kind": KIND, "at_ms": pl.Int64,
              "platform_id": pl.String, "reply_to": pl.String, "to_": pl.String}

_CHUNK = 200_000  # rows per fetch on the cursor path: big enough to amortise, small enough to bound memory


class FrameError(RuntimeError):
    """The events could not be read into a frame (the message says what to check)."""


def community_tz(conn: Connection, community_id: int) -> str:
    """The community's IANA time zone name: every day/week boundary in insights is taken in it."""
    name = community_timezone(conn, community_id)
    ZoneInfo(name)  # stored names are checked on write; fail here too rather than bucket in a wrong zone
    return name


def load_frame(
    conn: Connection,
    community_id: int,
    *,
    group_ids: Iterable[int] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    with_text: bool = False,
    isolated: bool = False,
    cache: bool = True,
    identities: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per event of the community (``since_ms <= at_ms < until_ms``), sorted by (at_ms, id).

    Columns: id, group_id, member_id (null without author), is_bot, kind, at_ms (UTC epoch ms),
    platform_id, reply_to, to, and text when ``with_text``. ``isolated`` reads through ``conn``
    (sees its uncommitted writes) instead of the faster parallel reader. ``cache``: keep and reuse
    an incremental columnar copy of big communities (``shequn.insights.frame_cache``).
    ``identities``: the community's identities (``read_identities``) when the caller has read them.
    """
    people = identities if identities is not None else read_identities(conn, community_id)
    url = None if isolated else _connectorx_url(conn)
    if url is not None and not with_text and cache:
        ev = _cached_events(conn, url, community_id)
        ev = _filter(ev, group_ids, since_ms, until_ms)
        return _assemble(ev, people, False)
    sql = _events_sql(conn.dialect.name, community_id, group_ids, since_ms, until_ms, with_text)
    if url is not None:
        ev = _read_connectorx(url, sql)
    else:
        ev = _read_cursor(conn, sql)
    return _assemble(ev, people, with_text)


def _cached_events(conn: Connection, url: str, community_id: int) -> pl.DataFrame:
    """Raw event columns of the whole community: the cached ones plus whatever was stored since."""
    from shequn.insights.frame_cache import MIN_ROWS, FrameCache

    cache = FrameCache(url, community_id)
    with cache.locked():
        meta = cache.meta()
        if meta is not None and not _sentinels_hold(conn, meta):
            cache.clear()
            meta = None
        after = meta["last"]["id"] if meta else None
        if meta is not None and not _newer_events(conn, community_id, after):
            return cache.read(meta)  # nothing new: no reader process to start (a few tenths of a second)
        delta = pl.from_arrow(_read_connectorx(url, _events_sql(conn.dialect.name, community_id, None, None, None, False, after_id=after)))
        delta = _raw(delta)
        if delta.height and (meta is not None or delta.height >= MIN_ROWS):
            meta = cache.append(meta, delta, community_id)
            return cache.read(meta)
        return pl.concat([cache.read(meta), delta]) if meta else delta


def _newer_events(conn: Connection, community_id: int, after_id: int) -> bool:
    """Whether the community has an event with an id above ``after_id`` (one primary-key probe)."""
    from sqlalchemy import select

    from shequn.store.tables import events

    q = select(events.c.id).where(events.c.id > int(after_id), events.c.community_id == community_id).limit(1)
    return conn.execute(q).first() is not None


def _sentinels_hold(conn: Connection, meta: dict) -> bool:
    """The first and last cached events are still stored unchanged (else the database was replaced)."""
    from sqlalchemy import select

    from shequn.store.tables import events

    if "community_id" not in meta:
        return False
    want = {s["id"]: s for s in (meta["first"], meta["last"])}
    rows = conn.execute(
        select(events.c.id, events.c.at_ms, events.c.platform_id, events.c.group_id).where(events.c.id.in_(list(want)))
    ).all()
    got = {r.id: {"id": r.id, "at_ms": r.at_ms, "platform_id": r.platform_id, "group_id": r.group_id} for r in rows}
    if got != want:
        return False
    if conn.dialect.name == "postgresql":
        # PostgreSQL hands out ids when rows are inserted, not when they commit: a long import may commit
        # ids below ones a load has already cached. Counting the cached id range catches that (SQLite has
        # one writer at a time, so its ids always commit in order).
        from sqlalchemy import func

        stored = conn.execute(select(func.count()).select_from(events).where(
            events.c.community_id == meta["community_id"], events.c.id <= meta["last"]["id"])).scalar_one()
        return stored == meta["rows"]
    return True


def _raw(df: pl.DataFrame) -> pl.DataFrame:
    """The cached form of the event columns: fixed types, kind as the Enum, '' addressees as null."""
    if df.height == 0:
        return pl.DataFrame(schema=RAW_SCHEMA)
    return df.select(
        pl.col("id").cast(pl.Int64), pl.col("group_id").cast(pl.Int64), pl.col("identity_id").cast(pl.Int64),
        pl.col("kind").cast(pl.String).cast(KIND), pl.col("at_ms").cast(pl.Int64), pl.col("platform_id").cast(pl.String),
        pl.col("reply_to").cast(pl.String), pl.col("to_").cast(pl.String),
    )


def _filter(df: pl.DataFrame, group_ids, since_ms, until_ms) -> pl.DataFrame:
    cond = pl.lit(True)
    if group_ids is not None:
        cond &= pl.col("group_id").is_in(sorted({int(g) for g in group_ids}))
    if since_ms is not None:
        cond &= pl.col("at_ms") >= int(since_ms)
    if until_ms is not None:
        cond &= pl.col("at_ms") < int(until_ms)
    return df.filter(cond)


def empty_frame(*, with_text: bool = False) -> pl.DataFrame:
    schema = dict(SCHEMA)
    if with_text:
        schema["text"] = pl.String
    return pl.DataFrame(schema=schema)


def _events_sql(dialect: str, community_id: int, group_ids, since_ms, until_ms, with_text: bool, after_id: int | None = None) -> str:
    """The events query. Every value inlined is an int (checked), so there is nothing to inject."""
    # ConnectorX types an SQLite expression column by its first value, so a null there would fail the
    # read: the addressee travels as '' when absent and becomes null again in ``_assemble``.
    to = "json_extract(payload, '$.to')" if dialect == "sqlite" else "(payload::json ->> 'to')"
    cols = f"id, group_id, identity_id, kind, at_ms, platform_id, reply_to, COALESCE(CAST({to} AS TEXT), '') AS to_"
    if with_text:
        cols += ", text"
    where = [f"community_id = {int(community_id)}"]
    if group_ids is not None:
        ids = sorted({int(g) for g in group_ids})
        where.append(f"group_id IN ({', '.join(map(str, ids))})" if ids else "1 = 0")
    if since_ms is not None:
        where.append(f"at_ms >= {int(since_ms)}")
    if until_ms is not None:
        where.append(f"at_ms < {int(until_ms)}")
    if after_id is not None:
        where.append(f"id > {int(after_id)}")
    return f"SELECT {cols} FROM events WHERE {' AND '.join(where)}"


def display_names(conn: Connection, community_id: int) -> dict[int, str]:
    """Member id -> display name for the community, through the driver's cursor (SQLAlchemy rows for
    300k members cost three times the fetch itself)."""
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(f"SELECT id, display_name FROM members WHERE community_id = {int(community_id)}")
        return dict(cur.fetchall())
    finally:
        cur.close()


def read_identities(conn: Connection, community_id: int) -> pl.DataFrame:
    """``identity_id, member_id, is_bot, external_id, display_name`` of every identity of the community,
    read once for everything that needs them (the frame's member ids, the names mentions resolve to).
    Identities are few (one per account): read through ``conn`` itself, no reader process needed."""
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute("SELECT id, member_id, is_bot, external_id, display_name FROM identities "
                    f"WHERE community_id = {int(community_id)}")
        rows = cur.fetchall()
    finally:
        cur.close()
    schema = {"identity_id": pl.Int64, "member_id": pl.Int64, "is_bot": pl.Boolean, "external_id": pl.Utf8, "display_name": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _connectorx_url(conn: Connection) -> str | None:
    """A URL ConnectorX understands for this connection, or None when only ``conn`` can see the data."""
    url = conn.engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        from pathlib import Path

        return f"sqlite://{Path(url.database).resolve()}"
    if backend == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _read_connectorx(url: str, sql: str, *, split: bool = True) -> pa.Table:
    # Two partitions = the two cores; ConnectorX splits the id range and reads both halves at once.
    partition = "id" if split and sql.startswith("SELECT id,") else None
    try:
        if url.startswith("sqlite:"):  # never in this process: see shequn.insights.sqlite_reader
            from shequn.insights.sqlite_reader import read_sqlite

            return read_sqlite(url, sql, partition_on=partition)
        import connectorx as cx

        kw = {"partition_on": partition, "partition_num": 2} if partition else {}
        return cx.read_sql(url, sql, return_type="arrow", **kw)
    except Exception as exc:  # noqa: BLE001 - ConnectorX raises bare RuntimeErrors; say which database
        raise FrameError(f"cannot read events for insights: {exc}") from exc


def _read_cursor(conn: Connection, sql: str) -> pa.Table:
    """Fallback reader: the DBAPI cursor in big chunks, each turned into Arrow at once (columns, not rows)."""
    driver = conn.connection.driver_connection
    cur = driver.cursor()
    try:
        cur.execute(sql)
        names = [d[0] for d in cur.description]
        batches = []
        while rows := cur.fetchmany(_CHUNK):
            cols = list(zip(*rows))
            batches.append(pa.table({n: pa.array(c) for n, c in zip(names, cols)}))
    finally:
        cur.close()
    if not batches:
        return pa.table({n: pa.array([], type=pa.null()) for n in names})
    return pa.concat_tables(batches, promote_options="permissive")


def _assemble(ev: pa.Table | pl.DataFrame, people: pl.DataFrame, with_text: bool) -> pl.DataFrame:
    df = ev if isinstance(ev, pl.DataFrame) else pl.from_arrow(ev)
    if df.height == 0:
        return empty_frame(with_text=with_text)
    who = people.select("identity_id", "member_id", "is_bot")
    df = _resolve_members(df.with_columns(pl.col("identity_id").cast(pl.Int64)), who)
    cols = [
        pl.col("id").cast(pl.Int64),
        pl.col("group_id").cast(pl.Int64),
        pl.col("member_id"),
        pl.col("is_bot").fill_null(False),
        pl.col("kind") if df.schema["kind"] == KIND else pl.col("kind").cast(pl.String).cast(KIND),
        pl.col("at_ms").cast(pl.Int64),
        pl.col("platform_id").cast(pl.String),
        pl.col("reply_to").cast(pl.String),
        pl.when(pl.col("to_") != "").then(pl.col("to_").cast(pl.String)).alias("to"),  # 4x faster than replace("", None)
    ]
    if with_text:
        cols.append(pl.col("text").cast(pl.String))
    return sort_events(df.select(cols))


def _resolve_members(df: pl.DataFrame, who: pl.DataFrame) -> pl.DataFrame:
    """``df`` plus ``member_id, is_bot`` of each row's identity (null for none or an unknown one).

    Identity ids are dense integers, so a lookup table indexed by id turns the 10-million-row join
    into one gather (several times faster); very sparse ids fall back to the join.
    """
    top = int(who["identity_id"].max()) if who.height else -1
    if top < 0 or top > 4 * who.height + 1_000_000 or int(who["identity_id"].min()) < 0:
        return df.join(who, on="identity_id", how="left", maintain_order="left")
    table = pl.DataFrame({"identity_id": pl.int_range(0, top + 1, eager=True, dtype=pl.Int64)}).join(
        who, on="identity_id", how="left", maintain_order="left")
    ids = df["identity_id"]
    highest = ids.max()
    index = ids.set(ids > top, None) if highest is not None and highest > top else ids  # other communities' identities
    return df.with_columns(table["member_id"].gather(index), table["is_bot"].gather(index))


def sort_events(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` sorted by (at_ms, id). The frame cache stores its segments in this order and new events
    mostly come after them, so checking first (one cheap pass) usually saves sorting 10M rows with their strings."""
    step = pl.col("at_ms").diff()
    ordered = df.select(((step > 0) | ((step == 0) & (pl.col("id").diff() > 0))).fill_null(True).all()).item()
    return df if ordered else df.sort("at_ms", "id")


def load_texts(
    conn: Connection,
    community_id: int,
    *,
    group_ids: Iterable[int] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    id_ranges: list[tuple[int, int]] | None = None,
    human: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``id, group_id, at_ms, text`` of human messages (kind ``message``, author not a bot) in the window.

    ``id_ranges``: only events with an id in one of these inclusive ranges: a cheap sample of a long
    history (the database reads just those stretches of its primary key, not every row).
    ``human``: the ids (column ``id``) of the human messages when the caller has them (the frame's),
    so identities need not be read again to drop bots.
    """
    sql = _events_sql(conn.dialect.name, community_id, group_ids, since_ms, until_ms, False)
    # events only (the time index serves the window); bots are dropped after a join with identities in memory
    # SQLite's planner prefers the (community_id, at_ms) index to the id ranges whenever ``until_ms`` is
    # set, and then walks every event of the community (16 s instead of 0.3 s for a 10M-event sample):
    # NOT INDEXED leaves it only the primary key, which is what the ranges want.
    source = "events NOT INDEXED" if id_ranges is not None and conn.dialect.name == "sqlite" else "events"
    sql = f"SELECT id, group_id, identity_id, at_ms, text FROM {source} WHERE " + sql.split(" WHERE ", 1)[1]
    sql += " AND kind = 'message' AND identity_id IS NOT NULL AND text IS NOT NULL"
    if id_ranges is not None:
        spans = " OR ".join(f"id BETWEEN {int(a)} AND {int(b)}" for a, b in id_ranges) or "1 = 0"
        sql += f" AND ({spans})"
    url = _connectorx_url(conn)
    # One reader, no id-range split: a sample or a period is small, and the min/max query ConnectorX
    # runs to split a range made PostgreSQL walk the primary key from the first event (1.7 s for a
    # 28-day period of 10M events, against 0.09 s unsplit); a whole history still splits (few callers).
    split = id_ranges is None and since_ms is None
    read = (lambda q: _read_connectorx(url, q, split=split)) if url is not None else (lambda q: _read_cursor(conn, q))
    df = pl.from_arrow(read(sql))
    if df.height == 0:
        return pl.DataFrame(schema={"id": pl.Int64, "group_id": pl.Int64, "at_ms": pl.Int64, "text": pl.String})
    if human is not None:
        df = df.with_columns(pl.col("id").cast(pl.Int64)).join(human.select(pl.col("id").cast(pl.Int64)), on="id", how="semi")
    else:
        bots = read_identities(conn, community_id).filter(pl.col("is_bot")).select("identity_id")
        df = df.with_columns(pl.col("identity_id").cast(pl.Int64)).join(bots, on="identity_id", how="anti")
    return df.select(pl.col("id").cast(pl.Int64), pl.col("group_id").cast(pl.Int64), pl.col("at_ms").cast(pl.Int64),
                     pl.col("text").cast(pl.String))
