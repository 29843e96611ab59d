"""WeChat group chats exported as CSV by WeChatMsg (留痕 / MemoTrace) or by PyWxDump.

Both tools read the decrypted message database of WeChat for Windows 3.x (table ``MSG``) and write
one CSV per chat. The format is recognised by the header row:

**WeChatMsg / 留痕 / MemoTrace** (github.com/LC044/WeChatMsg, versions 1.x-2.x, 2023-2024; "导出 CSV"):
``localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender``
written with Python's csv module in ``utf-8-sig``. ``Type``/``SubType``/``IsSender``/``CreateTime``
/``StrContent`` are the raw ``MSG`` columns (``CreateTime`` = epoch seconds, UTC);
``StrTime`` is the same instant formatted in the exporting PC's local time. For group chats the
last three columns describe the *sender* (contact remark, nickname, wxid; for messages the
exporter sent: the exporter's own; for system notices: empty). Older versions wrote only the
first nine columns; those files import, but group messages then have no sender and are rejected.
The file is ``<chat remark>.csv`` or ``<chat remark>_utf8.csv``, usually inside a folder
``<chat remark>(<chat id>)``; a group's chat id ends in ``@chatroom``.

**PyWxDump** (github.com/xaoyaoo/PyWxDump, v3.0-3.1, 2024; ``export_csv``):
``id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime`` (earlier 3.0 builds:
``content`` instead of ``msg`` and no ``src``), UTF-8, in files ``<chat id>_<from>_<to>.csv``.
``type_name`` is PyWxDump's Chinese name of (Type, SubType) ("文本", "图片", "系统通知", "引用回复",
...); ``talker`` is the sender's wxid ("我" or the exporter's wxid for own messages); ``room_name``
is the chat id; ``CreateTime`` is local time "YYYY-MM-DD HH:MM:SS" (read in ``opts.tz``). A
``users.json`` written next to the CSVs (wxid -> nickname/remark) supplies display names.

Message types (``MSG.Type``): 1 text, 3 image, 34 voice, 42 contact card, 43 video, 47 sticker,
48 location, 49 app message (link, file, quote-reply = SubType 57, transfer 2000 ...), 50 call,
10000 system notice (plain text), 10002 system XML (``sysmsgtemplate``, ``revokemsg``).
Human messages of every media type become ``message`` events (media kind in ``payload["media"]``);
system notices become ``join`` / ``kick`` / ``system``:

- ``"A"邀请"B、C"加入了群聊`` → a join for B and for C, ``payload["invited_by"] = "A"``;
- ``"B"通过扫描"A"分享的二维码加入群聊`` → a join for B, ``invited_by`` A, ``via`` "qrcode";
- ``"A"将"B"移出了群聊`` / ``你被"A"移出群聊`` → a kick of B, ``payload["by"] = "A"``;
- ``sysmsgtemplate`` XML notices (``"$username$"邀请"$names$"加入了群聊`` with a member list) give
  the same events with wxids (``invited_by_id``);
- anything else (recalls, pats, group renames, privacy hints, calls, unknown types) → ``system``
  with ``payload["wechat_type"]``.

Notices name people by display name ("你" is the exporter). A join is attributed to the wxid that
later sends messages under that nickname or remark (see ``multiline.NameBook``); names never seen
with a wxid stay the identity. Identity of a message = the sender's wxid, else the nickname.

Platform ids: PyWxDump rows use ``MsgSvrID`` (WeChat's server id). WeChatMsg does not export it and
its ``localId`` is renumbered whenever the database is decrypted and merged again, so its rows get
``<CreateTime>:<12 hex digits of sha1(sender, type, subtype, content)>`` (``-2``, ``-3`` ... for an
identical row in the same second): stable across re-exports, so a newer export of the same group
only adds what is new. A notice that yields several joins numbers the extra ones ``<id>.1``, ``<id>.2``.

Group: ``--group G`` puts every row in group G (id and name). Otherwise a WeChatMsg file belongs
to the chat id of its ``name(id)`` folder (name = folder name), or else to the file name without
``.csv``/``_utf8``; a PyWxDump row belongs to its ``room_name``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions, Source
from shequn.importers.multiline import MAX_NAME, Line, NameBook, read_lines

PLATFORM = "wechat"
FALLBACKS = ("gb18030",)

WECHATMSG_COLUMNS = (
    "localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status", "StrContent", "StrTime", "Remark", "NickName", "Sender",
)
WECHATMSG_REQUIRED = frozenset({"localId", "Type", "SubType", "IsSender", "CreateTime", "StrContent"})
PYWXDUMP_COLUMNS = ("id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime")
PYWXDUMP_REQUIRED = frozenset({"MsgSvrID", "type_name", "is_sender", "talker", "room_name", "CreateTime"})

MEDIA = {3: "image", 34: "voice", 42: "card", 43: "video", 47: "sticker", 48: "location", 62: "video"}
APP_MEDIA = {
    0: "file", 1: "text", 3: "music", 4: "link", 5: "link", 6: "file", 8: "sticker", 17: "live_location", 19: "chat_history",
    24: "note", 33: "mini_program", 36: "mini_program", 50: "channels_card", 51: "channels_video", 53: "solitaire",
    57: "quote", 63: "live", 87: "announcement", 2000: "transfer", 2001: "red_packet", 2003: "red_packet_cover",
}
#: PyWxDump's type_name -> (Type, SubType), from its type_converter table
PYWXDUMP_TYPES = {
    "文本": (1, 0), "图片": (3, 0), "语音": (34, 0), "添加好友": (37, 0), "推荐公众号": (42, 0), "视频": (43, 0),
    "动画表情": (47, 0), "位置": (48, 0), "文件": (49, 6), "粘贴的文本": (49, 1), "(分享)音乐": (49, 3),
    "(分享)卡片式链接": (49, 5), "游戏相关": (49, 7), "用户上传的GIF表情": (49, 8), "位置共享": (49, 17),
    "合并转发的聊天记录": (49, 19), "(分享)笔记": (49, 24), "(分享)小程序": (49, 33), "(分享)收藏夹": (49, 40),
    "(分享)小说(猜)": (49, 44), "(分享)视频号名片": (49, 50), "(分享)视频号视频": (49, 51), "接龙": (49, 53),
    "引用回复": (49, 57), "视频号直播或直播回放": (49, 63), "文件(猜)": (49, 74), "群公告": (49, 87),
    "视频号直播或直播回放等": (49, 88), "转账": (49, 2000), "赠送红包封面": (49, 2003), "语音通话": (50, 0),
    "企业微信打招呼(猜)": (65, 0), "企业微信添加好友(猜)": (66, 0), "系统通知": (10000, 0), "消息撤回1": (10000, 1),
    "拍一拍": (10000, 4), "消息撤回5": (10000, 5), "消息撤回6": (10000, 6), "消息撤回33": (10000, 33),
    "消息撤回36": (10000, 36), "消息撤回57": (10000, 57), "邀请加群": (10000, 8000),
}
PYWXDUMP_NO_SENDER = {"", "未知", "系统"}

Q = "[\"“”]"
NAME = "[^\"“”]+"  # a quoted name never spans quotes, so "A"邀请你和"B"… cannot be misread as one name
WHO = rf"(?:{Q}(?P<who>{NAME}){Q}|(?P<who_you>你))"
BY = rf"(?:{Q}(?P<by>{NAME}){Q}|(?P<by_you>你))"
JOIN_INVITED = re.compile(rf"^{BY}\s*邀请\s*{WHO}\s*加入了?群聊")
JOIN_QRCODE = re.compile(rf"^{WHO}\s*通过扫描\s*{BY}\s*分享的二维码加入群聊")
JOIN_QRCODE_ANON = re.compile(rf"^{WHO}\s*通过扫描二维码加入群聊")
JOIN_PLAIN = re.compile(rf"^{WHO}\s*(?:已)?加入了?群聊")
KICKED = re.compile(rf"^{BY}\s*将\s*{WHO}\s*移出了?群聊")
KICKED_YOU = re.compile(rf"^(?P<who_you>你)被\s*{Q}(?P<by>{NAME}){Q}\s*移出(?:了)?群聊")
LEFT = re.compile(rf"^{WHO}\s*(?:已)?退出了?群聊")
RECALL = re.compile(r"撤回了一条消息")
PYWXDUMP_QUOTE = re.compile(r"\n\n\[引用\]\((?P<time>[^)]*)\)(?P<rest>.*)\Z", re.S)
STRIP_SENDER_PREFIX = re.compile(r"^[^<\n]{1,80}:\n(?=<)")

REPLY_INDEX = 20_000
DUP_INDEX = 10_000


def _set_field_limit() -> None:
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


# ---------------------------------------------------------------- XML helpers


def _xml(content: str | None) -> ET.Element | None:
    if not content or "<" not in content:
        return None
    text = STRIP_SENDER_PREFIX.sub("", content.strip(), count=1)
    if not text.startswith("<") or "<!DOCTYPE" in text or "<!ENTITY" in text:
        return None
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def _find_text(root: ET.Element, path: str) -> str | None:
    el = root.find(path)
    return el.text if el is not None and el.text is not None else None


def _template(root: ET.Element) -> tuple[str, dict[str, list[tuple[str, str]]]] | None:
    """A ``sysmsgtemplate`` notice: (template text, {link name: [(wxid, nickname), ...]})."""
    tpl = root.find(".//sysmsgtemplate/content_template")
    if tpl is None:
        return None
    text = _find_text(tpl, "template")
    if not text:
        return None
    links: dict[str, list[tuple[str, str]]] = {}
    for link in tpl.findall("./link_list/link"):
        members = []
        for m in link.findall("./memberlist/member"):
            wxid = (_find_text(m, "username") or "").strip()
            nick = _find_text(m, "nickname") or wxid
            if wxid or nick:
                members.append((wxid, nick))
        links[link.get("name", "")] = members
    return text, links


# ---------------------------------------------------------------- the reader


class _Feed:
    """Feeds decoded lines to csv.reader and remembers what the last physical line looked like."""

    def __init__(self, lines: Iterator[Line]):
        self._it = lines
        self.last: Line | None = None
        self.flags: set[str] = set()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.last = line
        if line.too_long:
            self.flags.add("too_long")
        return line.text + line.end


class _Reader:
    def __init__(self, source: Source, opts: ImportOptions):
        self.source = source
        self.opts = opts
        self.path = source.path
        self.book = NameBook()
        self.replies: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.dups: OrderedDict[str, int] = OrderedDict()
        self.users: dict[str, str] = {}
        self.fixed_group: GroupRef | None = None

    # -- helpers
    def reject(self, lineno: int, reason: str, raw: str | None) -> Reject:
        return Reject(self.source.name, f"line {lineno}", reason, (raw or "")[:2000])

    def remember_reply_target(self, author: str | None, text: str | None, pid: str) -> None:
        if not author or not text:
            return
        key = (author, text)
        self.replies[key] = pid
        self.replies.move_to_end(key)
        if len(self.replies) > REPLY_INDEX:
            self.replies.popitem(last=False)

    def content_id(self, ts: str, sender: str, typ: int, sub: int, content: str) -> str:
        digest = hashlib.sha1(f"{sender}\x1f{typ}\x1f{sub}\x1f{content}".encode("utf-8", "surrogatepass")).hexdigest()[:12]
        base = f"{ts}:{digest}"
        n = self.dups.get(base, 0) + 1
        self.dups[base] = n
        self.dups.move_to_end(base)
        if len(self.dups) > DUP_INDEX:
            self.dups.popitem(last=False)
        return base if n == 1 else f"{base}-{n}"

    # -- group
    def wechatmsg_group(self) -> GroupRef:
        if self.opts.group:
            return GroupRef(PLATFORM, self.opts.group, self.opts.group)
        stem = self.path.stem
        if stem.endswith("_utf8"):
            stem = stem[: -len("_utf8")]
        folder = self.path.resolve().parent.name
        m = re.match(r"^(?P<name>.*)\((?P<id>[^()\s]+)\)$", folder)
        if m and (m.group("id").endswith("@chatroom") or m.group("name") == stem):
            return GroupRef(PLATFORM, m.group("id"), m.group("name") or stem)
        return GroupRef(PLATFORM, stem, stem)

    def pywxdump_group(self, room: str) -> GroupRef | None:
        if self.opts.group:
            return GroupRef(PLATFORM, self.opts.group, self.opts.group)
        return GroupRef(PLATFORM, room, room) if room else None

    def load_users(self) -> None:
        users = self.path.parent / "users.json"
        try:
            if not users.is_file() or users.stat().st_size > 64 << 20:
                return
            data = json.loads(users.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            for wxid, info in data.items():
                if isinstance(info, dict):
                    name = info.get("nickname") or info.get("remark") or info.get("account")
                    if isinstance(name, str) and name:
                        self.users[str(wxid)] = name.replace("\x00", "\ufffd")

    # -- main loop
    def read(self) -> Iterator[Event | Reject]:
        _set_field_limit()
        feed = _Feed(read_lines(self.source, FALLBACKS))
        reader = csv.reader(feed, strict=False)
        try:
            header = next(reader)
        except StopIteration:
            raise ImportError_(f"{self.source.name}: empty file, expected a WeChatMsg or PyWxDump CSV export") from None
        except csv.Error as exc:
            raise ImportError_(f"{self.source.name}: not a CSV file ({exc})") from None
        cols = [c.strip() for c in header]
        if WECHATMSG_REQUIRED <= set(cols):
            mode = "wechatmsg"
        elif PYWXDUMP_REQUIRED <= set(cols) and ({"msg", "content"} & set(cols)):
            mode = "pywxdump"
            self.load_users()
        else:
            raise ImportError_(
                f"{self.source.name}: not a WeChat CSV export. Expected a header row with the WeChatMsg (留痕) columns "
                f"{','.join(WECHATMSG_COLUMNS)} or the PyWxDump columns {','.join(PYWXDUMP_COLUMNS)}; "
                f"found {','.join(cols)[:300]!r}"
            )
        index = {c: i for i, c in enumerate(cols)}
        if mode == "wechatmsg":
            self.fixed_group = self.wechatmsg_group()
        handle = self.wechatmsg_row if mode == "wechatmsg" else self.pywxdump_row
        while True:
            start = reader.line_num + 1  # 1-based first physical line of the next row
            feed.flags.clear()
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield self.reject(start, f"unreadable CSV row: {exc}", feed.last.text if feed.last else None)
                if feed.last is not None and not feed.last.end:
                    break
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            raw = ",".join(row)
            if feed.last is not None and not feed.last.end:
                # csv writers end every row with a line break: a last row without one was cut off
                yield self.reject(start, f"file is truncated: the last row (line {start}) ends without a line break", raw)
                break
            if "too_long" in feed.flags:
                yield self.reject(start, "line longer than 16 MiB", raw[:500])
                continue
            if len(row) != len(cols):
                yield self.reject(start, f"row has {len(row)} fields, the header has {len(cols)}", raw)
                continue
            fields = {c: row[i] for c, i in index.items()}
            yield from handle(fields, start, raw)
        yield from self.book.flush()

    # -- WeChatMsg
    def wechatmsg_row(self, f: dict[str, str], lineno: int, raw: str) -> Iterator[Event | Reject]:
        try:
            typ = int(f["Type"])
            sub = int(f["SubType"] or 0)
        except ValueError:
            yield self.reject(lineno, "unreadable Type/SubType", raw)
            return
        ts = f["CreateTime"].strip()
        try:
            at = datetime.fromtimestamp(int(ts), timezone.utc)
        except (ValueError, OverflowError, OSError):
            yield self.reject(lineno, "unreadable CreateTime (expected epoch seconds)", raw)
            return
        is_sender = f["IsSender"].strip() == "1"
        sender = (f.get("Sender") or "").strip()
        nick = f.get("NickName") or ""
        remark = f.get("Remark") or ""
        content = f["StrContent"]
        ext = sender or nick or remark
        if len(ext) > MAX_NAME:
            yield self.reject(lineno, "sender longer than 200 characters", raw)
            return
        author = Author(ext, (nick or remark or ext)[:500]) if ext else None
        if sender:
            yield from self.book.learn(nick, sender, nick or None)
            if remark and remark != nick:
                yield from self.book.learn(remark, sender, nick or remark)
            if is_sender:
                yield from self.book.learn("你", sender, nick or None)
        pid = self.content_id(ts, ext, typ, sub, content)
        payload = {"wechat_type": typ, "subtype": sub, "local_id": f["localId"]}
        if f.get("TalkerId"):
            payload["talker_id"] = f["TalkerId"]
        if is_sender:
            payload["is_sender"] = True
        yield from self.build(self.fixed_group, pid, at, typ, sub, content, author, payload, lineno, raw)

    # -- PyWxDump
    def pywxdump_row(self, f: dict[str, str], lineno: int, raw: str) -> Iterator[Event | Reject]:
        type_name = f["type_name"].strip()
        typ, sub = PYWXDUMP_TYPES.get(type_name, (None, None))
        when = f["CreateTime"].strip()
        try:
            if when.isdigit():
                secs = int(when) / (1000 if len(when) == 13 else 1)
                at = datetime.fromtimestamp(secs, timezone.utc)
            else:
                at = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=self.opts.tz)
        except (ValueError, OverflowError, OSError):
            yield self.reject(lineno, "unreadable CreateTime (expected YYYY-MM-DD HH:MM:SS)", raw)
            return
        group = self.pywxdump_group(f["room_name"].strip())
        if group is None or len(group.external_id) > 500:
            yield self.reject(lineno, "row has no usable room_name and no --group was given", raw)
            return
        talker = f["talker"].strip()
        if len(talker) > MAX_NAME:
            yield self.reject(lineno, "talker longer than 200 characters", raw)
            return
        is_sender = f["is_sender"].strip() == "1"
        content = f.get("msg", f.get("content", "")) or ""
        author = None
        if talker not in PYWXDUMP_NO_SENDER:
            name = (self.users.get(talker) or talker)[:500]
            author = Author(talker, name)
            yield from self.book.learn(name, talker, name)
            if is_sender:
                yield from self.book.learn("你", talker, name)
        svr = f["MsgSvrID"].strip()
        if re.fullmatch(r"-?\d{1,30}", svr) and svr.lstrip("-") != "0":
            pid = svr
        else:
            pid = self.content_id(str(int(at.timestamp())), talker, typ or 0, sub or 0, f"{type_name}\x1f{content}")
        payload = {"type_name": type_name, "row_id": f.get("id", "")}
        if f.get("src"):
            payload["src"] = f["src"]
        if is_sender:
            payload["is_sender"] = True
        if typ is None:  # "未知-11000,0" or a name newer than this table: keep it, never guess it is chat
            payload["unknown_type"] = True
            yield Event(group, pid, EventKind.SYSTEM, at, author, text=content or None, payload=payload)
            return
        payload["wechat_type"], payload["subtype"] = typ, sub
        yield from self.build(group, pid, at, typ, sub, content, author, payload, lineno, raw, pywxdump=True)

    # -- shared classification
    def build(
        self, group: GroupRef, pid: str, at: datetime, typ: int, sub: int, content: str, author: Author | None,
        payload: dict, lineno: int, raw: str, pywxdump: bool = False,
    ) -> Iterator[Event | Reject]:
        if typ in (10000, 10002):
            yield from self.system(group, pid, at, typ, content, payload)
            return
        if author is None:
            if typ in (1, 3, 34, 42, 43, 47, 48, 49, 62):
                yield self.reject(lineno, "message without a sender (no Sender/NickName in the row)", raw)
                return
            yield Event(group, pid, EventKind.SYSTEM, at, None, text=content or None, payload=payload)
            return
        if typ == 1:
            yield Event(group, pid, EventKind.MESSAGE, at, author, text=content, payload=payload)
            self.remember_reply_target(author.external_id, content, pid)
            return
        if typ in MEDIA:
            payload["media"] = MEDIA[typ]
            if content:
                payload["content"] = content
            yield Event(group, pid, EventKind.MESSAGE, at, author, text=None, payload=payload)
            return
        if typ == 49:
            yield self.app_message(group, pid, at, sub, content, author, payload, pywxdump)
            return
        if typ == 50:
            payload["media"] = "call"
            yield Event(group, pid, EventKind.SYSTEM, at, author, text=content or None, payload=payload)
            return
        payload["unknown_type"] = True
        yield Event(group, pid, EventKind.SYSTEM, at, author, text=content or None, payload=payload)

    def app_message(
        self, group: GroupRef, pid: str, at: datetime, sub: int, content: str, author: Author, payload: dict, pywxdump: bool
    ) -> Event:
        text: str | None = content or None
        reply_to = None
        root = None if pywxdump else _xml(content)
        app_type = sub
        if root is not None:
            appmsg = root if root.tag == "appmsg" else root.find(".//appmsg")
            if appmsg is not None:
                text = _find_text(appmsg, "title")
                try:
                    app_type = int(_find_text(appmsg, "type") or sub)
                except ValueError:
                    pass
                for key in ("des", "url"):
                    if value := _find_text(appmsg, key):
                        payload[key] = value
                refer = appmsg.find("refermsg")
                if refer is not None:
                    quote = {k: _find_text(refer, k) for k in ("svrid", "chatusr", "fromusr", "displayname", "content", "createtime")}
                    payload["quote"] = {k: v for k, v in quote.items() if v}
                    who = quote["chatusr"] or self.book.lookup(quote["displayname"])
                    if who and quote["content"]:
                        reply_to = self.replies.get((who, quote["content"]))
            payload["content"] = content
        elif pywxdump and sub == 57 and (m := PYWXDUMP_QUOTE.search(content)):
            text = content[: m.start()]
            name, _, quoted = m.group("rest").partition(":")
            payload["quote"] = {"time": m.group("time"), "displayname": name, "content": quoted}
            who = self.book.lookup(name)
            if who:
                reply_to = self.replies.get((who, quoted))
        elif content and content.lstrip().startswith("<"):
            payload["content"] = content
            text = None
        payload["app_type"] = app_type
        if app_type == 57:  # a quote-reply is a text message that cites another one
            self.remember_reply_target(author.external_id, text, pid)
        else:
            payload["media"] = APP_MEDIA.get(app_type, "app")
        return Event(group, pid, EventKind.MESSAGE, at, author, text=text, reply_to=reply_to, payload=payload)

    def system(self, group: GroupRef, pid: str, at: datetime, typ: int, content: str, payload: dict) -> Iterator[Event]:
        text = content
        links: dict[str, list[tuple[str, str]]] = {}
        root = _xml(content)
        if root is not None:
            tpl = _template(root)
            if tpl is not None:
                text, links = tpl
                payload["template"] = text
                for members in links.values():
                    for wxid, nick in members:
                        if wxid:
                            yield from self.book.learn(nick, wxid, nick)
            elif root.get("type") == "revokemsg" or root.find(".//revokemsg") is not None:
                payload["recall"] = True
                text = _find_text(root, ".//revokemsg/content") or content
            else:
                payload["content"] = content
                text = _find_text(root, ".//plain") or _find_text(root, ".//content") or content
        display = self.render(text, links)
        for pattern, kind, via in (
            (JOIN_INVITED, EventKind.JOIN, "invite"),
            (JOIN_QRCODE, EventKind.JOIN, "qrcode"),
            (JOIN_QRCODE_ANON, EventKind.JOIN, "qrcode"),
            (KICKED, EventKind.KICK, None),
            (KICKED_YOU, EventKind.KICK, None),
            (JOIN_PLAIN, EventKind.JOIN, None),
            (LEFT, EventKind.LEAVE, None),
        ):
            m = pattern.match(text)
            if not m:
                continue
            groups = m.groupdict()
            whos = self.people(groups.get("who_you") or groups.get("who"), links)
            if not whos or any(len(name) > MAX_NAME or len(wxid or "") > MAX_NAME for wxid, name in whos):
                break
            by = self.people(groups.get("by_you") or groups.get("by"), links)
            by_name = "、".join(name for _, name in by)[:500] or None
            by_id = by[0][0] if len(by) == 1 else None
            for i, (wxid, name) in enumerate(whos):
                event_id = pid if i == 0 else f"{pid}.{i}"
                extra = dict(payload)
                if via:
                    extra["via"] = via
                if by_name:
                    extra["invited_by" if kind is EventKind.JOIN else "by"] = by_name
                yield from self.person_event(group, event_id, kind, at, display, extra, wxid, name, by_name, by_id)
            return
        if RECALL.search(display):
            payload["recall"] = True
        yield Event(group, pid, EventKind.SYSTEM, at, None, text=display, payload=payload)

    def people(self, captured: str | None, links: dict[str, list[tuple[str, str]]]) -> list[tuple[str | None, str]]:
        """(wxid or None, display name) for a captured name, a ``$link$`` placeholder or "你"."""
        if not captured:
            return []
        captured = captured.strip()
        if captured.startswith("$") and captured.endswith("$") and captured[1:-1] in links:
            return [(wxid or None, nick) for wxid, nick in links[captured[1:-1]]]
        if captured == "你" or self.book.lookup(captured):
            return [(None, captured)]
        return [(None, name) for name in captured.split("、") if name.strip()] or [(None, captured)]

    def render(self, text: str, links: dict[str, list[tuple[str, str]]]) -> str:
        if not links:
            return text
        for name, members in links.items():
            text = text.replace(f"${name}$", "、".join(nick for _, nick in members))
        return text

    def person_event(
        self, group: GroupRef, pid: str, kind: EventKind, at: datetime, text: str, payload: dict,
        wxid: str | None, name: str, by_name: str | None, by_id: str | None,
    ) -> list[Event]:
        author = Author(wxid, name) if wxid else None
        return self.book.person_event(group, pid, kind, at, text, payload, author, name, by_name, by_id)


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    yield from _Reader(source, opts).read()


def sniff(path: Path) -> bool:
    """True if the first line is a WeChatMsg or PyWxDump CSV header."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4096).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    cols = {c.strip() for c in first.strip().split(",")}
    return WECHATMSG_REQUIRED <= cols or (PYWXDUMP_REQUIRED <= cols and bool({"msg", "content"} & cols))


IMPORTER = Importer(
    name="wechat",
    description="WeChat chats exported as CSV by WeChatMsg (留痕/MemoTrace) or PyWxDump (header row decides)",
    patterns=("*.csv",),
    naive_time_zone="community",
    read=read,
    sniff=sniff,
)
