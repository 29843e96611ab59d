"""QQ importer: classic QQ text export, sections, notices, encodings, truncation, rejects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.qq import IMPORTER, sniff

DIR = FIXTURES / "qq"
FULL = DIR / "全部消息记录.txt"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(path: Path, **kw) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=SHANGHAI, **kw)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def test_full_export_records_and_sections():
    events, rejects = read(FULL)
    by_id = {e.platform_id: e for e in events}
    assert len(events) == 12
    assert sorted(by_id) == sorted(
        f"全部消息记录:{n}" for n in (8, 11, 14, 18, 21, 24, 27, 33, 36, 39, 49, 52)
    )
    first = by_id["全部消息记录:8"]
    assert first.kind is EventKind.MESSAGE and first.text == "大家早，今天讨论新版本 🎉"
    assert (first.author.external_id, first.author.name) == ("10001", "王小明")
    assert first.at == datetime(2020, 3, 1, 9, 5, 7, tzinfo=SHANGHAI)  # one-digit hour, local time
    # multi-line content, placeholders stay in the text and are flagged
    lilei = by_id["全部消息记录:14"]
    assert lilei.text == "大家好，我是李雷\n来自杭州 [图片]" and lilei.payload == {"placeholders": ["图片"]}
    titled = by_id["全部消息记录:18"]
    assert titled.author.external_id == "10001" and titled.author.name == "【管理员】王小明"
    assert titled.payload == {"placeholders": ["表情"], "mentions": ["李雷"], "title": "管理员"}
    # the account is the last (digits) on the header line; hostile text passes through
    paren = by_id["全部消息记录:21"]
    assert (paren.author.external_id, paren.author.name) == ("30003", "小红(学生)")
    assert paren.text == "(我的昵称里有括号) <b>粗体</b> 零\u200b宽"
    mail = by_id["全部消息记录:27"]
    assert mail.author.external_id == "hmm@example.com" and mail.author.name == "韩梅梅"
    # every 消息对象 section is its own group
    assert by_id["全部消息记录:49"].group.external_id == "第二个群" and first.group.external_id == "产品交流群"
    assert by_id["全部消息记录:49"].at == datetime(2020, 3, 2, 20, 43, 38, tzinfo=SHANGHAI)  # "8:43:38 PM"
    assert {e.group.platform for e in events} == {"qq"}
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 31", "impossible date or time in message header"),
        ("line 48", "text outside any message (no 'YYYY-MM-DD H:MM:SS nickname(QQ号)' header above it)"),
    ]


def test_system_notices_become_joins_leaves_kicks():
    events, _ = read(FULL)
    by_id = {e.platform_id: e for e in events}
    join = by_id["全部消息记录:11"]  # 王小明邀请李雷加入了本群。
    assert join.kind is EventKind.JOIN and join.author.external_id == "20002"  # resolved: 李雷 spoke later as 20002
    assert join.payload == {"system_account": "10000", "invited_by": "王小明", "invited_by_id": "10001"}
    leave = by_id["全部消息记录:24"]  # 小红(学生)退出了本群。
    assert leave.kind is EventKind.LEAVE and leave.author.external_id == "30003"
    kick = by_id["全部消息记录:33"]  # 赵六被管理员移出本群。 (never spoke: the nickname is the identity)
    assert kick.kind is EventKind.KICK and kick.author.external_id == "赵六" and kick.payload["by"] == "管理员"
    assert kick.group.external_id == "产品交流群"
    recall = by_id["全部消息记录:36"]
    assert recall.kind is EventKind.SYSTEM and recall.payload["recall"] is True and recall.author is None
    rename = by_id["全部消息记录:39"]  # an unrecognised notice from 系统消息(1000000) stays a system event
    assert rename.kind is EventKind.SYSTEM and rename.text == "群主修改了群名称为 产品交流群2"
    newcomer = by_id["全部消息记录:52"]
    assert newcomer.kind is EventKind.JOIN and newcomer.group.external_id == "第二个群" and newcomer.author.external_id == "新人丙"


def test_group_option_puts_every_section_in_one_group():
    events, _ = read(FULL, group="运营总群")
    assert {(e.group.external_id, e.group.name) for e in events} == {("运营总群", "运营总群")}


@pytest.mark.parametrize("name", ["gb18030.txt", "utf16.txt"])
def test_other_encodings(name):
    events, rejects = read(DIR / name)
    assert rejects == []
    assert [(e.author.name, e.text) for e in events] == [("张三", "国标编码的一条消息"), ("李四", "第二条")]
    assert {e.group.name for e in events} == {"编码测试群"}


def test_truncated_file_keeps_what_came_before():
    events, rejects = read(DIR / "truncated.txt")
    assert [e.text for e in events] == ["国标编码的一条消息", "第二条"]
    assert [(r.location, r.reason) for r in rejects] == [("line 15", "file is truncated at line 16 (in the middle of a character)")]


def test_not_a_qq_export():
    with pytest.raises(ImportError_, match="not a QQ text export"):
        read(DIR / "not_qq.txt")


def test_huge_message_passes_through(tmp_path):
    big = "\n".join(["很长的一行" * 2000] * 100)
    path = tmp_path / "big.txt"
    path.write_text(f"消息对象:大群\n\n2020-01-01 10:00:00 甲(12345)\n{big}\n\n", encoding="utf-8")
    events, rejects = read(path)
    assert rejects == [] and events[0].text == big


def test_sniff():
    assert sniff(FULL) and sniff(DIR / "utf16.txt") and sniff(DIR / "gb18030.txt")
    assert not sniff(DIR / "not_qq.txt")


def test_import_twice_through_the_cli(cli):
    first = cli.json("import", "qq", str(FULL), "--community", "c", "--json")
    assert (first["added"], first["duplicates"], first["rejected"]) == (12, 0, 2)
    again = cli.json("import", "qq", str(FULL), "--community", "c", "--json")
    assert (again["added"], again["duplicates"]) == (0, 12)
    (comm,) = cli.json("stats", "--json")["communities"]
    # speakers: 10001 20002 30003 hmm@example.com 50005; members add 赵六 and 新人丙
    assert (comm["messages"], comm["speakers"], comm["members"], comm["joins"], comm["leaves"]) == (6, 5, 7, 2, 2)
    groups = {g["name"]: g for g in comm["groups"]}
    assert set(groups) == {"产品交流群", "第二个群"}
    assert (groups["第二个群"]["messages"], groups["第二个群"]["joins"]) == (1, 1)
    assert comm["first_at"] == "2020-03-01T01:05:07Z" and comm["last_at"] == "2020-03-02T12:44:00Z"
