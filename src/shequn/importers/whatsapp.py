"""WhatsApp "Export chat → Without media" text files (Android and iOS, 2019-2025 app versions).

Android writes ``WhatsApp Chat with <group>.txt`` with lines like::

    12/31/20, 9:15 PM - Anna: happy new year        (US locale: month first, 12-hour clock)
    31/12/2020, 21:15 - Anna: happy new year        (most other locales: day first, 24-hour clock)
    31/12/2020, 21:15 - Tom added Anna              (system line: no "Name:")
    31/12/2020, 21:16 - Anna: <Media omitted>

iOS writes ``_chat.txt`` (inside ``WhatsApp Chat - <group>.zip``)::

    [31/12/2020, 21:15:03] Anna: happy new year
    [31/12/2020, 21:15:09] Anna: <U+200E>image omitted
    [31/12/2020, 21:16:00] My Group: <U+200E>Tom added Anna   (system line: the group is the "author"
                                                          and the text starts with U+200E)

Dates use "/", "." or "-"; the clock may be 12-hour ("9:15 PM", "9:15<U+202F>pm", "9:15 p.m.") or
24-hour, with or without seconds. Whether the day or the month comes first is not written down;
it is decided from the data before reading: the first date whose first field is > 12 means
day-first, else one whose second field is > 12 means month-first; failing that, a first field
that goes down within a year means day-first (months never go back), then whichever field changes
more often is the day (the approach of the whatsapp-chat-parser library, github.com/Pustur/
whatsapp-chat-parser). ``opts.extra["dayfirst"]`` (True/False; ``shequn import whatsapp --dayfirst`` or ``--monthfirst``)
overrides the detection. Times are the phone's local time: ``opts.tz``.

A line that does not start with a date continues the previous message (multi-line messages).

Mapping: ``Name: text`` → ``message`` (identity = the name or phone number exactly as written;
leading U+200E/U+200F marks that iOS inserts are removed from the text, everything else is kept);
``<Media omitted>``, ``image omitted`` ... → ``message`` with ``payload["media"]``;
"This message was deleted" → ``message`` with ``payload["deleted"]``. System lines:
"X added Y[, Z and W]" → one ``join`` per added member (``payload["invited_by"] = X``),
"X joined using this group's invite link" → ``join`` (``payload["via"] = "invite_link"``),
"X left" → ``leave``, "X removed Y" → ``kick`` (``payload["by"]``), "X changed to Y" (new
number) → ``rename``, anything else (encryption notice, subject/icon changes ...) → ``system``.
Only the English wording is recognised; other languages' system lines become ``system``.

Group: ``--group G``, else from the file name: ``WhatsApp Chat with X.txt`` / ``WhatsApp Chat - X``
→ X (for iOS ``_chat.txt`` the folder name is used the same way), else the file name.
Platform ids are ``<file stem>:<0-based line of the message's first line>`` (``.1``, ``.2`` ...
for the second and later member of a multi-member "added" line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions, Source
from shequn.importers.multiline import HEAD, MAX_NAME, Line, Loose, Record, assemble, read_lines

PLATFORM = "whatsapp"
SNIFF_LINES = 200
FALLBACKS = ("cp1252", "latin-1")
MARKS = "\u200e\u200f"

HEADER = re.compile(
    r"^[\u200e\u200f]*(?P<br>\[)?"
    r"(?P<a>\d{1,4})[./-] ?(?P<b>\d{1,2})[./-] ?(?P<c>\d{1,4})[,.]? "
    r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?"
    r"(?:[ \u202f\u00a0]?(?P<ampm>[AaPp]\.? ?[Mm]\.?))?"
    r"(?(br)\] | [-\u2013] )(?P<rest>.*)$"
)
PARTIAL_HEADER = re.compile(r"^[\u200e\u200f]*\[?\d{1,4}[./-]")

SYSTEM_AUTHOR_HINT = re.compile(r" (?:changed (?:the|this|their|his|her) |created group |added |removed |left$)")
ADDED = re.compile(r"^(?P<by>.+?) added (?P<who>.+)$")
REMOVED = re.compile(r"^(?P<by>.+?) removed (?P<who>.+)$")
LEFT = re.compile(r"^(?P<who>.+?) left$")
JOINED_LINK = re.compile(r"^(?P<who>.+?) joined using (?:this|the) (?:group|community)'s invite link$")
JOINED_COMMUNITY = re.compile(r"^(?P<who>.+?) joined from the community$")
JOINED = re.compile(r"^(?P<who>.+?) joined$")
CHANGED_NUMBER = re.compile(r"^(?P<old>.+?) changed to (?P<new>.+)$")
CREATED = re.compile(r"^(?P<who>.+?) created (?:group|this group) ?(?P<name>.*)$")
IOS_SYSTEM = re.compile(
    r"(?:end-to-end encrypted| added | removed | left$| joined | changed | created | deleted this group| "
    r"is now an admin|'s security code changed|now an admin|no longer an admin| pinned a message)"
)

MEDIA_ANDROID = "<Media omitted>"
MEDIA_IOS = re.compile(r"^(?P<kind>image|video|audio|sticker|GIF|document|Contact card|voice message) omitted$")
ATTACHED = re.compile(r"^<attached: (?P<file>[^>]+)>$")
DELETED = ("This message was deleted", "This message was deleted.", "You deleted this message", "You deleted this message.")
EDITED = " <This message was edited>"
MENTION = re.compile(r"(?:(?<=\s)|^)@(?P<n>\+?\w[\w.-]{0,40})")


def _platform_id(path: Path, lineno: int) -> str:
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return f"{stem}:{lineno}"


def group_name_from_path(path: Path) -> str:
    def clean(name: str) -> str | None:
        for prefix in ("WhatsApp Chat with ", "WhatsApp Chat - ", "WhatsApp Chat – "):
            if name.startswith(prefix):
                return name[len(prefix):].strip() or None
        return None

    stem = path.stem
    if stem == "_chat":
        folder = path.resolve().parent.name
        return clean(folder) or folder or stem
    return clean(stem) or stem


def _names(text: str) -> list[str]:
    """'Anna, Bob and +1 555 0100' -> ['Anna', 'Bob', '+1 555 0100']."""
    parts = [p.strip() for p in re.split(r", | and ", text)]
    return [p for p in parts if p]


def _bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "day", "dayfirst", "dmy"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "month", "monthfirst", "mdy"):
        return False
    return None


def detect_dayfirst(path: Path) -> bool | None:
    """Scan the file's date headers: True = day first, False = month first, None = undecidable."""
    prev: tuple[int, int, int] | None = None
    first_down = second_down = False
    first_change = second_change = 0
    with open(path, "rb") as fh:
        for raw in fh:
            m = HEADER.match(raw.decode("utf-8", errors="replace").lstrip("\ufeff"))
            if m is None or len(m.group("a")) == 4:
                continue
            a, b, c = int(m.group("a")), int(m.group("b")), int(m.group("c"))
            if a > 12:
                return True
            if b > 12:
                return False
            if prev is not None:
                if prev[2] == c:
                    first_down |= a < prev[0]
                    second_down |= b < prev[1]
                first_change += abs(a - prev[0])
                second_change += abs(b - prev[1])
            prev = (a, b, c)
    if first_down != second_down:
        return first_down
    if first_change != second_change:
        return first_change > second_change
    return None


