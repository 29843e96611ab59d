"""WhatsApp importer: Android and iOS exports, day/month detection, system lines, media, rejects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.whatsapp import IMPORTER, detect_dayfirst, group_name_from_path, sniff

DIR = FIXTURES / "whatsapp"
ANDROID = DIR / "WhatsApp Chat with 读书会 Book Club.txt"
ANDROID_US = DIR / "WhatsApp Chat with US Team.txt"
IOS = DIR / "WhatsApp Chat - Family 家人" / "_chat.txt"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(path: Path, **kw) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=SHANGHAI, **kw)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def test_android_day_first_export():
    events, rejects = read(ANDROID)
    by_id = {e.platform_id.rsplit(":", 1)[1]: e for e in events}
    assert [e.platform_id for e in events][:2] == ["WhatsApp Chat with 读书会 Book Club:1", "WhatsApp Chat with 读书会 Book Club:2"]
    assert [(k, e.kind.value) for k, e in by_id.items()] == [
        ("1", "system"), ("2", "system"), ("3", "join"), ("3.1", "join"), ("3.2", "join"), ("4", "message"),
        ("8", "message"), ("9", "message"), ("10", "message"), ("11", "join"), ("12", "kick"), ("13", "leave"),
        ("14", "message"), ("16", "system"),
    ]
    assert {(e.group.platform, e.group.external_id) for e in events} == {("whatsapp", "读书会 Book Club")}
    # "Anna added Bob, 李雷 and +44 7700 900123": one join per member, referrer kept
    assert [by_id[k].author.external_id for k in ("3", "3.1", "3.2")] == ["Bob", "李雷", "+44 7700 900123"]
    assert by_id["3.2"].payload == {"via": "added", "invited_by": "Anna"}
    multi = by_id["4"]
    assert multi.author.external_id == "Bob" and multi.text == "新年快乐 🎆\nThis is the second line\n\nand a third after a blank line"
    assert multi.at == datetime(2020, 12, 31, 21, 2, tzinfo=SHANGHAI)
    assert by_id["8"].payload == {"media": "omitted"} and by_id["8"].text == "<Media omitted>"
    assert by_id["9"].payload == {"mentions": ["Bob"]}
    assert by_id["10"].payload == {"deleted": True} and by_id["10"].at == datetime(2021, 1, 1, 9, 15, tzinfo=SHANGHAI)
    assert by_id["11"].author.external_id == "Carol" and by_id["11"].payload == {"via": "invite_link"}
    assert by_id["12"].author.external_id == "Bob" and by_id["12"].payload == {"by": "Anna"}
    assert by_id["13"].author.external_id == "李雷"
    assert by_id["14"].text == "<b>hi</b> zero\u200bwidth: a colon too"  # only the first ": " splits
    assert by_id["2"].payload == {"created_by": "Anna"}
    # a system line whose text contains ": " is still a system line
    assert by_id["16"].author is None and by_id["16"].text.startswith("Anna changed the subject")
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 1", "text before the first dated line"),
        ("line 16", "impossible date or time"),
    ]


def test_ios_export_month_first_12h():
    events, rejects = read(IOS)
    assert rejects == []
    assert [(e.platform_id, e.kind.value) for e in events] == [
        ("_chat:0", "system"), ("_chat:1", "join"), ("_chat:2", "message"), ("_chat:3", "message"), ("_chat:4", "message"), ("_chat:6", "leave"),
    ]
    assert {e.group.external_id for e in events} == {"Family 家人"}  # from the folder name of _chat.txt
    encrypted, added, hello, image, multi, left = events
    assert encrypted.author is None and encrypted.text.startswith("Messages and calls are end-to-end encrypted")
    assert added.author.external_id == "Tom" and added.payload["invited_by"] == "Anna"
    assert hello.at == datetime(2021, 1, 2, 9, 16, tzinfo=SHANGHAI) and hello.text == "Hello 👋"
    assert image.text == "image omitted" and image.payload == {"media": "image"}  # U+200E removed from the start
    assert multi.text == "multi\nline message" and multi.at == datetime(2021, 1, 13, 22, 0, tzinfo=SHANGHAI)  # U+202F before PM
    assert left.kind is EventKind.LEAVE and left.author.external_id == "Tom"


def test_android_us_month_first_12h():
    events, rejects = read(ANDROID_US)
    assert rejects == []
    assert [e.at for e in events] == [
        datetime(2020, 12, 31, 21, 15, tzinfo=SHANGHAI),
        datetime(2021, 1, 1, 0, 5, tzinfo=SHANGHAI),  # 12:05 AM
        datetime(2021, 1, 1, 12, 30, tzinfo=SHANGHAI),  # 12:30 PM
    ]
    assert {e.group.name for e in events} == {"US Team"}


def test_day_month_detection_and_override():
    assert detect_dayfirst(ANDROID) is True
    assert detect_dayfirst(IOS) is False and detect_dayfirst(ANDROID_US) is False
    # 01/02, 02/02, 03/02: nothing above 12; the first field changes, so it is the day
    assert detect_dayfirst(DIR / "ambiguous.txt") is True
    events, _ = read(DIR / "ambiguous.txt")
    assert [e.at.date().isoformat() for e in events] == ["2021-02-01", "2021-02-02", "2021-02-03"]
    events, _ = read(DIR / "ambiguous.txt", extra={"dayfirst": False})
    assert [e.at.date().isoformat() for e in events] == ["2021-01-02", "2021-02-02", "2021-03-02"]


def test_group_option_and_names():
    events, _ = read(ANDROID, group="Readers")
    assert {(e.group.external_id, e.group.name) for e in events} == {("Readers", "Readers")}
    assert group_name_from_path(Path("x/WhatsApp Chat with Team A.txt")) == "Team A"
    assert group_name_from_path(Path("x/notes.txt")) == "notes"


def test_cp1252_line_is_decoded():
    events, rejects = read(DIR / "cp1252.txt")
    assert rejects == [] and [e.text for e in events] == ["olá", "café crème"]


def test_truncated_file_keeps_what_came_before():
    events, rejects = read(DIR / "truncated.txt")
    assert [e.text for e in events] == ["first", "second"]
    assert [(r.location, r.reason) for r in rejects] == [("line 3", "file is truncated at line 3")]


def test_not_a_whatsapp_export():
    with pytest.raises(ImportError_, match="not a WhatsApp chat export"):
        read(DIR / "not_whatsapp.txt")


def test_huge_message_passes_through(tmp_path):
    big = "\n".join(["long line " * 5000] * 50)
    path = tmp_path / "big.txt"
    path.write_text(f"31/12/2020, 21:02 - Bob: {big}\n31/12/2020, 21:03 - Ann: ok\n", encoding="utf-8")
    events, rejects = read(path)
    assert rejects == [] and events[0].text == big and events[1].text == "ok"


def test_sniff():
    assert sniff(ANDROID) and sniff(IOS)
    assert not sniff(DIR / "not_whatsapp.txt")


def test_import_twice_through_the_cli(cli):
    first = cli.json("import", "whatsapp", str(ANDROID), "--community", "c", "--json")
    assert (first["added"], first["duplicates"], first["rejected"]) == (14, 0, 2)
    again = cli.json("import", "whatsapp", str(ANDROID), "--community", "c", "--json")
    assert (again["added"], again["duplicates"]) == (0, 14)
    (comm,) = cli.json("stats", "--json")["communities"]
    # speakers: Bob 李雷 Anna +44… Carol; all five also appear in joins/leaves
    assert (comm["messages"], comm["speakers"], comm["members"], comm["joins"], comm["leaves"]) == (5, 5, 5, 4, 2)
    assert [g["name"] for g in comm["groups"]] == ["读书会 Book Club"]
    assert comm["first_at"] == "2020-12-31T13:00:00Z"
