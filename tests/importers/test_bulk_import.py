"""The fast import paths must store exactly what the plain path stores.

- parsing in a second process (``importers.parsing``) vs in-process;
- a big first import without secondary indexes or per-row foreign-key checks (``store.bulk``),
  and the indexes coming back even if the process died in between;
- identities created in bulk (ids computed from the table's maximum) point at the right accounts.
"""

from __future__ import annotations

import re

import pytest
from support import FIXTURES, shared_data
from sqlalchemy import select

import shequn.store.bulk as bulk
from shequn.importers.base import Importer
from shequn.importers.registry import get_importer
from shequn.importers.runner import run_import
from shequn.store.bulk import restore_event_indexes
from shequn.store.db import open_engine
from shequn.store.tables import events, identities

IRC = get_importer("irc")
NICK_LINE = re.compile(r"^\[\d\d:\d\d\] <([^>]*)>")


def stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.platform_id, events.c.kind, events.c.at_ms, identities.c.external_id, events.c.text, events.c.payload)
            .join(identities, identities.c.id == events.c.identity_id, isouter=True)
            .order_by(events.c.id)
        )
        return [tuple(r) for r in rows]


def test_parallel_parse_stores_the_same_as_in_process(db_url, tmp_path):
    dev = shared_data("chat", "ubuntu-irc", "dev")
    fixtures = [FIXTURES / "irc" / "2024-03-09.demo.txt", FIXTURES / "irc" / "2024-03-11.latin1.txt"]
    plain = open_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    fast = open_engine(db_url)
    a = run_import(plain, IRC, [dev, *fixtures], community="u", group="#ubuntu", parallel=False)
    b = run_import(fast, IRC, [dev, *fixtures], community="u", group="#ubuntu", parallel=True)
    assert (b.added, b.duplicates, b.rejected, b.reject_reasons) == (a.added, a.duplicates, a.rejected, a.reject_reasons)
    assert a.added > 10_000
    # same rows in the same order (ids follow the files, which matters for same-minute IRC lines)
    assert stored(fast) == stored(plain)
    again = run_import(fast, IRC, [dev], community="u", group="#ubuntu", parallel=True)
    assert again.added == 0 and again.duplicates > 10_000


def test_rejects_and_unreadable_files_come_back_from_the_parser_process(sqlite_engine, tmp_path):
    bad = tmp_path / "2024-01-01.bad.txt"
    bad.write_bytes(b"[10:00] <ann> hello\n[99:99] <bob> impossible\nnot irc at all\n[10:01] <ann> bye\n")
    summary = run_import(sqlite_engine, IRC, [bad, tmp_path / "2024-01-01.bad.txt"], community="c", group="#g", parallel=True)
    assert summary.added == 2 and summary.duplicates == 2
    assert summary.reject_reasons == {"impossible clock time 99:99": 2, "not an IRC log line": 2}


def _exploding_read(source, opts):
    yield from IRC.read(source, opts)
    raise ZeroDivisionError("a bug in an importer")


def test_a_crash_in_the_parser_process_is_reported_not_hidden(sqlite_engine):
    broken = Importer("broken", "test", ("*.txt",), "utc", _exploding_read)
    with pytest.raises(RuntimeError, match="(?s)parser process failed.*ZeroDivisionError: a bug in an importer"):
        run_import(sqlite_engine, broken, [FIXTURES / "irc" / "2024-03-09.demo.txt"], community="c", parallel=True)


def test_bulk_first_import_drops_and_restores_indexes(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "MIN_ROWS", 1)  # make the fixture "big"
    engine = open_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    seen = {}
    real = bulk.deferred_event_indexes

    def spy(conn, *, expected_rows):
        cm = real(conn, expected_rows=expected_rows)

        class Wrapped:
            def __enter__(self):
                seen["bulk"] = cm.__enter__()
                seen["indexes_during"] = _event_indexes(conn)
                seen["fk_during"] = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
                return seen["bulk"]

            def __exit__(self, *exc):
                return cm.__exit__(*exc)

        return Wrapped()

    monkeypatch.setattr("shequn.importers.runner.deferred_event_indexes", spy)
    demo = FIXTURES / "irc" / "2024-03-09.demo.txt"
    summary = run_import(engine, IRC, [demo], community="c", group="#g")
    assert seen == {"bulk": True, "indexes_during": set(), "fk_during": 0}
    with engine.connect() as conn:
        assert _event_indexes(conn) == {ix.name for ix in events.indexes}
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert summary.added == 12
    # a second import is now small next to the table: indexes stay
    seen.clear()
    assert run_import(engine, IRC, [demo], community="c", group="#g").duplicates == 12
    assert seen["bulk"] is False and seen["indexes_during"] == {ix.name for ix in events.indexes}


def test_indexes_left_out_by_a_killed_import_come_back_on_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    engine = open_engine(url)
    with engine.begin() as conn:
        for index in events.indexes:
            index.drop(conn)  # what a bulk import killed before its end leaves behind
        assert _event_indexes(conn) == set()
    engine.dispose()
    with open_engine(url).connect() as conn:
        assert _event_indexes(conn) == {ix.name for ix in events.indexes}
        assert restore_event_indexes(conn) == 0