class _Reader:
    def __init__(self, source: Source, opts: ImportOptions):
        self.source = source
        self.opts = opts
        self.path = source.path
        name = opts.group or group_name_from_path(self.path)
        self.group = GroupRef(PLATFORM, name, name)
        self.dayfirst: bool | None = None
        self.stem = _platform_id(self.path, 0)[:-2]
        self._last_when: tuple[tuple, datetime | None] = ((), None)

    def reject(self, line_no: int, reason: str, raw: str | None) -> Reject:
        return Reject(self.source.name, f"line {line_no + 1}", reason, (raw or "")[:2000])

    def classify(self, line: Line):
        m = HEADER.match(line.text.lstrip("\ufeff"))
        return (HEAD, m) if m else None

    def read(self) -> Iterator[Event | Reject]:
        override = _bool(self.opts.extra.get("dayfirst")) if self.opts.extra else None
        if override is not None:
            self.dayfirst = override
        else:
            try:
                self.dayfirst = detect_dayfirst(self.path)
            except OSError as exc:
                raise ImportError_(f"{self.source.name}: cannot read ({exc})") from None
        recognised = False
        held: list[Reject] = []
        for item in assemble(read_lines(self.source, FALLBACKS), self.classify):
            if isinstance(item, Loose):
                line = item.line
                if not line.text.strip():
                    continue
                if line.too_long:
                    out = self.reject(line.no, "line longer than 16 MiB", line.text[:500])
                elif not line.end and (line.cut_char or PARTIAL_HEADER.match(line.text)):
                    out = self.reject(line.no, f"file is truncated at line {line.no + 1}", line.text)
                else:
                    out = self.reject(line.no, "text before the first dated line", line.text)
                if recognised:
                    yield out
                else:
                    held.append(out)
                    if len(held) >= SNIFF_LINES:
                        raise ImportError_(f"{self.source.name}: not a WhatsApp chat export (no dated '12/31/20, 9:15 PM - Name: text' or '[31/12/2020, 21:15:03] Name: text' line in the first {SNIFF_LINES} lines)")
                continue
            if not recognised:
                recognised = True
                yield from held
                held.clear()
            yield from self.record(item)
        if not recognised:
            raise ImportError_(f"{self.source.name}: not a WhatsApp chat export (no dated '12/31/20, 9:15 PM - Name: text' or '[31/12/2020, 21:15:03] Name: text' line)")

    def when(self, m: re.Match) -> datetime | None:
        key = m.group("a", "b", "c", "h", "mi", "s", "ampm")
        if key == self._last_when[0]:  # consecutive messages often share the minute
            return self._last_when[1]
        at = self._when(m)
        self._last_when = (key, at)
        return at

    def _when(self, m: re.Match) -> datetime | None:
        a, b, c = m.group("a"), m.group("b"), m.group("c")
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            day, month = (int(a), int(b)) if self.dayfirst is not False else (int(b), int(a))
            year = int(c) + (2000 if len(c) <= 2 else 0)
        hour = int(m.group("h"))
        if ampm := m.group("ampm"):
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
        try:
            return datetime(year, month, day, hour, int(m.group("mi")), int(m.group("s") or 0), tzinfo=self.opts.tz)
        except ValueError:
            return None

    def record(self, rec: Record) -> Iterator[Event | Reject]:
        m: re.Match = rec.header
        header_text = rec.header_line.text
        truncated: Reject | None = None
        last = rec.last
        if last is not None and not last.end:
            if last.cut_char:
                yield self.reject(rec.lineno, f"file is truncated at line {last.no + 1} (in the middle of a character)", header_text)
                return
            if last is not rec.header_line and PARTIAL_HEADER.match(last.text) and rec.lines and rec.lines[-1] == last.text:
                rec.lines.pop()
                truncated = self.reject(last.no, f"file is truncated at line {last.no + 1}", last.text)
        if rec.too_long:
            yield self.reject(rec.lineno, "message longer than 16 MiB", header_text[:500])
            return
        at = self.when(m)
        if at is None:
            yield self.reject(rec.lineno, "impossible date or time", header_text)
            return
        pid = f"{self.stem}:{rec.lineno}"
        rest = m.group("rest")
        body = rec.body()
        ios = m.group("br") is not None
        author, sep, first = rest.partition(": ")
        if not sep or len(author) > MAX_NAME or author.startswith(tuple(MARKS)) or SYSTEM_AUTHOR_HINT.search(author):
            text = rest if not body else f"{rest}\n{body}"
            yield from self.system(pid, at, text.lstrip(MARKS))
        elif ios and first.startswith(tuple(MARKS)) and IOS_SYSTEM.search(first) and not MEDIA_IOS.match(first.lstrip(MARKS)):
            text = first if not body else f"{first}\n{body}"
            yield from self.system(pid, at, text.lstrip(MARKS), chat_name=author)
        else:
            text = first if not body else f"{first}\n{body}"
            yield self.message(pid, at, author, text.lstrip(MARKS))
        if truncated is not None:
            yield truncated

    def message(self, pid: str, at: datetime, author: str, text: str) -> Event:
        payload: dict = {}
        if text == MEDIA_ANDROID:
            payload["media"] = "omitted"
        elif mm := MEDIA_IOS.match(text):
            payload["media"] = mm.group("kind").lower()
        elif mm := ATTACHED.match(text):
            payload["media"] = "attached"
            payload["file"] = mm.group("file")
        elif text in DELETED:
            payload["deleted"] = True
        if text.endswith(EDITED):
            payload["edited"] = True
        if "@" in text and (mentions := [mm.group("n") for mm in MENTION.finditer(text)]):
            payload["mentions"] = mentions
        return Event(self.group, pid, EventKind.MESSAGE, at, Author(author, author), text=text, payload=payload)

    def system(self, pid: str, at: datetime, text: str, chat_name: str | None = None) -> Iterator[Event]:
        flat = text.replace("\u200e", "").replace("\u200f", "")
        base: dict = {"chat_name": chat_name} if chat_name else {}
        if "\n" in flat or len(flat) > 2 * MAX_NAME:  # notices are one short line; this is something else
            yield Event(self.group, pid, EventKind.SYSTEM, at, None, text=text, payload=base)
            return
        if mm := JOINED_LINK.match(flat):
            yield Event(self.group, pid, EventKind.JOIN, at, Author(mm.group("who"), mm.group("who")), text=text, payload={**base, "via": "invite_link"})
            return
        if mm := JOINED_COMMUNITY.match(flat):
            yield Event(self.group, pid, EventKind.JOIN, at, Author(mm.group("who"), mm.group("who")), text=text, payload={**base, "via": "community"})
            return
        if mm := ADDED.match(flat):
            for i, who in enumerate(_names(mm.group("who"))):
                yield Event(self.group, pid if i == 0 else f"{pid}.{i}", EventKind.JOIN, at, Author(who, who), text=text,
                            payload={**base, "via": "added", "invited_by": mm.group("by")})
            return
        if mm := REMOVED.match(flat):
            for i, who in enumerate(_names(mm.group("who"))):
                yield Event(self.group, pid if i == 0 else f"{pid}.{i}", EventKind.KICK, at, Author(who, who), text=text,
                            payload={**base, "by": mm.group("by")})
            return
        if mm := LEFT.match(flat):
            yield Event(self.group, pid, EventKind.LEAVE, at, Author(mm.group("who"), mm.group("who")), text=text, payload=base)
            return
        if mm := JOINED.match(flat):
            yield Event(self.group, pid, EventKind.JOIN, at, Author(mm.group("who"), mm.group("who")), text=text, payload=base)
            return
        if (mm := CHANGED_NUMBER.match(flat)) and " changed to " in flat and not flat.startswith(("You changed", "You're")):
            old, new = mm.group("old"), mm.group("new")
            if not any(w in old for w in (" changed ", " the ", " group")):
                yield Event(self.group, pid, EventKind.RENAME, at, Author(old, old), text=text, payload={**base, "old": old, "new": new})
                return
        payload = dict(base)
        if mm := CREATED.match(flat):
            payload["created_by"] = mm.group("who")
        yield Event(self.group, pid, EventKind.SYSTEM, at, None, text=text, payload=payload)


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    yield from _Reader(source, opts).read()


def sniff(path: Path) -> bool:
    """True if one of the first lines is a dated WhatsApp line."""
    try:
        with open(path, "rb") as fh:
            for _ in range(20):
                raw = fh.readline(65536)
                if not raw:
                    break
                if HEADER.match(raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")):
                    return True
    except OSError:
        return False
    return False


IMPORTER = Importer(
    name="whatsapp",
    description="WhatsApp 'Export chat' text files (Android and iOS; day/month order detected from the data)",
    patterns=("*.txt",),
    naive_time_zone="community",
    read=read,
    sniff=sniff,
)
