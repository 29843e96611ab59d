"""IRC logs: irssi-style ``[HH:MM] <nick> text`` day files and Limnoria/Supybot ChannelLogger logs.

irssi-style files carry only the clock; the date comes from a ``YYYY-MM-DD`` prefix of the file
name, and a clock that goes backwards inside one file means the log crossed midnight. ``=== ...``
lines are joins, leaves, quits, nick changes, kicks, mode/topic notices or ``/me`` actions.

Limnoria lines start with an ISO timestamp: ``2020-01-01T12:34:56  <nick> text``, ``* nick acts``,
``*** nick <user@host> has joined #chan``.

The platform id of every line is ``<file name without its last extension>:<0-based line>``
(``2005-07-06_14.raw.txt`` line 1000 is ``2005-07-06_14.raw:1000``) so results line up with
line-numbered annotations. A member is identified by nick (exactly as written). A message that
starts ``nick: `` or ``nick, `` keeps the addressee in ``payload["to"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import Importer, ImportOptions, Source
from shequn.importers.textlines import iter_lines

PLATFORM = "irc"
FALLBACKS = ("cp1252", "latin-1")

FILE_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
CLOCK_MSG = re.compile(r"^\[(\d{1,2}):(\d{2})(?::(\d{2}))?\] <([^>]*)>(?: (.*))?$")
CLOCK_ACTION = re.compile(r"^\[(\d{1,2}):(\d{2})(?::(\d{2}))?\] \* (\S+) ?(.*)$")
CLOCK_ANY = re.compile(r"^\[(\d{1,2}):(\d{2})(?::(\d{2}))?\] ?(.*)$")
SYSTEM = re.compile(r"^=== ?(.*)$")
ISO_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+(.*)$")

# "=== nick [user@host]  has joined #chan" and the other '===' notices seen in irssi-style logs
JOINED = re.compile(r"^(\S+) (?:\[[^\]]*\] +)?has joined (#\S+)")
LEFT = re.compile(r"^(\S+) (?:\[[^\]]*\] +)?has left (#\S+)(?: \[(.*)\])?")
QUIT = re.compile(r"^(\S+) (?:\[[^\]]*\] +)?has quit(?: IRC)?(?: [\[(](.*)[\])])?")
RENAMED = re.compile(r"^(\S+) is now known as (\S+)")
KICKED = re.compile(r"^(\S+) was kicked (?:off|from) (#\S+) by (\S+)(?: \[?\(?(.*?)\)?\]?)?$")
NOTICE = re.compile(r"^(?:mode/#\S+ |netjoined|netsplit|topic |\S+ changed the topic of |Topic |\S+ sets mode)")

# Limnoria "*** ..." notices
L_JOINED = re.compile(r"^\*\*\* (\S+) <[^>]*> has joined (#\S+)")
L_LEFT = re.compile(r"^\*\*\* (\S+) <[^>]*> has left (#\S+)(?: \((.*)\))?")
L_QUIT = re.compile(r"^\*\*\* (\S+) <[^>]*> has quit IRC(?: \((.*)\))?")
L_RENAMED = re.compile(r"^\*\*\* (\S+) is now known as (\S+)")
L_KICKED = re.compile(r"^\*\*\* (\S+) was kicked by (\S+)(?: \((.*)\))?")
L_MSG = re.compile(r"^<([^>]*)>(?: (.*))?$")
L_ACTION = re.compile(r"^\* (\S+) ?(.*)$")
L_NOTICE = re.compile(r"^-(\S+)- ?(.*)$")

ADDRESSEE = re.compile(r"^([^\s:,]{1,40})[:,] ")


def _id_prefix(path: Path) -> str:
    """``2005-07-06_14.raw.txt`` -> ``2005-07-06_14.raw:``; line numbers are appended."""
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return f"{stem}:"


def _addressee(text: str) -> str | None:
    m = ADDRESSEE.match(text)
    if not m:
        return None
    to = m.group(1)
    return None if to.startswith("http") else to


class _Day:
    """Turns clock-only times into datetimes, rolling the date when the clock goes backwards."""

    def __init__(self, start: date | None, tz):
        self.day = start
        self.tz = tz
        self.last: tuple[int, int, int] | None = None
        self._dt: datetime | None = None

    def at(self, hh: int, mm: int, ss: int) -> datetime:
        t = (hh, mm, ss)
        if t == self.last:
            return self._dt  # many lines share a minute: reuse the object
        if self.last is not None and t < self.last:
            self.day = self.day + timedelta(days=1)
        self.last = t
        self._dt = datetime.combine(self.day, time(hh, mm, ss), tzinfo=self.tz)
        return self._dt


def _group(path: Path, opts: ImportOptions) -> GroupRef:
    name = opts.group or path.resolve().parent.name or "irc"
    return GroupRef(PLATFORM, name, name)


def _system_event(body: str, group: GroupRef, pid: str, at: datetime) -> Event:
    """Classify an irssi-style '=== ...' line."""
    if m := JOINED.match(body):
        return Event(group, pid, EventKind.JOIN, at, Author(m.group(1)), payload={"channel": m.group(2)})
    if m := LEFT.match(body):
        return Event(group, pid, EventKind.LEAVE, at, Author(m.group(1)), payload={"how": "part", "reason": m.group(3)})
    if m := RENAMED.match(body):
        return Event(group, pid, EventKind.RENAME, at, Author(m.group(1)), payload={"old": m.group(1), "new": m.group(2)})
    if m := KICKED.match(body):
        return Event(group, pid, EventKind.KICK, at, Author(m.group(1)), payload={"by": m.group(3), "reason": m.group(4)})
    if m := QUIT.match(body):
        return Event(group, pid, EventKind.LEAVE, at, Author(m.group(1)), payload={"how": "quit", "reason": m.group(2)})
    if NOTICE.match(body):
        return Event(group, pid, EventKind.SYSTEM, at, text=body)
    nick, _, rest = body.partition(" ")
    if not nick:
        return Event(group, pid, EventKind.SYSTEM, at, text=body)
    return Event(group, pid, EventKind.EMOTE, at, Author(nick), text=rest)


def _limnoria_event(body: str, group: GroupRef, pid: str, at: datetime) -> Event | None:
    if m := L_MSG.match(body):
        text = m.group(2) or ""
        payload = {"to": to} if (to := _addressee(text)) else {}
        return Event(group, pid, EventKind.MESSAGE, at, Author(m.group(1)), text=text, payload=payload)
    if m := L_JOINED.match(body):
        return Event(group, pid, EventKind.JOIN, at, Author(m.group(1)), payload={"channel": m.group(2)})
    if m := L_LEFT.match(body):
        return Event(group, pid, EventKind.LEAVE, at, Author(m.group(1)), payload={"how": "part", "reason": m.group(3)})
    if m := L_QUIT.match(body):
        return Event(group, pid, EventKind.LEAVE, at, Author(m.group(1)), payload={"how": "quit", "reason": m.group(2)})
    if m := L_RENAMED.match(body):
        return Event(group, pid, EventKind.RENAME, at, Author(m.group(1)), payload={"old": m.group(1), "new": m.group(2)})
    if m := L_KICKED.match(body):
        return Event(group, pid, EventKind.KICK, at, Author(m.group(1)), payload={"by": m.group(2), "reason": m.group(3)})
    if body.startswith("*** "):
        return Event(group, pid, EventKind.SYSTEM, at, text=body[4:])
    if m := L_ACTION.match(body):
        return Event(group, pid, EventKind.EMOTE, at, Author(m.group(1)), text=m.group(2))
    if m := L_NOTICE.match(body):
        return Event(group, pid, EventKind.SYSTEM, at, text=body, payload={"notice_from": m.group(1)})
    return None


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    path = source.path
    prefix = _id_prefix(path)
    group = _group(path, opts)
    m = FILE_DATE.match(path.name)
    day = _Day(date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None, opts.tz)
    last_at: datetime | None = None
    pending_system: list[tuple[int, str]] = []  # '===' lines seen before the first timestamp
    speakers: dict[str, Author] = {}  # one Author per nick: a day file repeats the same few hundred

    for lineno, line, _enc in iter_lines(source, FALLBACKS):
        if not line or line.isspace():
            continue
        pid = prefix + str(lineno)
        if line.startswith("["):
            cm = CLOCK_MSG.match(line)
            am = None if cm else CLOCK_ACTION.match(line)
            anym = cm or am or CLOCK_ANY.match(line)
            if anym is None:
                yield Reject(source.name, f"line {lineno + 1}", "unreadable timestamp", line[:500])
                continue
            if day.day is None:
                yield Reject(source.name, f"line {lineno + 1}", "file name has no YYYY-MM-DD date prefix for [HH:MM] times", line[:500])
                continue
            hh, mm, ss = int(anym.group(1)), int(anym.group(2)), int(anym.group(3) or 0)
            if hh > 23 or mm > 59 or ss > 59:
                yield Reject(source.name, f"line {lineno + 1}", f"impossible clock time {hh:02d}:{mm:02d}", line[:500])
                continue
            at = day.at(hh, mm, ss)
            if pending_system:
                for plineno, body in pending_system:
                    yield _system_event(body, group, prefix + str(plineno), at)
                pending_system.clear()
            last_at = at
            if cm:
                text = cm.group(5) or ""
                payload = {"to": to} if (to := _addressee(text)) else {}
                nick = cm.group(4)
                author = speakers.get(nick) or speakers.setdefault(nick, Author(nick))
                yield Event(group, pid, EventKind.MESSAGE, at, author, text=text, payload=payload)
            elif am:
                yield Event(group, pid, EventKind.EMOTE, at, Author(am.group(4)), text=am.group(5))
            else:
                yield Event(group, pid, EventKind.SYSTEM, at, text=anym.group(4))
            continue
        if sm := SYSTEM.match(line):
            if last_at is None:
                pending_system.append((lineno, sm.group(1)))
            else:
                yield _system_event(sm.group(1), group, pid, last_at)
            continue
        if im := ISO_LINE.match(line):
            try:
                at = datetime.fromisoformat(im.group(1).replace("Z", "+00:00"))
            except ValueError:
                yield Reject(source.name, f"line {lineno + 1}", "unreadable ISO timestamp", line[:500])
                continue
            if at.tzinfo is None:
                at = at.replace(tzinfo=opts.tz)
            ev = _limnoria_event(im.group(2), group, pid, at)
            if ev is None:
                yield Reject(source.name, f"line {lineno + 1}", "unknown Limnoria line", line[:500])
            else:
                last_at = at
                yield ev
            continue
        yield Reject(source.name, f"line {lineno + 1}", "not an IRC log line", line[:500])

    for plineno, body in pending_system:
        yield Reject(source.name, f"line {plineno + 1}", "system line in a file with no timestamp at all", body[:500])


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
)
