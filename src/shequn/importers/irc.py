"""IRC logs: irssi-style ``[HH:MM] <nick> text`` day files and Limnoria/Supybot ChannelLogger logs.

irssi-style files carry only the clock; the date comes from a ``YYYY-MM-DD`` prefix of the file
name, and a clock that goes backwards inside one file means the log crossed midnight. ``=== ...``
lines (docs/formats/irc.md lists every shape) are joins, parts, quits, kicks and nick changes
(membership events), topic and mode changes and other server notices (``system``, never counted as
chat), or else a ``/me`` action (``emote``) by a member. ``[HH:MM]  * nick acts`` is an action too.

Limnoria lines start with an ISO timestamp: ``2020-01-01T12:34:56  <nick> text``, ``* nick acts``,
``*** nick <user@host> has joined #chan``.

The platform id of every line is ``<file name without its last extension>:<0-based line>``
(``2005-07-06_14.raw.txt`` line 1000 is ``2005-07-06_14.raw:1000``) so results line up with
line-numbered annotations. A member is identified by nick (exactly as written). A message that
starts ``nick: `` or ``nick, `` keeps the addressee in ``payload["to"]``.

The parser produces flat rows (``store.event_writer.EventRow``) directly: a big import never builds an
``Event`` object per line. ``read`` turns the same rows into Events for everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import orjson

from shequn.domain.events import Event, Reject, to_ms
from shequn.importers.base import MAX_ID, Importer, ImportError_, ImportOptions, Source
from shequn.importers.textlines import iter_blocks
from shequn.store.event_writer import EventRow, row_event

PLATFORM = "irc"
FALLBACKS = ("cp1252", "latin-1")
MAX_NICK = 100  # a '===' line is searched this far for a nick (bounds the work a hostile line can cause)

FILE_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_CLOCK = r"^\[((\d{1,2}):(\d{2})(?::(\d{2}))?)\]"  # group 1: the whole clock (a cache key), 2-4: h, m, s
CLOCK_MSG = re.compile(_CLOCK + r" <([^>]*)>(?: (.*))?$")
CLOCK_ACTION = re.compile(_CLOCK + r" +\* (.*)$")  # irssi pads actions: '[12:00]  * nick waves'
CLOCK_NOTICE = re.compile(_CLOCK + r" -(\S{1,%d}?)(?::(#\S*?))?- ?(.*)$" % MAX_NICK)  # '-nick:#chan- text': a /notice
CLOCK_ANY = re.compile(_CLOCK + r" ?(.*)$")
SYSTEM = re.compile(r"^=== ?(.*)$")
ISO_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+(.*)$")

# '===' lines. The nick is everything before the single space that separates it from the rest: some
# exports (ubuntu-irc among them) put a space after every ']', and '=== zcat[1]  [n=z@h]  has joined'
# must give the nick 'zcat[1] ' that the same person's '<zcat[1] >' lines carry.
_NICK = r"^(.{1,%d}?) " % MAX_NICK
_HOST = r"(?:\[.*\] +)?"  # '[user@host]' (itself may hold brackets: '[n=[cc] smar@gw...]')
JOINED = re.compile(_NICK + _HOST + r"has joined (#\S*)\s*$")
LEFT = re.compile(_NICK + _HOST + r'has left (#\S*)(?: +\["?(.*?)"?\])?\s*$')  # reason: '["Leaving"]' or '[]'
QUIT = re.compile(_NICK + _HOST + r"has quit(?: IRC)?(?: +[\[(](.*)[\])])?\s*$")
RENAMED = re.compile(_NICK + r"is now known as (.+)$")
KICKED = re.compile(_NICK + r"was kicked (?:off|from) (#\S+) by (\S+)(?: +[\[(](.*)[\])])?\s*$")
TOPIC_CHANGED = re.compile(_NICK + r"changed the topic of (#\S+) to: ?(.*)$")
TOPIC_TAGGED = re.compile(r"^\.*\[topic/(#[^:\]\s]*):([^\]]{1,%d})\] ?: ?(.*)$" % MAX_NICK)  # '..[topic/#c:nick] : text'
TOPIC_IS = re.compile(r"^Topic for (#\S+): ?(.*)$")
TOPIC_SET_BY = re.compile(r"^Topic set by (\S+)(.*)$")
MODE = re.compile(r"^mode/(#\S+) \[(.*)\] +by (.+?)\s*$")
SETS_MODE = re.compile(_NICK + r"sets mode:? (.*)$")
SERVER = re.compile(r"^(?:netjoined|netsplit|[Nn]etsplit over|Irssi:|ServerMode|Users |Total of |Join to |Channel #\S+ created)")

# Limnoria "*** ..." notices
L_JOINED = re.compile(r"^\*\*\* (\S+) <[^>]*> has joined (#\S+)")
L_LEFT = re.compile(r"^\*\*\* (\S+) <[^>]*> has left (#\S+)(?: \((.*)\))?")
L_QUIT = re.compile(r"^\*\*\* (\S+) <[^>]*> has quit IRC(?: \((.*)\))?")
L_RENAMED = re.compile(r"^\*\*\* (\S+) is now known as (\S+)")
L_KICKED = re.compile(r"^\*\*\* (\S+) was kicked by (\S+)(?: \((.*)\))?")
L_TOPIC = re.compile(r"^\*\*\* (\S+) changes topic to \"?(.*?)\"?$")
L_MSG = re.compile(r"^<([^>]*)>(?: (.*))?$")
L_ACTION = re.compile(r"^\* (\S+) ?(.*)$")
L_NOTICE = re.compile(r"^-(\S+)- ?(.*)$")

ADDRESSEE = re.compile(r"^([^\s:,]{1,40})[:,] ")

MESSAGE, EMOTE, JOIN, LEAVE, KICK, RENAME, SYSTEM_KIND = "message", "emote", "join", "leave", "kick", "rename", "system"


def _id_prefix(path: Path) -> str:
    """``2005-07-06_14.raw.txt`` -> ``2005-07-06_14.raw:``; line numbers are appended."""
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return f"{stem}:"


def _json(payload: dict) -> str:
    return orjson.dumps(payload).decode()


class _Clock:
    """Turns clock-only times into epoch milliseconds, rolling the date when the clock goes backwards.
    Most lines share a minute with the line before, so the last clock text and its time are kept; and
    most minutes share an hour whose UTC offset does not change inside it, so a new minute costs an
    addition instead of a time zone conversion."""

    __slots__ = ("day", "hour", "hour_ms", "key", "last", "ms", "tz")

    def __init__(self, start: date | None, tz):
        self.day = start
        self.tz = tz
        self.last: tuple[int, int, int] = (-1, 0, 0)  # the last clock time (h, m, s); none yet
        self.key: tuple[str, str, str] | None = None  # the clock as written ('12', '34', '') -> self.ms
        self.ms = 0
        self.hour = -1  # the hour of self.day whose start self.hour_ms holds (-1: none)
        self.hour_ms: int | None = None  # None: the UTC offset changes inside that hour

    def at(self, hh: str, mm: str, ss: str) -> int:
        """Epoch ms of a valid clock time written as strings (``ss`` may be '')."""
        key = (hh, mm, ss)
        if key != self.key:
            self.key = key
            t = h, m, s = int(hh), int(mm), int(ss) if ss else 0
            if t < self.last:
                self.day = self.day + timedelta(days=1)
                self.hour = -1
            self.last = t
            if h != self.hour:
                self.hour = h
                start = datetime.combine(self.day, time(h), tzinfo=self.tz)
                end = datetime.combine(self.day, time(h, 59, 59), tzinfo=self.tz)
                self.hour_ms = to_ms(start) if start.utcoffset() == end.utcoffset() else None
            if self.hour_ms is not None:
                self.ms = self.hour_ms + m * 60_000 + s * 1000
            else:  # a DST change (or another offset change) inside this hour: convert exactly
                self.ms = to_ms(datetime.combine(self.day, time(h, m, s), tzinfo=self.tz))
        return self.ms


def _emote_nick(body: str, known: set[str]) -> int:
    """Where the nick of '=== nick does something' ends: after the longest nick already seen in this
    file that starts the line (nicks may hold spaces in some exports), else at the first space; 0: no nick."""
    first = end = body.find(" ")
    if first < 0:  # a lone word: the nick acted without words
        return len(body)
    best = first
    while 0 < end <= MAX_NICK:
        if body[:end] in known:
            best = end
        end = body.find(" ", end + 1)
    return best


def _system_row(body: str, group: tuple, pid: str, at_ms: int, known: set[str]) -> EventRow:
    """Classify an irssi-style '=== ...' line (docs/formats/irc.md lists the shapes)."""
    platform, gid, gname = group

    def row(kind, nick, text=None, payload=None):
        if nick is not None:
            known.add(nick)
        return (platform, gid, gname, nick, nick, False, kind, at_ms, pid, None, text, _json(payload) if payload else None)

    # Cheap substring tests first: most lines are joins and parts, and no regex runs on text that cannot match.
    if "has joined" in body and (m := JOINED.match(body)):
        return row(JOIN, m.group(1), payload={"channel": m.group(2)})
    if "has left" in body and (m := LEFT.match(body)):
        return row(LEAVE, m.group(1), payload={"how": "part", "channel": m.group(2), "reason": m.group(3) or None})
    if " is now known as " in body and (m := RENAMED.match(body)):
        known.add(m.group(2))
        return row(RENAME, m.group(1), payload={"old": m.group(1), "new": m.group(2)})
    if "has quit" in body and (m := QUIT.match(body)):
        return row(LEAVE, m.group(1), payload={"how": "quit", "reason": m.group(2)})
    if " was kicked " in body and (m := KICKED.match(body)):
        return row(KICK, m.group(1), payload={"channel": m.group(2), "by": m.group(3), "reason": m.group(4)})
    if "topic" in body or "Topic" in body:
        if m := TOPIC_TAGGED.match(body):
            return row(SYSTEM_KIND, m.group(2), m.group(3), {"notice": "topic", "channel": m.group(1), "by": m.group(2)})
        if m := TOPIC_CHANGED.match(body):
            return row(SYSTEM_KIND, m.group(1), m.group(3), {"notice": "topic", "channel": m.group(2), "by": m.group(1)})
        if m := TOPIC_IS.match(body):
            return row(SYSTEM_KIND, None, m.group(2), {"notice": "topic", "channel": m.group(1)})
        if m := TOPIC_SET_BY.match(body):
            return row(SYSTEM_KIND, None, body, {"notice": "topic_set_by", "by": m.group(1)})
    if m := MODE.match(body):
        return row(SYSTEM_KIND, None, body, {"notice": "mode", "channel": m.group(1), "mode": m.group(2), "by": m.group(3)})
    if " sets mode" in body and (m := SETS_MODE.match(body)):
        return row(SYSTEM_KIND, None, body, {"notice": "mode", "mode": m.group(2), "by": m.group(1)})
    if SERVER.match(body):
        return row(SYSTEM_KIND, None, body, {"notice": "server"})
    end = _emote_nick(body, known)
    if end <= 0:  # '===' with a single word or nothing: nobody to attribute it to
        return row(SYSTEM_KIND, None, body)
    return row(EMOTE, body[:end], body[end + 1 :])


def _limnoria_row(body: str, group: tuple, pid: str, at_ms: int) -> EventRow | None:
    platform, gid, gname = group

    def row(kind, nick, text=None, payload=None):
        return (platform, gid, gname, nick, nick, False, kind, at_ms, pid, None, text, _json(payload) if payload else None)

    if m := L_MSG.match(body):
        text = m.group(2) or ""
        am = ADDRESSEE.match(text)
        to = am.group(1) if am and not am.group(1).startswith("http") else None
        return row(MESSAGE, m.group(1), text, {"to": to} if to else None)
    if m := L_JOINED.match(body):
        return row(JOIN, m.group(1), payload={"channel": m.group(2)})
    if m := L_LEFT.match(body):
        return row(LEAVE, m.group(1), payload={"how": "part", "channel": m.group(2), "reason": m.group(3)})
    if m := L_QUIT.match(body):
        return row(LEAVE, m.group(1), payload={"how": "quit", "reason": m.group(2)})
    if m := L_RENAMED.match(body):
        return row(RENAME, m.group(1), payload={"old": m.group(1), "new": m.group(2)})
    if m := L_KICKED.match(body):
        return row(KICK, m.group(1), payload={"by": m.group(2), "reason": m.group(3)})
    if m := L_TOPIC.match(body):
        return row(SYSTEM_KIND, m.group(1), m.group(2), {"notice": "topic", "by": m.group(1)})
    if body.startswith("*** "):
        return row(SYSTEM_KIND, None, body[4:], {"notice": "server"})
    if m := L_ACTION.match(body):
        return row(EMOTE, m.group(1), m.group(2))
    if m := L_NOTICE.match(body):
        return row(SYSTEM_KIND, None, body, {"notice_from": m.group(1)})
    return None


class _File:
    """One file's parsing state, shared by the fast path (chat lines, matched a block at a time) and
    the slow path (every other line, one at a time)."""

    def __init__(self, source: Source, opts: ImportOptions):
        path = source.path
        self.name = source.name
        self.prefix = _id_prefix(path)
        gid = opts.group or path.resolve().parent.name or "irc"
        if len(gid) > MAX_ID or len(self.prefix) > MAX_ID - 20:
            raise ImportError_(f"group name or file name longer than {MAX_ID} characters: {(gid if len(gid) > MAX_ID else path.name)[:60]}...")
        self.group = (PLATFORM, gid, gid)
        m = FILE_DATE.match(path.name)
        self.clock = _Clock(date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None, opts.tz)
        self.tz = opts.tz
        self.pending: list[tuple[int, str]] = []  # '===' lines seen before the first timestamp
        self.known: set[str] = set()  # nicks seen in this file (see _emote_nick)

    def flush_pending(self, at_ms: int) -> list[EventRow]:
        rows = [_system_row(body, self.group, self.prefix + str(n), at_ms, self.known) for n, body in self.pending]
        self.pending.clear()
        return rows

    def line(self, lineno: int, line: str, last_ms: int | None) -> tuple[list, int | None]:
        """The events or Rejects of one line that is not a '[HH:MM] <nick> text' chat line, and the
        time the next '===' line takes."""
        name, group, prefix = self.name, self.group, self.prefix
        platform, gid, _ = group
        pid = prefix + str(lineno)
        if line[0] == "[":
            anym = CLOCK_ANY.match(line)
            if anym is None:
                return [Reject(name, f"line {lineno + 1}", "unreadable timestamp", line[:500])], last_ms
            if self.clock.day is None:
                return [Reject(name, f"line {lineno + 1}", "file name has no YYYY-MM-DD date prefix for [HH:MM] times", line[:500])], last_ms
            hh, mm, ss = anym.group(2, 3, 4)
            if int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59:
                return [Reject(name, f"line {lineno + 1}", f"impossible clock time {int(hh):02d}:{int(mm):02d}", line[:500])], last_ms
            at_ms = self.clock.at(hh, mm, ss or "")
            out = self.flush_pending(at_ms) if self.pending else []
            if cm := CLOCK_MSG.match(line):  # a chat line the fast pattern does not take (e.g. a clock in non-ASCII digits)
                nick, text = cm.group(5), cm.group(6) or ""
                am = ADDRESSEE.match(text)
                to = am.group(1) if am and not am.group(1).startswith("http") else None
                self.known.add(nick)
                out.append((platform, gid, gid, nick, nick, False, MESSAGE, at_ms, pid, None, text, _json({"to": to}) if to else None))
            elif am := CLOCK_ACTION.match(line):
                body = am.group(5)
                end = _emote_nick(body, self.known)
                if end <= 0:
                    out.append((platform, gid, gid, None, None, False, SYSTEM_KIND, at_ms, pid, None, line[line.index("]") + 1 :].strip(), None))
                else:
                    nick = body[:end]
                    self.known.add(nick)
                    out.append((platform, gid, gid, nick, nick, False, EMOTE, at_ms, pid, None, body[end + 1 :], None))
            elif nm := CLOCK_NOTICE.match(line):
                payload = {"notice_from": nm.group(5), "channel": nm.group(6)} if nm.group(6) else {"notice_from": nm.group(5)}
                out.append((platform, gid, gid, None, None, False, SYSTEM_KIND, at_ms, pid, None, nm.group(7), _json(payload)))
            else:
                out.append((platform, gid, gid, None, None, False, SYSTEM_KIND, at_ms, pid, None, line[line.index("]") + 1 :].lstrip(" "), None))
            return out, at_ms
        if sm := SYSTEM.match(line):
            if last_ms is None:
                self.pending.append((lineno, sm.group(1)))
                return [], None
            return [_system_row(sm.group(1), group, pid, last_ms, self.known)], last_ms
        if im := ISO_LINE.match(line):
            try:
                at = datetime.fromisoformat(im.group(1).replace("Z", "+00:00"))
            except ValueError:
                return [Reject(name, f"line {lineno + 1}", "unreadable ISO timestamp", line[:500])], last_ms
            if at.tzinfo is None:
                at = at.replace(tzinfo=self.tz)
            row = _limnoria_row(im.group(2), group, pid, to_ms(at))
            if row is None:
                return [Reject(name, f"line {lineno + 1}", "unknown Limnoria line", line[:500])], last_ms
            return [row], row[7]
        return [Reject(name, f"line {lineno + 1}", "not an IRC log line", line[:500])], last_ms


# One match per line (re.M): a chat line with a valid clock fills groups 1-4 (1: the clock as written,
# 4: the addressee of 'nick: text'), any other line only group 5. A whole block is matched by one
# findall call. Possessive quantifiers (*+, {1,40}+) never backtrack into a nick or a first word.
LINE = re.compile(
    r"^(?:\[((?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)\] <([^>]*+)>(?: ((?:([^\s:,]{1,40}+)[:,] )?.*))?|(.*))$", re.M
)
ANY_LINE = re.compile(r"^()()()()(.*)$", re.M)  # for undated files: every line takes the slow path


def read_rows(source: Source, opts: ImportOptions) -> Iterator[list[EventRow] | Reject]:
    """Lists of rows (``EventRow``, in line order) and Rejects for one log file."""
    f = _File(source, opts)
    gid = f.group[1]
    prefix, clock, pending, seen = f.prefix, f.clock, f.pending, f.known.add
    pattern = LINE if clock.day is not None else ANY_LINE
    to_payload: dict[str, str] = {}  # addressee -> payload JSON
    last_ms: int | None = None  # the time a '===' line takes: that of the line before it
    key = None  # the clock text of the last chat line, and its time
    at_ms = 0
    for first, block in iter_blocks(source, FALLBACKS):
        rows: list[EventRow] = []
        append = rows.append
        lineno = first - 1
        for clk, nick, text, to, other in pattern.findall(block):
            lineno += 1
            if clk:
                if clk != key:
                    key = clk
                    hh, _, mm = clk.partition(":")
                    mm, _, ss = mm.partition(":")
                    at_ms = clock.at(hh, mm, ss)
                if pending:
                    rows.extend(f.flush_pending(at_ms))
                last_ms = at_ms
                seen(nick)
                if to and not to.startswith("http"):
                    payload = to_payload.get(to) or to_payload.setdefault(to, _json({"to": to}))
                else:
                    payload = None
                append((PLATFORM, gid, gid, nick, nick, False, MESSAGE, at_ms, f"{prefix}{lineno}", None, text, payload))
            elif other and not other.isspace():
                moved = clock.key
                items, last_ms = f.line(lineno, other, last_ms)
                for item in items:
                    if type(item) is tuple:
                        append(item)
                    else:
                        if rows:
                            yield rows
                            rows = []
                            append = rows.append
                        yield item
                if clock.key is not moved:  # a timed line moved the clock: the next chat line asks it again
                    key = None
        if rows:
            yield rows
    for plineno, body in pending:
        yield Reject(f.name, f"line {plineno + 1}", "system line in a file with no timestamp at all", body[:500])


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    """The same lines as ``read_rows``, as Events."""
    for item in read_rows(source, opts):
        if isinstance(item, Reject):
            yield item
        else:
            yield from map(row_event, item)


def sniff(path: Path) -> bool:
    """True if one of the first lines looks like an IRC log line (skips e.g. annotation files)."""
    try:
        with open(path, "rb") as fh:
            for _ in range(20):
                raw = fh.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if CLOCK_ANY.match(line) or SYSTEM.match(line) or ISO_LINE.match(line):
                    return True
    except OSError:
        return False
    return False


IMPORTER = Importer(
    name="irc",
    description="IRC logs: '[HH:MM] <nick> text' day files (date from a YYYY-MM-DD file-name prefix) and Limnoria/Supybot logs",
    patterns=("*.txt", "*.log"),
    naive_time_zone="utc",
    read=read,
    sniff=sniff,
    read_rows=read_rows,
)
