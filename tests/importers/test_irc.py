"""IRC importer: irssi-style day files, Limnoria logs, midnight roll-over, encodings, rejects."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportOptions, Source
from shequn.importers.irc import IMPORTER, sniff

DEMO = FIXTURES / "irc" / "2024-03-09.demo.txt"
LIMNORIA = FIXTURES / "irc" / "limnoria-demo.log"
LATIN1 = FIXTURES / "irc" / "2024-03-11.latin1.txt"
UTC = ZoneInfo("UTC")


def read(path: Path, group: str | None = None) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=UTC, group=group)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def test_irssi_day_file_kinds_ids_and_midnight():
    events, rejects = read(DEMO, group="#demo")
    by_id = {e.platform_id: e for e in events}
    assert [e.kind for e in events] == [
        EventKind.JOIN, EventKind.MESSAGE, EventKind.MESSAGE, EventKind.JOIN, EventKind.MESSAGE, EventKind.EMOTE,
        EventKind.MESSAGE, EventKind.RENAME, EventKind.LEAVE, EventKind.KICK, EventKind.SYSTEM, EventKind.LEAVE,
    ]
    # platform id = file name without its last extension + ':' + 0-based line number
    assert by_id["2024-03-09.demo:1"].text == "bob: is the mirror down?"
    assert by_id["2024-03-09.demo:1"].payload == {"to": "bob"}
    assert by_id["2024-03-09.demo:2"].payload == {"to": "alice"}
    # the leading '===' join takes the time of the first timestamped line
    assert by_id["2024-03-09.demo:0"].at == datetime(2024, 3, 9, 23, 58, tzinfo=UTC)
    # the clock went backwards (23:59 -> 00:01): the log crossed midnight
    assert by_id["2024-03-09.demo:4"].at == datetime(2024, 3, 10, 0, 1, tzinfo=UTC)
    assert by_id["2024-03-09.demo:4"].text == "你好 everyone"
    assert by_id["2024-03-09.demo:5"].author.external_id == "bob" and by_id["2024-03-09.demo:5"].text == "waves"
    assert by_id["2024-03-09.demo:6"].text == ""  # an empty message is still a message
    assert by_id["2024-03-09.demo:7"].payload == {"old": "bob", "new": "bob_away"}
    assert by_id["2024-03-09.demo:8"].payload["how"] == "quit"
    assert by_id["2024-03-09.demo:9"].author.external_id == "dave" and by_id["2024-03-09.demo:9"].payload["by"] == "ChanServ"
    assert all(e.group.external_id == "#demo" for e in events)
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 12", "not an IRC log line"),
        ("line 13", "impossible clock time 25:99"),
    ]


def test_limnoria_format():
    events, rejects = read(LIMNORIA)
    assert rejects == []
    assert [e.kind for e in events] == [EventKind.JOIN, EventKind.MESSAGE, EventKind.EMOTE, EventKind.RENAME, EventKind.LEAVE, EventKind.MESSAGE]
    assert events[1].at == datetime(2024, 3, 10, 8, 0, 5, tzinfo=UTC)
    assert events[1].payload == {"to": "frank"}
    assert events[4].payload == {"how": "quit", "reason": "Quit: bye"}
    assert events[0].group.external_id == "irc"  # default group: the directory the log lives in


def test_limnoria_naive_times_use_the_given_zone():
    items = list(IMPORTER.read(Source(LIMNORIA), ImportOptions(tz=ZoneInfo("Asia/Shanghai"))))
    assert items[0].at.astimezone(timezone.utc) == datetime(2024, 3, 10, 0, 0, tzinfo=timezone.utc)


def test_latin1_line_is_decoded_not_lost():
    events, rejects = read(LATIN1)
    assert rejects == []
    assert events[0].author.external_id == "xé" and events[0].text == "café in latin-1"


def test_file_without_date_rejects_clock_lines(tmp_path):
    f = tmp_path / "nodate.txt"
    f.write_text("[10:00] <a> hi\n=== a waves\n")
    events, rejects = read(f)
    assert events == []
    assert [r.reason for r in rejects] == [
        "file name has no YYYY-MM-DD date prefix for [HH:MM] times",
        "system line in a file with no timestamp at all",
    ]


def test_hostile_text_passes_through_unchanged(tmp_path):
    f = tmp_path / "2024-01-01.x.txt"
    hostile = "加\u200bV\u200b：ｗｘ１２３ <script>alert(1)</script> " + "长" * 100_000
    f.write_text(f"[10:00] <a<b>> {hostile}\n", encoding="utf-8")
    events, rejects = read(f)
    assert rejects == [] and events[0].text.endswith("长" * 10) and "\u200b" in events[0].text


def test_sniff_skips_annotation_files(tmp_path):
    ann = tmp_path / "x.annotation.txt"
    ann.write_text("1000 1000 -\n1001 1000 -\n")
    assert not sniff(ann)
    assert sniff(DEMO) and sniff(LIMNORIA)


def test_import_twice_is_idempotent_and_rejects_are_kept(cli, tmp_path):
    first = cli.json("import", "irc", str(DEMO), "--community", "c", "--group", "#demo", "--json")
    assert (first["added"], first["duplicates"], first["rejected"]) == (12, 0, 2)
    assert first["reject_reasons"] == {"not an IRC log line": 1, "impossible clock time 25:99": 1}
    again = cli.json("import", "irc", str(DEMO), "--community", "c", "--group", "#demo", "--json")
    assert (again["added"], again["duplicates"]) == (0, 12)
    stats = cli.json("stats", "--json")
    (comm,) = stats["communities"]
    assert comm["name"] == "c"
    assert (comm["messages"], comm["speakers"], comm["joins"], comm["leaves"]) == (4, 3, 2, 3)
    # members: alice bob carol dave (anyone who appears in an event)
    assert comm["members"] == 4
    assert comm["first_at"] == "2024-03-09T23:58:00Z" and comm["last_at"] == "2024-03-10T00:02:00Z"
    assert [g["name"] for g in comm["groups"]] == ["#demo"]


def test_directory_import_skips_non_log_files(sqlite_cli, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    (d / "2024-03-09.demo.raw.txt").write_bytes(DEMO.read_bytes())
    (d / "2024-03-09.demo.annotation.txt").write_text("1 1 -\n")
    summary = sqlite_cli.json("import", "irc", str(d), "--json")
    assert summary["files"] == 1 and len(summary["skipped_files"]) == 1 and summary["added"] == 12
    assert sqlite_cli.json("stats", "--json")["communities"][0]["groups"][0]["name"] == "logs"


def test_missing_path_is_a_clear_error(sqlite_cli, tmp_path):
    result = sqlite_cli("import", "irc", str(tmp_path / "nope"), ok=False)
    assert result.exit_code == 1 and "no such file or directory" in result.output


def test_unknown_format_is_a_clear_error(sqlite_cli, tmp_path):
    result = sqlite_cli("import", "icq", str(tmp_path), ok=False)
    assert result.exit_code == 2 and "unknown format 'icq'" in result.output


def test_nul_bytes_do_not_break_either_database(cli, tmp_path):
    f = tmp_path / "2024-01-01.nul.txt"
    f.write_bytes(b"[10:00] <n\x00ick> te\x00xt\n[10:01] <ok> fine\n")
    summary = cli.json("import", "irc", str(f), "--json")
    assert (summary["added"], summary["rejected"]) == (2, 0)
    assert cli.json("stats", "--json")["communities"][0]["speakers"] == 2


def test_overlong_ids_and_names_are_kept_safe(cli, tmp_path):
    f = tmp_path / "2024-01-01.long.txt"
    long_nick = "n" * 700
    f.write_text(f"[10:00] <{long_nick}> hi\n[10:01] <{long_nick}x> hello\n", encoding="utf-8")
    summary = cli.json("import", "irc", str(f), "--json")
    assert (summary["added"], summary["rejected"]) == (2, 0)
    # two different 700-character nicks stay two different members
    assert cli.json("stats", "--json")["communities"][0]["speakers"] == 2


def test_a_file_of_garbage_is_counted_and_kept(sqlite_cli, sqlite_engine, tmp_path):
    from sqlalchemy import func, select

    from shequn.store.tables import import_rejects

    f = tmp_path / "2024-01-01.junk.txt"
    f.write_text("[10:00] <a> one good line\n" + "junk\n" * 5000, encoding="utf-8")
    summary = sqlite_cli.json("import", "irc", str(f), "--json")
    assert (summary["added"], summary["rejected"]) == (1, 5000)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(import_rejects)).scalar_one() == 5000
