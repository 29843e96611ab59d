"""WeChat importer: WeChatMsg (留痕) and PyWxDump CSV exports, joins with referrers, replies, rejects."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.wechat import IMPORTER, sniff

DIR = FIXTURES / "wechat"
GROUP_CSV = DIR / "产品交流群(23456789012@chatroom)" / "产品交流群_utf8.csv"
PYWXDUMP_CSV = DIR / "pywxdump" / "34567890123@chatroom_0_5000.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 3, 1, 2, 0, tzinfo=timezone.utc)  # CreateTime 1709258400


def read(path: Path, **kw) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=SHANGHAI, **kw)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def by_local_id(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for e in events:
        out.setdefault(e.payload.get("local_id"), []).append(e)
    return out


def test_wechatmsg_kinds_identities_and_group():
    events, rejects = read(GROUP_CSV)
    assert len(events) == 15
    kinds = sorted(e.kind.value for e in events)
    assert kinds == sorted(["join"] * 4 + ["kick"] + ["message"] * 8 + ["system"] * 2)
    # the chat id comes from the export folder "name(id)"
    assert {(e.group.platform, e.group.external_id, e.group.name) for e in events} == {("wechat", "23456789012@chatroom", "产品交流群")}
    rows = by_local_id(events)
    (hello,) = rows["102"]
    assert hello.kind is EventKind.MESSAGE and hello.text == "欢迎两位新朋友 🎉"
    assert (hello.author.external_id, hello.author.name) == ("wxid_wxm001", "王小明")
    assert hello.at == datetime(2024, 3, 1, 2, 1, tzinfo=timezone.utc)  # CreateTime is epoch seconds (UTC)
    (image,) = rows["104"]
    assert image.kind is EventKind.MESSAGE and image.text is None and image.payload["media"] == "image"
    assert rows["105"][0].payload["media"] == "sticker" and rows["115"][0].payload["media"] == "voice"
    (own,) = rows["109"]
    assert own.author.external_id == "wxid_me" and own.payload["is_sender"] is True
    # hostile / invisible text passes through unchanged, multi-line content survives the CSV quoting
    (tom,) = rows["108"]
    assert tom.author.name == "<b>Tom</b>"
    assert tom.text == "第一行\n第二行 <script>alert(1)</script> 零\u200b宽"
    # unknown message types are kept as system events with the original type
    (odd,) = rows["112"]
    assert odd.kind is EventKind.SYSTEM and odd.payload["wechat_type"] == 9999 and odd.payload["unknown_type"] is True
    (recall,) = rows["111"]
    assert recall.kind is EventKind.SYSTEM and recall.payload["recall"] is True and recall.author is None
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 32", "unreadable CreateTime (expected epoch seconds)"),
        ("line 33", "row has 1 fields, the header has 12"),
    ]


def test_wechatmsg_joins_are_attributed_to_the_wxid_that_speaks_later():
    events, _ = read(GROUP_CSV)
    rows = by_local_id(events)
    lilei, hanmeimei = sorted(rows["101"], key=lambda e: e.platform_id)
    # "王小明"邀请"李雷、韩梅梅"加入了群聊: two joins, the second numbered .1
    assert hanmeimei.platform_id == lilei.platform_id + ".1"
    assert (lilei.kind, lilei.author.external_id, lilei.author.name) == (EventKind.JOIN, "wxid_lilei02", "李雷")
    assert hanmeimei.author.external_id == "wxid_hmm03"  # she only spoke (a voice message) at the very end
    for join in (lilei, hanmeimei):
        assert join.at == T0
        assert join.payload["invited_by"] == "王小明" and join.payload["invited_by_id"] == "wxid_wxm001"
        assert join.payload["via"] == "invite"
    # QR-code join of someone who never speaks: the nickname is the identity
    (zhao,) = rows["107"]
    assert zhao.kind is EventKind.JOIN and zhao.author.external_id == "赵六"
    assert zhao.payload["via"] == "qrcode" and zhao.payload["invited_by_id"] == "wxid_wxm001"
    # sysmsgtemplate XML carries wxids directly
    (tpl,) = rows["114"]
    assert tpl.kind is EventKind.JOIN and tpl.author.external_id == "wxid_new1"
    assert tpl.text == '"王小明"邀请"新人甲"加入了群聊' and tpl.payload["invited_by_id"] == "wxid_wxm001"
    # 你将"X"移出了群聊: the exporter ("你") is resolved through the rows they sent
    (kick,) = rows["110"]
    assert kick.kind is EventKind.KICK and kick.author.external_id == "wxid_tom"
    assert kick.payload["by"] == "你" and kick.payload["by_id"] == "wxid_me"


def test_wechatmsg_quote_reply_points_at_the_quoted_message():
    events, _ = read(GROUP_CSV)
    rows = by_local_id(events)
    (quoted,) = rows["103"]
    (reply,) = rows["106"]
    assert reply.kind is EventKind.MESSAGE and reply.text == "杭州哪里？西湖边吗"
    assert reply.reply_to == quoted.platform_id
    assert reply.payload["quote"]["chatusr"] == "wxid_lilei02" and reply.payload["app_type"] == 57


def test_wechatmsg_platform_ids_are_stable_and_content_based():
    first, _ = read(GROUP_CSV)
    second, _ = read(GROUP_CSV)
    assert [e.platform_id for e in first] == [e.platform_id for e in second]
    assert len({(e.group.external_id, e.platform_id) for e in first}) == len(first)
    hello = by_local_id(first)["102"][0]
    assert hello.platform_id.startswith("1709258460:") and len(hello.platform_id) == len("1709258460:") + 12


def test_group_option_and_file_name_fallback(tmp_path):
    events, _ = read(GROUP_CSV, group="我的群")
    assert {(e.group.external_id, e.group.name) for e in events} == {("我的群", "我的群")}
    plain = tmp_path / "运营群_utf8.csv"
    shutil.copy(GROUP_CSV, plain)
    events, _ = read(plain)
    assert {(e.group.external_id, e.group.name) for e in events} == {("运营群", "运营群")}


def test_pywxdump_export():
    events, rejects = read(PYWXDUMP_CSV)
    assert rejects == []
    assert [e.kind for e in events] == [
        EventKind.MESSAGE, EventKind.JOIN, EventKind.MESSAGE, EventKind.MESSAGE, EventKind.MESSAGE,
        EventKind.SYSTEM, EventKind.SYSTEM, EventKind.SYSTEM,
    ]
    by_id = {e.platform_id: e for e in events}
    assert {e.group.external_id for e in events} == {"34567890123@chatroom"}
    join = by_id["5000000000000000001"]  # MsgSvrID is the platform id
    assert (join.author.external_id, join.author.name) == ("wxid_xm", "小美")  # name from users.json
    assert join.payload["invited_by_id"] == "wxid_aq"
    assert by_id["5000000000000000002"].at == datetime(2024, 5, 1, 9, 1, tzinfo=SHANGHAI)  # local time, opts.tz
    reply = by_id["5000000000000000004"]
    assert reply.text == "欢迎小美" and reply.reply_to == "5000000000000000003"
    assert by_id["5000000000000000005"].author.external_id == "我" and by_id["5000000000000000005"].payload["media"] == "image"
    assert by_id["5000000000000000007"].payload == {"type_name": "神秘类型", "row_id": "7", "unknown_type": True}
    # MsgSvrID 0 (a local notice) falls back to a content-based id
    (pat,) = [e for e in events if e.payload.get("type_name") == "拍一拍"]
    assert pat.platform_id.startswith(f"{int(datetime(2024, 5, 1, 9, 6, tzinfo=SHANGHAI).timestamp())}:")


def test_gb18030_file_is_decoded():
    events, rejects = read(DIR / "gb18030.csv")
    assert rejects == []
    assert [e.text for e in events] == ["用国标编码保存的消息", "第二条，也是国标"]
    assert events[0].author.name == "张三"


def test_truncated_file_keeps_what_came_before():
    events, rejects = read(DIR / "truncated.csv")
    assert [e.text for e in events] == ["第一条", "第二条"]
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 4", "file is truncated: the last row (line 4) ends without a line break")
    ]


def test_not_a_wechat_csv_names_the_expected_columns():
    with pytest.raises(ImportError_) as exc:
        read(DIR / "not_wechat.csv")
    assert "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender" in str(exc.value)
    assert "id,MsgSvrID,type_name" in str(exc.value)


def test_huge_message_passes_through(tmp_path):
    big = "长" * 300_000 + "\n" + "x" * 200_000
    path = tmp_path / "big.csv"
    path.write_text(
        "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender\r\n"
        f'1,1,1,0,0,1709258400,2,"{big}",2024-03-01 10:00:00,,甲,wxid_a\r\n',
        encoding="utf-8-sig",
    )
    events, rejects = read(path)
    assert rejects == [] and events[0].text == big


def test_sniff():
    assert sniff(GROUP_CSV) and sniff(PYWXDUMP_CSV)
    assert not sniff(DIR / "not_wechat.csv")


def test_import_twice_through_the_cli(cli):
    first = cli.json("import", "wechat", str(GROUP_CSV), "--community", "c", "--json")
    assert (first["added"], first["duplicates"], first["rejected"]) == (15, 0, 2)
    assert first["reject_reasons"] == {"unreadable CreateTime (expected epoch seconds)": 1, "row has 1 fields, the header has 12": 1}
    again = cli.json("import", "wechat", str(GROUP_CSV), "--community", "c", "--json")
    assert (again["added"], again["duplicates"]) == (0, 15)
    (comm,) = cli.json("stats", "--json")["communities"]
    # speakers: 王小明 李雷 Tom 运营小助手 韩梅梅; members add 赵六 and 新人甲 (joined, never spoke)
    assert (comm["messages"], comm["speakers"], comm["members"], comm["joins"], comm["leaves"]) == (8, 5, 7, 4, 1)
    assert comm["first_at"] == "2024-03-01T02:00:00Z" and comm["last_at"] == "2024-03-01T02:11:40Z"
    assert [g["name"] for g in comm["groups"]] == ["产品交流群"]


def test_cli_reports_a_file_that_is_not_wechat(sqlite_cli):
    result = sqlite_cli("import", "wechat", str(DIR / "not_wechat.csv"), "--json", ok=False)
    assert result.exit_code == 1 and "not a WeChat CSV export" in result.output
