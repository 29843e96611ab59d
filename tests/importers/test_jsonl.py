"""Shequn JSON Lines importer: keys, times, defaults, extra keys, every kind of bad line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.jsonl import IMPORTER, sniff

GROUP = FIXTURES / "jsonl" / "wechat-group.jsonl"
TRUNCATED = FIXTURES / "jsonl" / "truncated.jsonl"
GBK = FIXTURES / "jsonl" / "gbk.jsonl"
PRETTY = FIXTURES / "jsonl" / "pretty.jsonl"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CST = timezone(timedelta(hours=8))
KINDS = "message, emote, join, leave, kick, rename, pin, reaction, system, checkin, invite, order, redemption, command, custom"


def read(path: Path, group: str | None = None, tz=SHANGHAI) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=tz, group=group)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def test_events_and_fields():
    events, _ = read(GROUP)
    assert [(e.platform_id, e.kind) for e in events] == [
        ("m1", EventKind.JOIN),
        ("m2", EventKind.MESSAGE),
        ("m3", EventKind.MESSAGE),
        ("m4", EventKind.CHECKIN),
        ("m5", EventKind.MESSAGE),
        ("m6", EventKind.MESSAGE),
        ("m7", EventKind.LEAVE),
        ("t1", EventKind.MESSAGE),
        ("m8", EventKind.SYSTEM),
        ("m19", EventKind.MESSAGE),
    ]
    by_id = {e.platform_id: e for e in events}
    m2 = by_id["m2"]
    assert (m2.group.platform, m2.group.external_id, m2.group.name) == ("jsonl", "wechat-group", "wechat-group")
    assert (m2.author.external_id, m2.author.name, m2.author.is_bot) == ("wxid_zhang", "张三", False)
    assert m2.text == "大家好，我是张三-上海-产品经理 👋" and m2.payload == {}
    assert m2.at == datetime(2024, 3, 1, 9, 1, 30, tzinfo=CST)
    assert by_id["m3"].reply_to == "m2"
    assert by_id["m3"].at == datetime(2024, 3, 1, 9, 5, tzinfo=SHANGHAI)  # no offset: --tz
    assert by_id["m4"].at == datetime(2024, 3, 1, 1, 10, tzinfo=timezone.utc)  # epoch seconds
    assert by_id["m4"].payload == {"streak": 3} and by_id["m4"].text is None
    assert by_id["m5"].at == datetime(2024, 3, 1, 1, 11, tzinfo=timezone.utc)  # epoch milliseconds
    assert by_id["m5"].author.is_bot is True
    m6 = by_id["m6"]  # 'Z' offset; unknown keys kept; zero-width and HTML unchanged
    assert m6.at == datetime(2024, 3, 1, 1, 10, tzinfo=timezone.utc)
    assert m6.payload == {"extra": {"source_app": "wechat-exporter", "msg_type": 1}}
    assert m6.author.name == "<b>王五</b>\u200b" and m6.text == "加我微信\u200b领资料"
    t1 = by_id["t1"]  # group, group name and platform from the line
    assert (t1.group.platform, t1.group.external_id, t1.group.name) == ("telegram", "-100123", "Shequn 用户群")
    assert by_id["m8"].author is None and by_id["m8"].payload == {"original_type": 10000}
    m19 = by_id["m19"]  # no account id: the display name is the identity
    assert (m19.author.external_id, m19.author.name) == ("匿名访客", "匿名访客")


def test_every_bad_line_is_rejected_with_line_and_reason():
    _, rejects = read(GROUP)
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 11", "invalid JSON: Expecting value at column 1"),
        ("line 12", "invalid JSON: Expecting ',' delimiter at column 115"),
        ("line 13", "missing required key 'at'"),
        ("line 14", "'id' must be a string, got number"),
        ("line 15", f"unknown kind 'red_packet' (expected one of: {KINDS})"),
        ("line 16", "'at' is not an ISO 8601 time: 'yesterday'"),
        ("line 17", "'text' contains NUL (U+0000), which cannot be stored"),
        ("line 18", "line is a JSON array, not an object"),
        ("line 19", "'bot' must be true or false, got string"),
        ("line 20", "'payload' must be an object, got string"),
        ("line 21", "invalid JSON: NaN is not allowed"),
    ]
    assert rejects[0].raw == "this line is garbage, not JSON"
    assert all(r.source == "wechat-group.jsonl" for r in rejects)


def test_group_option_is_the_default_group_only():
    events, _ = read(GROUP, group="福利群")
    groups = {(e.group.platform, e.group.external_id) for e in events}
    assert groups == {("jsonl", "福利群"), ("telegram", "-100123")}


def test_epoch_threshold_and_extra_merge(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text(
        '{"id": "a", "at": 99999999999, "kind": "message"}\n'
        '{"id": "b", "at": 100000000000, "kind": "message"}\n'
        '{"id": "c", "at": 1709255400.5, "kind": "message"}\n'
        '{"id": "d", "at": "2024-03-01", "kind": "custom", "x": 1, "payload": {"extra": {"y": 2}}}\n'
        '{"id": "e", "at": true, "kind": "message"}\n'
        '{"id": "f", "at": 1e300, "kind": "message"}\n'
        '{"id": "g", "at": 0, "kind": "message", "x": 1, "payload": {"extra": "taken"}}\n'
        '{"id": " ", "at": 0, "kind": "message"}\n'
        '{"id": "h", "at": 0, "kind": "message", "member": "u", "member_name": "\\ud800"}\n',
        encoding="utf-8",
    )
    events, rejects = read(f)
    assert events[0].at == datetime.fromtimestamp(99_999_999_999, tz=timezone.utc)  # seconds (year 5138)
    assert events[1].at == datetime(1973, 3, 3, 9, 46, 40, tzinfo=timezone.utc)  # milliseconds
    assert events[2].at == datetime(2024, 3, 1, 1, 10, 0, 500000, tzinfo=timezone.utc)
    assert events[3].at == datetime(2024, 3, 1, tzinfo=SHANGHAI) and events[3].payload == {"extra": {"x": 1, "y": 2}}
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 5", "'at' must be an ISO 8601 string or epoch number, got boolean"),
        ("line 6", "'at' epoch 1e+300 is out of range"),
        ("line 7", "the line has unknown keys but 'payload.extra' is not an object to keep them in"),
        ("line 8", "'id' is empty"),
        ("line 9", "'member_name' contains a lone surrogate (U+D800), which cannot be stored"),
    ]


def test_blank_lines_bom_and_crlf(tmp_path):
    f = tmp_path / "crlf.jsonl"
    f.write_bytes(
        b'\xef\xbb\xbf\r\n{"id": "a", "at": 0, "kind": "join", "member": "u"}\r\n\r\n   \r\n'
        b'{"id": "b", "at": 0, "kind": "leave", "member": "u"}'  # valid last line without a newline: not truncated
    )
    events, rejects = read(f)
    assert rejects == [] and [e.kind for e in events] == [EventKind.JOIN, EventKind.LEAVE]


def test_truncated_file_keeps_what_came_before():
    events, rejects = read(TRUNCATED)
    assert [e.platform_id for e in events] == ["a1"] and events[0].text == "第一条"
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 2", "file is truncated: line 2 ends before its JSON object is complete")
    ]


def test_wrong_encoding_is_decoded():
    events, rejects = read(GBK)
    assert rejects == [] and (events[0].author.name, events[0].text) == ("赵六", "这一行是 GBK 编码")


def test_not_jsonl_is_a_clear_error(tmp_path):
    with pytest.raises(ImportError_, match="looks like pretty-printed JSON"):
        read(PRETTY)
    arr = tmp_path / "a.jsonl"
    arr.write_text('[{"id": "a"}]\n')
    with pytest.raises(ImportError_, match="starts with a JSON array"):
        read(arr)
    csv = tmp_path / "b.jsonl"
    csv.write_text("id,at,kind\n1,2,3\n")
    with pytest.raises(ImportError_, match="not a JSON Lines file: line 1 does not start with"):
        read(csv)
    assert sniff(GROUP) and not sniff(csv)


def test_huge_text_passes_through(tmp_path):
    text = "加\u200bV：ｗｘ１２３ <script>alert(1)</script>" + "长" * 300_000
    f = tmp_path / "big.jsonl"
    line = json.dumps({"id": "a", "at": 0, "kind": "message", "member": "u", "text": text}, ensure_ascii=False)
    f.write_text(line + "\n", encoding="utf-8")
    events, rejects = read(f)
    assert rejects == [] and events[0].text == text


def test_import_twice_is_idempotent_and_stats(cli):
    first = cli.json("import", "jsonl", str(GROUP), "--community", "c", "--json")
    assert (first["added"], first["duplicates"], first["rejected"]) == (10, 0, 11)
    assert first["reject_reasons"]["missing required key 'at'"] == 1
    again = cli.json("import", "jsonl", str(GROUP), "--community", "c", "--json")
    assert (again["added"], again["duplicates"], again["rejected"]) == (0, 10, 11)
    (comm,) = cli.json("stats", "--json")["communities"]
    # messages: m2 m3 m6 t1 m19 (m5 is a bot's); people: 张三 李四 王五 Alice 匿名访客 (+ the bot)
    assert (comm["messages"], comm["members"], comm["speakers"], comm["joins"], comm["leaves"]) == (5, 5, 5, 1, 1)
    assert comm["first_at"] == "2024-03-01T01:00:00Z" and comm["last_at"] == "2024-03-02T13:00:00Z"
    assert sorted(g["name"] for g in comm["groups"]) == ["Shequn 用户群", "wechat-group"]
