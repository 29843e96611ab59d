"""Telegram Desktop JSON importer: single-chat and full exports, service actions, damage, encodings, CLI."""

from __future__ import annotations

import json
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.telegram import IMPORTER, sniff

TG = FIXTURES / "telegram"
SINGLE = TG / "single_chat.json"
FULL = TG / "full_export.json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc


def read(path: Path, group: str | None = None, tz=SHANGHAI) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=tz, group=group)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def at(minute: int) -> datetime:
    return datetime(2024, 3, 1, 8, minute, tzinfo=UTC)


def test_single_chat_export_kinds_ids_and_group():
    events, rejects = read(SINGLE)
    assert [(e.platform_id, e.kind) for e in events] == [
        ("1", EventKind.SYSTEM), ("1:0", EventKind.JOIN), ("1:1", EventKind.JOIN),
        ("2:0", EventKind.JOIN), ("2:1", EventKind.JOIN),
        ("3", EventKind.MESSAGE), ("4", EventKind.MESSAGE), ("5", EventKind.JOIN), ("6", EventKind.MESSAGE),
        ("7", EventKind.MESSAGE), ("8", EventKind.PIN), ("9:0", EventKind.KICK), ("10:0", EventKind.LEAVE),
        ("11", EventKind.MESSAGE), ("12", EventKind.SYSTEM), ("15", EventKind.SYSTEM), ("16", EventKind.SYSTEM),
        ("17", EventKind.MESSAGE), ("18", EventKind.MESSAGE),
    ]
    assert {(e.group.platform, e.group.external_id, e.group.name) for e in events} == {("telegram", "1234567890", "运营交流群 🚀")}
    assert [(r.location, r.reason) for r in rejects] == [
        ("chat 1234567890 message 13", "unsupported message (exported without date or content)"),
        ("chat 1234567890 message 14", "message without a readable date"),
    ]
    assert json.loads(rejects[1].raw)["text"] == "没有日期"


def test_messages_text_authors_replies_media_and_reactions():
    events, _ = read(SINGLE)
    by_id = {e.platform_id: e for e in events}
    hi = by_id["3"]
    assert (hi.author.external_id, hi.author.name, hi.author.is_bot) == ("user1002", "李雷", False)
    assert hi.text == "大家好！👋 我是李雷" and hi.at == at(2) and hi.payload == {}
    # text given as a list of strings and entities is flattened; non-plain entities are kept
    welcome = by_id["4"]
    assert welcome.text == "欢迎 李雷！看看 这个链接"
    assert welcome.reply_to == "3"
    assert welcome.payload["entities"] == [
        {"type": "bold", "text": "李雷"},
        {"type": "text_link", "text": "这个链接", "href": "https://example.com/x"},
    ]
    assert welcome.payload["reactions"][0]["emoji"] == "👍" and welcome.payload["reactions"][0]["count"] == 2
    assert [r["from_id"] for r in welcome.payload["reactions"][0]["recent"]] == ["user1002", "user1001"]
    # HTML in names and contact handles in text pass through unchanged
    photo = by_id["6"]
    assert photo.author.name == "Tom <b>Lee</b>" and photo.text == "加我微信 wx_12345 领资料"
    assert photo.payload["photo"].startswith("(File not included") and photo.payload["width"] == 1280
    sticker = by_id["7"]
    assert sticker.text is None
    assert sticker.payload["media_type"] == "sticker" and sticker.payload["sticker_emoji"] == "😂"
    # no date_unixtime: the naive local 'date' is read in opts.tz
    fwd = by_id["11"]
    assert fwd.at == datetime(2024, 3, 1, 13, 5, tzinfo=UTC)
    assert fwd.payload == {"forwarded_from": "某频道", "via_bot": "@gif"}
    # exports from before 2020 wrote from_id as a bare number
    assert by_id["17"].author.external_id == "user1003"
    # a reply to a message in another chat is not a reply inside this group
    cross = by_id["18"]
    assert cross.reply_to is None
    assert cross.payload == {"reply_to_message_id": 77, "reply_to_peer_id": "channel999"}
    unknown_type = by_id["15"]
    assert unknown_type.payload == {"type": "story_mention"} and unknown_type.author.external_id == "user1002"