def test_bulk_created_identities_point_at_the_right_accounts(db_url):
    """Every message's identity is the nick written on its own line (checked against the raw files)."""
    dev = shared_data("chat", "ubuntu-irc", "dev")
    engine = open_engine(db_url)
    run_import(engine, IRC, [dev], community="u", group="#ubuntu", batch_size=500)
    expected = {}
    for f in sorted(dev.glob("*.raw.txt")):
        stem = f.name.rsplit(".", 1)[0]
        for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines()):
            if m := NICK_LINE.match(line):
                expected[f"{stem}:{n}"] = m.group(1)
    got = {pid: who for pid, kind, _at, who, _text, _payload in stored(engine) if kind == "message"}
    assert got == expected and len(got) > 10_000


def _event_indexes(conn) -> set[str]:
    if conn.dialect.name == "sqlite":
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").scalars()
    else:
        names = conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'events' AND schemaname = current_schema()").scalars()
    return {n for n in names if n in {ix.name for ix in events.indexes}}



def test_writer_multi_row_inserts_keep_order_nulls_and_first_copy(db_url):
    """Rows go to SQLite many per statement, with constant ids inlined and NULLs as 0: what is stored must
    be exactly what the rows say, in order, the first of two copies winning, on both databases."""
    from shequn.store.directory import GroupDirectory, ensure_community
    from shequn.store.event_writer import ROWS_PER_INSERT, ROWS_PER_SMALL_INSERT, EventWriter
    from shequn.store.members import IdentityResolver

    n = ROWS_PER_INSERT * 3 + ROWS_PER_SMALL_INSERT * 2 + 7
    rows = []
    for i in range(n):
        group = "g1" if i < n // 2 else "g2"
        author = None if i % 11 == 0 else f"nick{i % 5}"
        # g1 is one long run (whole statements of every size, then single rows); in g2 replies cut short runs
        reply = f"p{i - 1}" if i % 7 == 3 and group == "g2" else None
        payload = '{"to":"x"}' if i % 3 == 0 else None
        text = None if i % 13 == 0 else ("" if i % 17 == 0 else ("0" if i % 19 == 0 else f"text {i}"))
        rows.append(("irc", group, group, author, author, False, "message" if author else "system", 1_700_000_000_000 + i, f"p{i}", reply, text, payload))
    dup = rows[ROWS_PER_INSERT // 2]
    rows.insert(ROWS_PER_INSERT - 10, dup[:10] + ("second copy", None))  # same group + id inside one statement
    engine = open_engine(db_url)
    with engine.connect() as conn:
        cid = ensure_community(conn, "w")
        counts = EventWriter(conn, cid, GroupDirectory(conn, cid), IdentityResolver(conn, cid)).write_rows(rows)
        conn.commit()
        got = conn.execute(
            select(events.c.platform_id, events.c.kind, events.c.at_ms, identities.c.external_id, events.c.reply_to, events.c.text, events.c.payload)
            .join(identities, identities.c.id == events.c.identity_id, isouter=True)
            .order_by(events.c.id)
        ).all()
    assert (counts.added, counts.duplicates) == (n, 1)
    want = [(r[8], r[6], r[7], r[3], r[9], r[10], {"to": "x"} if r[11] else None) for r in rows if r[10] != "second copy"]
    assert [tuple(g) for g in got] == want


def test_an_interrupted_import_keeps_what_it_committed(db_url, tmp_path, monkeypatch):
    """The writer talks to the driver, not through SQLAlchemy: the runner's commits must still reach the
    database, so an import killed half-way keeps its committed events and a re-run adds only the rest."""
    from shequn.importers import runner

    for day in range(1, 5):
        (tmp_path / f"2024-01-0{day}.log.txt").write_text("".join(f"[10:{m:02d}] <nick{m % 3}> line {m}\n" for m in range(30)))
    monkeypatch.setattr(runner, "COMMIT_EVERY", 20)
    real = runner.parse_files

    def killed_after_two_files(*args, **kwargs):
        ends = 0
        for msg in real(*args, **kwargs):
            yield msg
            ends += msg[0] == "end"
            if ends == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(runner, "parse_files", killed_after_two_files)
    engine = open_engine(db_url)
    with pytest.raises(KeyboardInterrupt):
        runner.run_import(engine, IRC, [tmp_path], community="c", group="#g", batch_size=10)
    engine.dispose()
    kept = len(stored(open_engine(db_url)))
    assert 40 <= kept <= 60  # every 20 events were committed; at most the last uncommitted ones are lost
    monkeypatch.setattr(runner, "parse_files", real)
    again = runner.run_import(open_engine(db_url), IRC, [tmp_path], community="c", group="#g")
    assert (again.added, again.duplicates) == (120 - kept, kept)


def test_fewer_checkpoints_only_during_the_import(db_url):
    engine = open_engine(db_url)
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with bulk.fewer_checkpoints(conn):  # nothing to change on PostgreSQL
                pass
            return
        def pragma() -> int:
            return conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()

        before = pragma()
        with bulk.fewer_checkpoints(conn):
            assert pragma() == max(before, bulk.CHECKPOINT_PAGES)
        assert pragma() == before
        with pytest.raises(ZeroDivisionError), bulk.fewer_checkpoints(conn):
            raise ZeroDivisionError
        assert pragma() == before
