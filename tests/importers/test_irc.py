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
SHAPES = FIXTURES / "irc" / "2024-03-12.shapes.txt"  # every '===' shape of the ubuntu-irc data, and more
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


def test_every_system_line_shape_is_classified():
    events, rejects = read(SHAPES, group="#demo")
    assert rejects == []
    got = [(e.kind.value, e.author.external_id if e.author else None) for e in events]
    assert got == [
        ("join", "zcat[1] "),  # nick as its '<zcat[1] >' lines write it (this export adds a space after ']')
        ("join", "[JAPS] ph1L"),
        ("join", "smart"),  # the user@host part itself holds brackets
        ("message", "zcat[1] "),
        ("emote", "zcat[1] "),  # the longest nick already seen in the file, not just the first word
        ("emote", "[JAPS] ph1L"),
        ("system", "Seveas"),  # '..[topic/#demo:Seveas] : ...' is a topic change, not Seveas acting
        ("system", "ubuntu"),  # '... changed the topic of #demo to: ...'
        ("system", None),  # 'Topic for #demo: ...'
        ("system", None),  # 'Topic set by ...'
        ("system", None),  # mode change
        ("system", None),  # a ban mask that mentions 'topic' is still a mode change
        ("system", None),  # netjoined
        ("system", None),  # netsplit
        ("emote", "michael__"),  # '/me reads the topic' is a person acting
        ("emote", "beej_"),  # an away message is a /me the client sent
        ("kick", "ubuntu_"),
        ("rename", "bob[1] "),
        ("leave", "mvo"),
        ("leave", "Garyu"),
        ("leave", "N}{N[] O"),
        ("leave", "erin"),
        ("leave", "dave"),
        ("emote", "[Saint]"),  # '[10:01]  * nick acts' (irssi pads actions with a space)
        ("system", None),  # '-nick:#chan- text' is a notice
        ("message", "camerong"),
        ("system", None),  # a bare '===' names nobody
    ]
    by_line = {int(e.platform_id.rsplit(":", 1)[1]): e for e in events}
    assert by_line[4].text == "plays video under compiz!" and by_line[5].text == "waves"
    assert by_line[6].text == "Happy Dapper Day Everyone! ## Release Parties!"
    assert by_line[6].payload == {"notice": "topic", "channel": "#demo", "by": "Seveas"}
    assert by_line[7].payload == {"notice": "topic", "channel": "#demo", "by": "ubuntu"}
    assert by_line[7].text == "Official support channel | be patient"
    assert by_line[8].payload == {"notice": "topic", "channel": "#demo"} and by_line[8].text == "Official support channel"
    assert by_line[10].payload == {"notice": "mode", "channel": "#demo", "mode": "+o Seveas", "by": "ChanServ"}
    assert by_line[12].payload == {"notice": "server"}
    assert by_line[16].payload == {"channel": "#demo", "by": "Amaranth", "reason": "flood"}
    assert by_line[17].payload == {"old": "bob[1] ", "new": "camerong"}
    assert by_line[18].payload == {"how": "part", "channel": "#demo", "reason": "Ex-Chat"}
    assert by_line[19].payload["reason"] is None and by_line[20].payload["reason"] == "Ubuntu"
    assert by_line[21].payload == {"how": "quit", "reason": "Ping timeout"}
    assert by_line[22].payload == {"how": "quit", "reason": "Quit: bye"}
    assert by_line[23].text == "sometimes wonders"
    assert by_line[24].payload == {"notice_from": "spammer", "channel": "#demo"} and by_line[24].text == "buy now"
    # the '===' lines before the first clock take its time
    assert by_line[0].at == by_line[3].at == datetime(2024, 3, 12, 10, 0, tzinfo=UTC)


def test_system_lines_are_not_chat_in_stats(cli):
    summary = cli.json("import", "irc", str(SHAPES), "--community", "s", "--group", "#demo", "--json")
    assert (summary["added"], summary["rejected"]) == (27, 0)
    (comm,) = cli.json("stats", "--json")["communities"]
    # chat: only the two '<nick>' lines; topic, mode and server lines and /me actions are not messages
    assert (comm["messages"], comm["speakers"]) == (2, 2)
    assert (comm["joins"], comm["leaves"]) == (3, 6)  # 5 parts/quits + 1 kick
    # everyone named as an actor: 3 joiners, 2 topic setters, 4 other /me actors, the kicked one, the renamer,
    # 5 leavers and the new nick that spoke; ChanServ (mode) and notice senders are not members
    assert comm["members"] == 16


def test_hostile_system_lines_stay_cheap(tmp_path):
    f = tmp_path / "2024-01-01.hostile.txt"
    body = "[" * 50_000 + " has joined #x" + "]" * 50_000
    f.write_text(f"[10:00] <a> hi\n=== {body}\n=== a {'x ' * 50_000}has left #x\n", encoding="utf-8")
    events, rejects = read(f)
    assert rejects == [] and [e.kind for e in events] == [EventKind.MESSAGE, EventKind.EMOTE, EventKind.EMOTE]


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


def test_clock_times_are_exact_around_offset_changes():
    """The clock converts an hour once and adds minutes to it, except in an hour whose UTC offset
    changes (DST, or Lord Howe's half-hour shift): every result must equal the full conversion."""
    from datetime import date, time, timedelta

    from shequn.domain.events import to_ms
    from shequn.importers.irc import _Clock

    days = [date(2021, 3, 28), date(2021, 10, 31), date(2021, 3, 14), date(2021, 11, 7), date(2021, 4, 4), date(2021, 10, 3)]
    for zone in ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/St_Johns"]:
        tz = ZoneInfo(zone)
        for d in days:
            clock = _Clock(d, tz)
            for h in range(24):
                for m in range(0, 60, 7):
                    for s in ("", "59"):
                        want = to_ms(datetime.combine(d, time(h, m, int(s or 0)), tzinfo=tz))
                        assert clock.at(str(h), f"{m:02d}", s) == want, (zone, d, h, m, s)
            assert clock.at("0", "01", "") == to_ms(datetime.combine(d + timedelta(days=1), time(0, 1), tzinfo=tz))  # past midnight