def test_service_actions_joins_leaves_kicks_and_pins():
    events, _ = read(SINGLE)
    by_id = {e.platform_id: e for e in events}
    created = by_id["1"]
    assert created.payload == {"action": "create_group", "title": "运营交流群", "members": ["王小明", "李雷"]}
    # the creator is listed among the members: that join is his own, with his id
    assert by_id["1:0"].author.external_id == "user1001"
    assert by_id["1:0"].payload == {"action": "create_group", "member_name": "王小明", "via": "create_group", "member_id_source": "id"}
    # invited members are written by name only; a name seen with a from_id in this chat resolves to it
    invite = by_id["2:0"]
    assert (invite.author.external_id, invite.author.name) == ("user1003", "韩梅梅")
    assert invite.payload == {
        "action": "invite_members", "member_name": "韩梅梅", "via": "invite",
        "invited_by": "user1001", "invited_by_name": "王小明", "member_id_source": "id",
    }
    # ... a name never seen with an id becomes the identity itself (zero-width characters kept)
    ghost = by_id["2:1"]
    assert ghost.author.external_id == "Zoë\u200dZero\u200bWidth"
    assert ghost.payload["member_id_source"] == "name" and ghost.payload["invited_by"] == "user1001"
    by_link = by_id["5"]
    assert by_link.author.external_id == "user1004"
    assert by_link.payload == {"action": "join_group_by_link", "inviter": "王小明", "via": "link", "invited_by": "user1001", "invited_by_name": "王小明"}
    assert by_id["8"].payload == {"action": "pin_message", "pinned_message_id": "4"}
    assert by_id["8"].reply_to is None
    kick = by_id["9:0"]
    assert kick.author.external_id == "user1004"
    assert kick.payload == {"action": "remove_members", "member_name": "Tom <b>Lee</b>", "by": "user1001", "by_name": "王小明", "member_id_source": "id"}
    leave = by_id["10:0"]
    assert leave.author.external_id == "user1002" and leave.payload == {"action": "remove_members", "member_name": "李雷", "member_id_source": "id"}
    assert by_id["12"].payload == {"action": "boost_apply", "boosts": 1}
    assert by_id["16"].payload == {"action": "edit_group_title", "title": "运营交流群 2.0"}
    assert all(e.at.tzinfo is not None for e in events)


def test_group_option_renames_a_single_chat_export():
    events, _ = read(SINGLE, group="私域一群")
    assert {(e.group.external_id, e.group.name) for e in events} == {("1234567890", "私域一群")}


def test_full_export_imports_group_chats_and_channels_and_skips_personal_chats():
    events, rejects = read(FULL)
    assert [(r.location, r.reason) for r in rejects] == [
        ("chat 1009", "skipped personal chat"),
        ("chat 1001", "skipped saved messages"),
        ("chat 93372553", "skipped bot chat"),
    ]
    groups = {}
    for e in events:
        groups.setdefault((e.group.external_id, e.group.name), []).append(e.platform_id)
    assert groups == {
        ("2220001", "读书会"): ["1:0", "2", "3"],
        ("3330001", "每日早报"): ["1", "2"],
        ("4440001", "老同学群"): ["5"],  # from left_chats
    }
    post = next(e for e in events if e.group.external_id == "3330001" and e.platform_id == "2")
    assert (post.author.external_id, post.author.name) == ("channel3330001", "每日早报")
    assert post.payload == {"author": "编辑部"} and post.at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    reply = next(e for e in events if e.group.external_id == "2220001" and e.platform_id == "3")
    assert reply.reply_to == "2"


@pytest.mark.parametrize("wanted", ["读书会", "2220001"])
def test_full_export_group_option_picks_one_chat_by_name_or_id(wanted):
    events, rejects = read(FULL, group=wanted)
    assert rejects == []
    assert [(e.group.external_id, e.platform_id) for e in events] == [("2220001", "1:0"), ("2220001", "2"), ("2220001", "3")]
    assert events[0].group.name == "读书会"


def test_full_export_group_option_without_match_lists_group_chats():
    with pytest.raises(ImportError_) as err:
        read(FULL, group="没有这个群")
    assert "'没有这个群'" in str(err.value)
    assert "'读书会', '每日早报', '老同学群'" in str(err.value)
    # naming a personal chat explains why it is not imported, then fails the same way
    items = []
    with pytest.raises(ImportError_):
        for item in IMPORTER.read(Source(FULL), ImportOptions(tz=SHANGHAI, group="妈妈")):
            items.append(item)
    assert [(i.location, i.reason) for i in items] == [("chat 1009", "skipped personal chat")]


def test_truncated_file_keeps_events_before_the_damage():
    events, rejects = read(TG / "truncated.json")
    assert [e.platform_id for e in events] == ["1", "1:0", "1:1", "2:0", "2:1", "3", "4", "5", "6", "7"]
    assert len(rejects) == 1
    assert rejects[0].reason == "truncated or malformed JSON: import stopped here"
    assert rejects[0].location.startswith("near byte ")
    assert rejects[0].raw.endswith("(after chat 1234567890 message 7)")


def test_garbage_line_stops_the_import_with_a_reject():
    events, rejects = read(TG / "garbage_line.json")
    assert [e.platform_id for e in events] == ["1", "1:0", "1:1", "2:0", "2:1", "3", "4"]
    assert [r.reason for r in rejects] == ["truncated or malformed JSON: import stopped here"]
    assert "invalid char" in rejects[0].raw and rejects[0].raw.endswith("(after chat 1234567890 message 4)")


