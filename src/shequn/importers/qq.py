"""QQ group history exported as text by the classic QQ for Windows (QQ 8.x-9.7, "消息管理器 →
导出消息记录 → 文本文件 (*.txt)"). QQ NT (9.9+) has no text export.

The file starts with a header block, then one section per chat::

    消息记录（此消息记录为文本格式，不支持重新导入）

    ================================================================
    消息分组:我的QQ群
    ================================================================
    消息对象:产品交流群
    ================================================================

    2020-03-01 9:05:07 王小明(10001)
    大家早
    今天讨论新版本

    2020-03-01 9:06:12 李雷<lilei@example.com>
    [图片]早！

A record is a header line ``YYYY-MM-DD H:MM:SS nickname(QQ号)`` or ``... nickname<email>``
(hours may have one digit; an English-locale Windows writes ``8:43:38 PM``) followed by its
content lines; a blank line separates records. Nicknames may contain parentheses: the account is
the *last* ``(digits)`` or ``<email>`` on the line. Times are local and read in ``opts.tz``.
Files are UTF-8 with a BOM, GB18030, or UTF-16 (with or without BOM); all are read.

Mapping:

- a record from ``系统消息(10000)`` / ``系统消息(1000000)`` is a notice: "X加入本群" / "X邀请Y加入了本群"
  → ``join`` (``payload["invited_by"]``), "X退出了本群" → ``leave``, "X被管理员移出本群" / "A将X移出了本群"
  → ``kick`` (``payload["by"]``), anything else (recalls, renames, mutes ...) → ``system``;
- every other record is a ``message``: author = the QQ number (or e-mail), name = the nickname as
  written; the text keeps QQ's placeholders (``[图片]``, ``[表情]`` ...), listed in
  ``payload["placeholders"]``; ``@name`` mentions are listed in ``payload["mentions"]``. The text
  export carries no reply links, so ``reply_to`` is never set.

Notices name people by nickname; a join is attributed to the QQ number that later speaks under that
nickname (``multiline.NameBook``), else the nickname is the identity.

Each ``消息对象:`` section is its own group (id and name = the 消息对象 text); records before any
section header go to a group named after the file. ``--group G`` puts every section in group G.
Platform ids are ``<file stem>:<0-based line of the record's header>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions, Source
from shequn.importers.multiline import BREAK, HEAD, MAX_NAME, Line, Loose, NameBook, Record, assemble, read_lines

PLATFORM = "qq"
SYSTEM_ACCOUNTS = {"10000", "1000000"}
#: non-empty lines without any QQ structure after which a file is declared not a QQ export
SNIFF_LINES = 200

HEADER = re.compile(
    r"^(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2}) (?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?: ?(?P<ampm>[AaPp][Mm]))? (?P<rest>.*?)\s*$"
)
ACCOUNT_QQ = re.compile(r"^(?P<name>.*)\((?P<id>\d{4,})\)$")
ACCOUNT_MAIL = re.compile(r"^(?P<name>.*)<(?P<id>[^<>\s]+@[^<>\s]+)>$")
PARTIAL_HEADER = re.compile(r"^\d{4}[-/]\d{0,2}")
SEPARATOR = re.compile(r"^={8,}\s*$")
FOLDER = re.compile(r"^消息分组[:：](?P<v>.*)$")
TARGET = re.compile(r"^消息对象[:：](?P<v>.*?)\s*$")
TITLE = "消息记录"

PLACEHOLDER = re.compile(
    r"\[(图片|表情|语音|视频|文件|闪照|QQ红包|红包|位置|名片|链接|动画表情|戳一戳|礼物|音乐|分享|转账|视频通话|语音通话|聊天记录|小程序|超级表情|回复)\]"
)
MENTION = re.compile(r"(?:(?<=\s)|^)@(?P<n>[^\s@]{1,40})")
TITLE_PREFIX = re.compile(r"^【(?P<t>[^】]{1,20})】")

GROUP_WORD = r"(?:本群|群聊|该群)"
JOIN_INVITED = re.compile(rf"^(?P<by>.+?)邀请(?P<who>.+?)加入了?{GROUP_WORD}")
JOIN = re.compile(rf"^(?P<who>.+?)(?:已经|已)?(?:通过(?P<via>.+?))?加入了?{GROUP_WORD}")
KICK_PASSIVE = re.compile(rf"^(?P<who>.+?)被(?P<by>.*?)(?:踢出|移出|请出)了?{GROUP_WORD}")
KICK_ACTIVE = re.compile(rf"^(?P<by>.+?)将(?P<who>.+?)(?:踢出|移出|请出)了?{GROUP_WORD}")
LEAVE = re.compile(rf"^(?P<who>.+?)(?:已经|已)?(?:主动)?(?:退出|离开)了?{GROUP_WORD}")
RECALL = re.compile(r"撤回了一条(?:成员)?消息")
NAME_WITH_QQ = re.compile(r"^(?P<name>.*?)\((?P<id>\d{4,})\)$")


def _platform_id(path: Path, lineno: int) -> str:
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return f"{stem}:{lineno}"


class _Classifier:
    """Tells record headers from content; remembers whether we are inside a ``=====`` header block."""

    def __init__(self):
        self.in_block = False

    def __call__(self, line: Line):
        text = line.text
        if not text:
            return None
        if text[0] == "=" and SEPARATOR.match(text):
            self.in_block = True
            return (BREAK, ("sep", None))
        if self.in_block:
            if m := TARGET.match(text):
                return (BREAK, ("target", m.group("v")))
            if m := FOLDER.match(text):
                return (BREAK, ("folder", m.group("v")))
            if text.strip():
                self.in_block = False
        m = HEADER.match(text) if text[0].isdigit() else None
        if m is None:
            return None
        rest = m.group("rest")
        acc = ACCOUNT_QQ.match(rest) or ACCOUNT_MAIL.match(rest)
        if acc is None or len(acc.group("name")) > MAX_NAME or len(acc.group("id")) > MAX_NAME:
            return None
        self.in_block = False
        return (HEAD, (m, acc.group("name"), acc.group("id")))


def _when(m: re.Match, tz) -> datetime | None:
    hour = int(m.group("h"))
    if ampm := m.group("ampm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        return datetime(int(m.group("y")), int(m.group("mo")), int(m.group("d")), hour, int(m.group("mi")), int(m.group("s")), tzinfo=tz)
    except ValueError:
        return None


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r"[、，,]", text) if n.strip()]


class _Reader:
    def __init__(self, source: Source, opts: ImportOptions):
        self.source = source
        self.opts = opts
        self.path = source.path
        self.book = NameBook()
        stem = self.path.stem
        self.group = GroupRef(PLATFORM, opts.group or stem, opts.group or stem)
        self.stem = _platform_id(self.path, 0)[:-2]
        self._last_when: tuple[tuple, datetime | None] = ((), None)

    def reject(self, line_no: int, reason: str, raw: str | None) -> Reject:
        return Reject(self.source.name, f"line {line_no + 1}", reason, (raw or "")[:2000])

    def read(self) -> Iterator[Event | Reject]:
        recognised = False  # seen a QQ header block or a record header
        held: list[Reject] = []  # rejects held back until we know this is a QQ export
        junk = 0
        for item in assemble(read_lines(self.source), _Classifier()):
            if isinstance(item, Loose):
                out = self.loose(item, recognised)
                if out is None:
                    if item.marker is not None or item.line.text.startswith(TITLE):
                        recognised = True
                        yield from held
                        held.clear()
                    continue
                if recognised:
                    yield out
                    continue
                held.append(out)
                junk += 1
                if junk >= SNIFF_LINES:
                    raise ImportError_(f"{self.source.name}: not a QQ text export (no '消息对象:' block or 'YYYY-MM-DD H:MM:SS nickname(QQ号)' header in the first {SNIFF_LINES} lines)")
                continue
            if not recognised:
                recognised = True
                yield from held
                held.clear()
            yield from self.record(item)
        if not recognised:
            raise ImportError_(f"{self.source.name}: not a QQ text export (no '消息对象:' block and no 'YYYY-MM-DD H:MM:SS nickname(QQ号)' header)")
        yield from self.book.flush()

    def loose(self, item: Loose, recognised: bool) -> Reject | None:
        line = item.line
        if item.marker is not None:
            kind, value = item.marker
            if kind == "target" and not self.opts.group:
                name = (value or self.path.stem)[:500]
                self.group = GroupRef(PLATFORM, name, name)
            return None
        if line.too_long:
            return self.reject(line.no, "line longer than 16 MiB", line.text[:500])
        text = line.text
        if m := TARGET.match(text):  # a 消息对象 line outside a ===== block (hand-trimmed exports)
            item.marker = ("target", m.group("v"))
            return self.loose(item, recognised)
        if FOLDER.match(text):
            item.marker = ("folder", None)
            return None
        if not text.strip():
            return None
        if text.startswith(TITLE):
            return None
        if not line.end and (line.cut_char or PARTIAL_HEADER.match(text)):
            return self.reject(line.no, f"file is truncated at line {line.no + 1}", text)
        return self.reject(line.no, "text outside any message (no 'YYYY-MM-DD H:MM:SS nickname(QQ号)' header above it)", text)

    def record(self, rec: Record) -> Iterator[Event | Reject]:
        m, name, account = rec.header
        header_text = rec.header_line.text
        truncated: Reject | None = None
        last = rec.last
        if last is not None and not last.end:
            # the file ends here without a line break: a cut character or a half header means truncation
            if last is rec.header_line:
                yield self.reject(rec.lineno, f"file is truncated at line {rec.lineno + 1} (a message header with no content)", header_text)
                return
            if last.cut_char:
                yield self.reject(rec.lineno, f"file is truncated at line {last.no + 1} (in the middle of a character)", header_text + "\n" + "\n".join(rec.lines))
                return
            if PARTIAL_HEADER.match(last.text) and rec.lines and rec.lines[-1] == last.text:
                rec.lines.pop()
                truncated = self.reject(last.no, f"file is truncated at line {last.no + 1}", last.text)
        if rec.too_long:
            yield self.reject(rec.lineno, "message longer than 16 MiB", header_text)
            return
        key = m.group("y", "mo", "d", "h", "mi", "s", "ampm")
        if key == self._last_when[0]:
            at = self._last_when[1]
        else:
            at = _when(m, self.opts.tz)
            self._last_when = (key, at)
        if at is None:
            yield self.reject(rec.lineno, "impossible date or time in message header", header_text)
            return
        pid = f"{self.stem}:{rec.lineno}"
        text = rec.body()
        if account in SYSTEM_ACCOUNTS:
            yield from self.notice(pid, at, text, account)
        else:
            display = name or account
            yield from self.book.learn(display, account, display)
            payload: dict = {}
            if "[" in text and (holders := PLACEHOLDER.findall(text)):
                payload["placeholders"] = list(dict.fromkeys(holders))
            if "@" in text and (mentions := [mm.group("n") for mm in MENTION.finditer(text)]):
                payload["mentions"] = mentions
            if t := TITLE_PREFIX.match(display):
                payload["title"] = t.group("t")
            if "@" in account:
                payload["email"] = True
            yield Event(self.group, pid, EventKind.MESSAGE, at, Author(account, display), text=text, payload=payload)
        if truncated is not None:
            yield truncated

    def notice(self, pid: str, at: datetime, text: str, account: str) -> Iterator[Event]:
        flat = " ".join(text.split("\n")).strip()
        base = {"system_account": account}
        for pattern, kind in ((JOIN_INVITED, EventKind.JOIN), (KICK_ACTIVE, EventKind.KICK), (KICK_PASSIVE, EventKind.KICK),
                              (LEAVE, EventKind.LEAVE), (JOIN, EventKind.JOIN)):
            mm = pattern.match(flat)
            if not mm:
                continue
            groups = mm.groupdict()
            by = (groups.get("by") or "").strip() or None
            whos = [groups["who"].strip()] if self.book.lookup(groups["who"].strip()) else _split_names(groups["who"])
            if not whos or any(len(w) > MAX_NAME for w in whos) or (by and len(by) > MAX_NAME):
                break
            for i, who in enumerate(whos):
                payload = dict(base)
                if by:
                    payload["invited_by" if kind is EventKind.JOIN else "by"] = by
                if groups.get("via"):
                    payload["via"] = groups["via"]
                yield from self.person(pid if i == 0 else f"{pid}.{i}", kind, at, text, payload, who, by)
            return
        payload = dict(base)
        if RECALL.search(flat):
            payload["recall"] = True
        yield Event(self.group, pid, EventKind.SYSTEM, at, None, text=text, payload=payload)

    def person(self, pid: str, kind: EventKind, at: datetime, text: str, payload: dict, who: str, by: str | None) -> list[Event]:
        bm = NAME_WITH_QQ.match(by) if by else None
        wm = NAME_WITH_QQ.match(who)
        author = Author(wm.group("id"), wm.group("name") or wm.group("id")) if wm else None
        return self.book.person_event(self.group, pid, kind, at, text, payload, author, who, by, bm.group("id") if bm else None)


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    yield from _Reader(source, opts).read()


def sniff(path: Path) -> bool:
    """True if one of the first lines is QQ's title line, a 消息对象 line or a record header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError:
        return False
    for enc in ("utf-16", "utf-8-sig", "gb18030"):
        if enc == "utf-16" and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        text = head.decode(enc, errors="replace")
        for line in text.splitlines()[:40]:
            if line.startswith(TITLE) or TARGET.match(line):
                return True
            m = HEADER.match(line)
            if m and (ACCOUNT_QQ.match(m.group("rest")) or ACCOUNT_MAIL.match(m.group("rest"))):
                return True
    return False


IMPORTER = Importer(
    name="qq",
    description="QQ group history exported as text by classic QQ for Windows (消息管理器 → 导出消息记录 → .txt)",
    patterns=("*.txt",),
    naive_time_zone="community",
    read=read,
    sniff=sniff,
)
