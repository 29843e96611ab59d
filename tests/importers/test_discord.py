"""DiscordChatExporter JSON importer: message types, replies, bots, payloads, damage, encodings, CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.discord import IMPORTER, sniff

DC = FIXTURES / "discord"
CHANNEL = DC / "channel.json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
ALICE, XIAOHONG, MEE6, CAROL = "100000000000000001", "100000000000000002", "159985870458322944", "100000000000000003"


def read(path: Path, group: str | None = None) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=SHANGHAI, group=group)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def pid(n: int) -> str:
    return f"12000000000000000{n:02d}"


def test_kinds_ids_group_and_rejects():
    events, rejects = read(CHANNEL)
    assert [(e.platform_id[-2:], e.kind) for e in events] == [
        ("01", EventKind.JOIN), ("02", EventKind.MESSAGE), ("03", EventKind.MESSAGE), ("04", EventKind.MESSAGE),
        ("05", EventKind.PIN), ("06", EventKind.MESSAGE), ("07", EventKind.SYSTEM), ("08", EventKind.LEAVE),
        ("09", EventKind.SYSTEM), ("12", EventKind.MESSAGE), ("13", EventKind.MESSAGE), ("14", EventKind.MESSAGE),
        ("15", EventKind.JOIN),
    ]
    assert {(e.group.platform, e.group.external_id, e.group.name) for e in events} == {
        ("discord", "853421007000000100", "开源社区 Open Source / #综合讨论")
    }
    assert [(r.location, r.reason) for r in rejects] == [
        (f"message {pid(10)}", "message without a readable timestamp"),
        (f"message {pid(11)}", "message without an author"),
    ]
    assert json.loads(rejects[0].raw)["content"] == "坏时间戳"


def test_messages_authors_replies_and_payloads():
    events, _ = read(CHANNEL)
    by_id = {e.platform_id: e for e in events}
    join = by_id[pid(1)]
    assert (join.author.external_id, join.author.name, join.author.is_bot) == (ALICE, "爱丽丝 Alice", False)
    assert join.at == datetime(2024, 3, 1, 8, 0, 0, 123000, tzinfo=UTC)
    hello = by_id[pid(2)]
    assert hello.text == "大家好 👋 第一次来 <script>alert(1)</script>"  # stored as said
    assert hello.payload == {"type": "Default", "username": "alice"}
    assert hello.at.utcoffset() == timedelta(hours=8) and hello.at.microsecond == 554123
    reply = by_id[pid(3)]
    assert reply.reply_to == pid(2) and reply.author.name == "小红"
    assert reply.payload["mentions"] == [ALICE]
    bot = by_id[pid(4)]
    assert bot.author.is_bot and bot.author.external_id == MEE6
    assert bot.payload["discriminator"] == "4876"
    assert bot.payload["embeds"] == [{"title": "Level up", "description": "level 2 🎉"}]
    pin = by_id[pid(5)]
    assert pin.author.external_id == XIAOHONG and pin.payload["pinned_message_id"] == pid(2) and pin.reply_to is None
    media = by_id[pid(6)]
    assert media.text is None and media.author.name == "<b>Carol</b>"
    assert media.payload["username"] == "carol\u200b"
    assert media.payload["attachments"] == [
        {"id": "1200000000000000900", "fileName": "photo.png", "fileSizeBytes": 123456, "url": "https://cdn.discordapp.com/attachments/1/2/photo.png"}
    ]
    assert media.payload["stickers"] == [{"id": "749054660769218631", "name": "Wave", "format": "Apng"}]
    assert media.payload["reactions"] == [{"emoji": "👍", "count": 2, "users": [ALICE, XIAOHONG]}]
    assert by_id[pid(7)].payload["type"] == "ThreadCreated"
    assert by_id[pid(9)].payload == {"type": "21", "username": "alice"}
    edited = by_id[pid(12)]
    assert edited.payload["edited_at"] == "2024-03-01T08:15:00+00:00" and edited.payload["pinned"] is True
    # a reply to a message in another channel keeps the reference but is not a reply here
    cross = by_id[pid(13)]
    assert cross.reply_to is None and cross.payload["reference"]["channelId"] == "853421007000000999"


def test_recipient_add_and_remove():
    events, _ = read(CHANNEL)
    by_id = {e.platform_id: e for e in events}
    left = by_id[pid(8)]
    assert left.kind == EventKind.LEAVE and left.author.external_id == CAROL
    added = by_id[pid(15)]
    assert added.kind == EventKind.JOIN and added.author.external_id == CAROL
    assert added.payload["invited_by"] == XIAOHONG and added.payload["invited_by_name"] == "小红"


def test_recipient_removed_by_someone_else_is_a_kick(tmp_path):
    doc = json.loads(CHANNEL.read_text(encoding="utf-8"))
    msg = next(m for m in doc["messages"] if m["id"] == pid(8))
    msg["author"] = next(m for m in doc["messages"] if m["id"] == pid(3))["author"]
    doc["messages"] = [msg]
    f = tmp_path / "kick.json"
    f.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    (kick,), _ = read(f)
    assert kick.kind == EventKind.KICK and kick.author.external_id == CAROL and kick.payload["by"] == XIAOHONG


def test_group_option_renames_the_channel():
    events, _ = read(CHANNEL, group="开发者群")
    assert {(e.group.external_id, e.group.name) for e in events} == {("853421007000000100", "开发者群")}


def test_truncated_file_keeps_events_before_the_damage():
    events, rejects = read(DC / "truncated.json")
    assert [e.platform_id for e in events] == [pid(n) for n in range(1, 6)]
    assert [r.reason for r in rejects] == ["truncated or malformed JSON: import stopped here"]
    assert rejects[0].raw.endswith(f"(after message {pid(5)})") and rejects[0].location.startswith("near byte ")


def test_garbage_line_stops_the_import_with_a_reject():
    events, rejects = read(DC / "garbage_line.json")
    assert [e.platform_id for e in events] == [pid(1), pid(2), pid(3)]
    assert len(rejects) == 1 and rejects[0].raw.endswith(f"(after message {pid(3)})")


def test_gb18030_file_is_decoded_not_lost():
    events, rejects = read(DC / "gb18030.json")
    assert rejects == []
    assert [(e.group.name, e.author.name, e.text) for e in events] == [("测试服务器 / #闲聊", "张三", "你好，世界 淺歕")]


def test_naive_timestamps_use_the_given_zone(tmp_path):
    doc = json.loads((DC / "gb18030.json").read_bytes().decode("gb18030"))
    doc["messages"][0]["timestamp"] = "2024-03-01T16:00:00"
    f = tmp_path / "naive.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (event,), _ = read(f)
    assert event.at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def test_not_a_discord_export(tmp_path):
    with pytest.raises(ImportError_, match="not a DiscordChatExporter JSON export"):
        read(FIXTURES / "telegram" / "single_chat.json")
    garbage = tmp_path / "x.json"
    garbage.write_text("<html>not json</html>")
    with pytest.raises(ImportError_, match="not a DiscordChatExporter JSON export"):
        read(garbage)
    no_messages = tmp_path / "y.json"
    no_messages.write_text('{"guild": {"id": "1", "name": "g"}, "channel": {"id": "2", "name": "c"}}')
    with pytest.raises(ImportError_, match="no 'channel' and 'messages' found"):
        read(no_messages)


def test_sniff():
    assert sniff(CHANNEL) and sniff(DC / "gb18030.json")
    assert not sniff(FIXTURES / "telegram" / "single_chat.json")


def test_cli_import_twice_and_stats(cli):
    first = json.loads(cli("import", "discord", CHANNEL, "--community", "c", "--json").stdout)
    assert (first["added"], first["duplicates"], first["rejected"]) == (13, 0, 2)
    assert first["reject_reasons"] == {"message without a readable timestamp": 1, "message without an author": 1}
    second = json.loads(cli("import", "discord", CHANNEL, "--community", "c", "--json").stdout)
    assert (second["added"], second["duplicates"]) == (0, 13)
    comm = cli.json("stats", "--json")["communities"][0]
    # messages: 02 03 06 12 13 14 (the MEE6 bot message does not count); members exclude the bot
    assert (comm["messages"], comm["speakers"], comm["members"], comm["joins"], comm["leaves"]) == (6, 3, 3, 2, 1)
    assert [g["name"] for g in comm["groups"]] == ["开源社区 Open Source / #综合讨论"]
    assert (comm["first_at"], comm["last_at"]) == ("2024-03-01T08:00:00.123000Z", "2024-03-01T08:13:00Z")