def test_gb18030_file_is_decoded_not_lost():
    events, rejects = read(TG / "gb18030.json")
    assert rejects == []
    assert [(e.author.name, e.text) for e in events] == [("张三", "你好，世界"), ("李四", "收到\\表情 淺歕")]
    assert events[1].reply_to == "1" and events[0].group.name == "老乡群"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_marks(tmp_path, encoding):
    f = tmp_path / "result.json"
    f.write_text(SINGLE.read_text(encoding="utf-8"), encoding=encoding)
    events, rejects = read(f)
    assert len(events) == 19 and len(rejects) == 2
    assert events[5].text == "大家好！👋 我是李雷"


def test_not_a_telegram_export(tmp_path):
    with pytest.raises(ImportError_, match="not a Telegram Desktop JSON export"):
        read(FIXTURES / "discord" / "channel.json")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(ImportError_, match="not a Telegram Desktop JSON export"):
        read(empty)
    text = tmp_path / "notes.json"
    text.write_text("这不是 JSON\n")
    with pytest.raises(ImportError_, match="not a Telegram Desktop JSON export"):
        read(text)


def _export(messages: list, name: str = "大群", chat_id: int = 777) -> dict:
    return {"name": name, "type": "public_supergroup", "id": chat_id, "messages": messages}


def test_bad_records_are_rejected_one_by_one(tmp_path):
    f = tmp_path / "result.json"
    doc = _export([
        42,
        {"type": "message", "date_unixtime": "1709280000", "text": "no id"},
        {"id": 1, "type": "message", "date": "not a date", "text": "x"},
        {"id": 2, "type": "service", "date_unixtime": "1709280000", "actor": "甲", "actor_id": "user1", "action": "invite_members", "members": [None]},
        {"id": 3, "type": "message", "date_unixtime": "1709280060", "from": None, "from_id": "user9", "text": "deleted account"},
    ])
    f.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    events, rejects = read(f)
    assert [(r.location, r.reason) for r in rejects] == [
        ("chat 777 message #0", "message is not a JSON object"),
        ("chat 777 message #1", "message without an id"),
        ("chat 777 message 1", "message without a readable date"),
        ("chat 777 message 2 member 0", "member without a name (deleted account)"),
    ]
    assert [(e.platform_id, e.author.external_id, e.author.name) for e in events] == [("3", "user9", None)]


def test_ambiguous_names_are_not_resolved(tmp_path):
    f = tmp_path / "result.json"
    doc = _export([
        {"id": 1, "type": "message", "date_unixtime": "1709280000", "from": "小张", "from_id": "user1", "text": "a"},
        {"id": 2, "type": "message", "date_unixtime": "1709280001", "from": "小张", "from_id": "user2", "text": "b"},
        {"id": 3, "type": "service", "date_unixtime": "1709280002", "actor": "群主", "actor_id": "user3", "action": "invite_members", "members": ["小张"]},
    ])
    f.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    events, _ = read(f)
    join = events[-1]
    assert join.kind == EventKind.JOIN and join.author.external_id == "小张" and join.payload["member_id_source"] == "name"


def test_huge_message_and_invisible_characters_pass_unchanged(tmp_path):
    huge = "刷屏" * 600_000 + "\u200b\u202e<script>"
    f = tmp_path / "result.json"
    doc = _export([{"id": 1, "type": "message", "date_unixtime": "1709280000", "from": "A\u200bB", "from_id": "user1", "text": huge}])
    f.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    events, rejects = read(f)
    assert rejects == [] and events[0].text == huge and events[0].author.name == "A\u200bB"


def test_memory_stays_flat_on_a_big_export(tmp_path):
    f = tmp_path / "result.json"
    with open(f, "w", encoding="utf-8") as fh:
        fh.write('{\n "name": "大群",\n "type": "public_supergroup",\n "id": 1,\n "messages": [')
        for i in range(12_000):
            msg = {"id": i + 1, "type": "message", "date_unixtime": str(1709280000 + i), "from": f"成员{i % 500}",
                   "from_id": f"user{i % 500}", "text": "这是一条很普通的消息，用来把文件撑大。" * 8}
            fh.write(("," if i else "") + "\n  " + json.dumps(msg, ensure_ascii=False))
        fh.write("\n ]\n}\n")
    size = f.stat().st_size
    assert size > 6_000_000
    tracemalloc.start()
    try:
        count = sum(1 for item in IMPORTER.read(Source(f), ImportOptions(tz=SHANGHAI)) if isinstance(item, Event))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 12_000
    assert peak < 3_000_000, f"peak {peak} bytes for a {size}-byte file"


def test_sniff():
    assert sniff(SINGLE) and sniff(FULL) and sniff(TG / "gb18030.json")
    assert not sniff(FIXTURES / "discord" / "channel.json")


def test_cli_import_twice_and_stats(cli):
    first = json.loads(cli("import", "telegram", SINGLE, "--community", "c", "--json").stdout)
    assert (first["added"], first["duplicates"], first["rejected"]) == (19, 0, 2)
    assert first["reject_reasons"] == {"unsupported message (exported without date or content)": 1, "message without a readable date": 1}
    second = json.loads(cli("import", "telegram", SINGLE, "--community", "c", "--json").stdout)
    assert (second["added"], second["duplicates"]) == (0, 19)
    comm = cli.json("stats", "--json")["communities"][0]
    assert comm["name"] == "c"
    # messages 3 4 6 7 11 17 18; speakers user1001-1004; members + the unresolved invitee
    assert (comm["messages"], comm["speakers"], comm["members"], comm["joins"], comm["leaves"]) == (7, 4, 5, 5, 2)
    assert [g["name"] for g in comm["groups"]] == ["运营交流群 🚀"]
    assert comm["first_at"] == "2024-03-01T08:00:00Z" and comm["last_at"] == "2024-03-01T13:05:00Z"


def test_cli_full_export_and_unknown_group(cli):
    summary = json.loads(cli("import", "telegram", FULL, "--community", "c", "--json").stdout)
    assert (summary["added"], summary["rejected"]) == (6, 3)
    assert summary["reject_reasons"] == {"skipped personal chat": 1, "skipped saved messages": 1, "skipped bot chat": 1}
    comm = cli.json("stats", "--json")["communities"][0]
    assert [g["name"] for g in comm["groups"]] == ["读书会", "每日早报", "老同学群"]
    result = cli("import", "telegram", FULL, "--community", "c", "--group", "nope", "--json", ok=False)
    assert result.exit_code == 1
    failed = json.loads(result.stdout)["failed_files"]
    assert len(failed) == 1 and "group chats in this export: '读书会', '每日早报', '老同学群'" in failed[0]["error"]


def test_minified_export_still_resolves_invited_names(tmp_path):
    """Name resolution must not depend on tdesktop's line layout or on where chunk boundaries fall."""
    messages = [
        {"id": i + 1, "type": "message", "date_unixtime": str(1709280000 + i), "from": f"成员{i % 300}", "from_id": f"user{i % 300}", "text": "嗨" * 20}
        for i in range(3000)
    ]
    members = [f"成员{n}" for n in range(300)]
    messages.append({"id": 5000, "type": "service", "date_unixtime": "1709290000", "actor": "群主", "actor_id": "user9999", "action": "invite_members", "members": members})
    f = tmp_path / "result.json"
    f.write_text(json.dumps(_export(messages), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    assert b"\n" not in f.read_bytes() and f.stat().st_size > 3 * (1 << 17)
    events, rejects = read(f)
    joins = [e for e in events if e.kind == EventKind.JOIN]
    assert rejects == [] and len(joins) == 300
    assert [(j.platform_id, j.author.external_id) for j in joins] == [(f"5000:{n}", f"user{n}") for n in range(300)]
    assert {j.payload["member_id_source"] for j in joins} == {"id"}


def test_minified_full_export_gives_the_same_events(tmp_path):
    f = tmp_path / "result.json"
    f.write_text(json.dumps(json.loads(FULL.read_text(encoding="utf-8")), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    assert [(e.group.external_id, e.platform_id, e.author.external_id) for e in read(f)[0]] == [
        (e.group.external_id, e.platform_id, e.author.external_id) for e in read(FULL)[0]
    ]


def test_repaired_stream_passes_utf8_through_and_transcodes_bad_lines():
    """The shared JSON byte stream (shequn.importers.jsonstream) used by the telegram and discord importers."""
    import io

    from shequn.importers.jsonstream import RepairedStream

    class Trickle(io.RawIOBase):  # returns few bytes per read, so characters straddle reads
        def __init__(self, data: bytes):
            self._data = io.BytesIO(data)

        def read(self, n=-1):
            return self._data.read(7)

    minified = ('{"a":"' + "中文😀" * 3000 + '"}').encode()
    stream = RepairedStream(Trickle(minified))
    assert b"".join(iter(lambda: stream.read(1000), b"")) == minified and stream.fallback_lines == 0
    mixed = '{\n"a": "好",\n'.encode() + '"b": "坏"\n}\n'.encode("gb18030")
    stream = RepairedStream(io.BytesIO(mixed))
    assert stream.read().decode("utf-8") == '{\n"a": "好",\n"b": "坏"\n}\n' and stream.fallback_lines == 1
