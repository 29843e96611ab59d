"""Shared machinery of the chat-text importers (QQ, WhatsApp) and of WeChat's CSV reader.

Three pieces:

- :func:`read_lines` — streams a file as decoded lines, never loading it whole. It honours a
  UTF-8 or UTF-16 byte-order mark (QQ writes UTF-16 on some Windows versions), decodes every
  other line as UTF-8 with per-line fallbacks (GB18030 ...), tells whether each line ended with a
  line break (a missing break on the last line plus a cut multi-byte character or a half header
  is how a truncated file shows), and caps line length so a file without line breaks cannot eat
  memory. NUL (U+0000), which PostgreSQL cannot store in text, becomes U+FFFD; nothing else changes.
- :func:`assemble` — turns lines into records of "one header line + continuation lines" (a QQ
  message is a header line and its content lines; a WhatsApp message is a dated line plus the
  lines of a multi-line text). A caller-supplied ``classify`` says which lines start a record and
  which lines end one without starting another (QQ's ``=====`` section separators).
- :class:`NameBook` — system notices name people by display name ("X邀请Y加入了群聊", "X加入本群")
  while their messages carry an account id (wxid, QQ number). A notice about a name not yet seen
  with an account is held back until that name speaks, then released with the account id, so a
  joiner's join and messages land on one identity. Notices still unresolved at the end of the file
  (or beyond ``max_pending``) are released with the display name as identity.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.importers.base import Source
from shequn.importers.textlines import FALLBACK_ENCODINGS, decode_line

#: Longest line we hold in memory. Longer lines are reported (``Line.too_long``), not kept.
MAX_LINE_BYTES = 16 << 20
#: Longest record (header + continuation lines), in characters.
MAX_RECORD_CHARS = 16 << 20
#: Longest display name or account we accept from parsed text: real ones are far shorter, so a
#: longer one means a line was misread (and the store keeps at most 500 characters per identity).
MAX_NAME = 200


@dataclass(slots=True)
class Line:
    no: int  # 0-based line number
    text: str  # without its line terminator
    end: str  # the terminator as read: "\n", "\r\n" or "" (last line without a break)
    encoding: str
    too_long: bool = False  # longer than MAX_LINE_BYTES; ``text`` holds only the start
    cut_char: bool = False  # last line ends inside a multi-byte UTF-8 character (truncated file)


def _sniff_bom(head: bytes) -> tuple[str | None, int]:
    """(text encoding, bytes to skip) when the file is UTF-16 or has a UTF-8 BOM."""
    if head.startswith(b"\xef\xbb\xbf"):
        return None, 3
    if head.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if head.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    # UTF-16 without a BOM: ASCII-range characters leave every other byte zero
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0 and head[2] != 0:
        return "utf-16-le", 0
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0 and head[3] != 0:
        return "utf-16-be", 0
    return None, 0


def read_lines(source: Source, fallbacks: tuple[str, ...] = FALLBACK_ENCODINGS) -> Iterator[Line]:
    """Every line of ``source``, decoded (see the module docstring)."""
    with source.open_binary() as fh:
        head = fh.peek(4)[:4]
        utf16, skip = _sniff_bom(head)
        if skip:
            fh.read(skip)
        if utf16:
            yield from _utf16_lines(fh, utf16)
            return
        no = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES)
            if not raw:
                return
            too_long = False
            if not raw.endswith(b"\n") and len(raw) >= MAX_LINE_BYTES:
                too_long = True
                while True:  # skip the rest of the over-long line
                    more = fh.readline(MAX_LINE_BYTES)
                    if not more or more.endswith(b"\n"):
                        break
            if raw.endswith(b"\r\n"):
                end, body = "\r\n", raw[:-2]
            elif raw.endswith(b"\n"):
                end, body = "\n", raw[:-1]
            else:
                end, body = "", raw
            cut = False
            if not end and not too_long:
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if exc.reason == "unexpected end of data" and exc.end == len(body):
                        cut, body = True, body[: exc.start]
            text, enc = decode_line(body, fallbacks)
            if "\x00" in text:
                text = text.replace("\x00", "\ufffd")
            yield Line(no, text, end, enc, too_long=too_long, cut_char=cut)
            no += 1


def _utf16_lines(fh, encoding: str) -> Iterator[Line]:
    import io

    text_fh = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
    no = 0
    while True:
        line = text_fh.readline(MAX_LINE_BYTES // 2)
        if not line:
            return
        too_long = False
        if not line.endswith(("\n", "\r")) and len(line) >= MAX_LINE_BYTES // 2:
            too_long = True
            while True:
                more = text_fh.readline(MAX_LINE_BYTES // 2)
                if not more or more.endswith(("\n", "\r")):
                    break
        if line.endswith("\r\n"):
            end, body = "\r\n", line[:-2]
        elif line.endswith(("\n", "\r")):
            end, body = line[-1], line[:-1]
        else:
            end, body = "", line
        if no == 0 and body.startswith("\ufeff"):
            body = body[1:]
        if "\x00" in body:
            body = body.replace("\x00", "\ufffd")
        yield Line(no, body, end, encoding, too_long=too_long, cut_char=not end and body.endswith("\ufffd"))
        no += 1


# ---------------------------------------------------------------- records


@dataclass(slots=True)
class Record:
    """A header line and the lines that continue it."""

    lineno: int  # 0-based line of the header
    header: Any  # whatever ``classify`` returned for the header line
    header_line: Line
    lines: list[str] = field(default_factory=list)
    last: Line | None = None  # the record's last physical line (the header itself if none follow)
    too_long: bool = False  # grew beyond MAX_RECORD_CHARS; ``lines`` were dropped

    def body(self) -> str:
        """Continuation lines joined with "\\n", trailing blank lines dropped (they separate records)."""
        lines = self.lines
        end = len(lines)
        while end and not lines[end - 1].strip():
            end -= 1
        return "\n".join(lines[:end])


@dataclass(slots=True)
class Loose:
    """A line outside any record: before the first header, or one ``classify`` marked as a break."""

    line: Line
    marker: Any = None  # the break object, or None for a line before the first header


HEAD = "head"
BREAK = "break"


def assemble(lines: Iterable[Line], classify: Callable[[Line], tuple[str, Any] | None]) -> Iterator[Record | Loose]:
    """Group lines into records. ``classify(line)`` returns ``("head", obj)`` for a line that starts a
    record, ``("break", obj)`` for a line that ends the current record without starting one, or
    ``None`` for a continuation line. Over-long lines end the current record and come out as Loose.
    """
    current: Record | None = None
    size = 0
    for line in lines:
        kind = None if line.too_long else classify(line)
        if kind is not None and kind[0] == HEAD:
            if current is not None:
                yield current
            current = Record(line.no, kind[1], line, last=line)
            size = len(line.text)
            continue
        if kind is not None or line.too_long:
            if current is not None:
                yield current
                current = None
            yield Loose(line, kind[1] if kind else None)
            continue
        if current is None:
            yield Loose(line)
            continue
        current.last = line
        if current.too_long:
            continue
        size += len(line.text) + 1
        if size > MAX_RECORD_CHARS:
            current.too_long = True
            current.lines = []
            continue
        current.lines.append(line.text)
    if current is not None:
        yield current


# ---------------------------------------------------------------- names


class NameBook:
    """Display name -> account id, learnt from messages; holds notices about names not seen yet.

    ``hold(name, build)`` calls ``build(author)`` now if ``name`` is known, else later: when
    ``learn`` sees the name with an account (the events are returned by ``learn``), when more than
    ``max_pending`` notices wait (the oldest is released with the name as identity), or at
    ``flush()``.
    """

    def __init__(self, max_pending: int = 50_000):
        self.accounts: dict[str, tuple[str, str | None]] = {}
        self.pending: OrderedDict[int, tuple[str, Callable[[Author], Event]]] = OrderedDict()
        self.by_name: dict[str, list[int]] = {}
        self.max_pending = max_pending
        self._seq = 0

    def lookup(self, name: str | None) -> str | None:
        hit = self.accounts.get(name) if name else None
        return hit[0] if hit else None

    def author(self, name: str) -> Author | None:
        hit = self.accounts.get(name)
        return Author(hit[0], hit[1] or name) if hit else None

    def learn(self, name: str | None, account: str, display: str | None = None) -> list[Event]:
        if not name or not account:
            return []
        self.accounts[name] = (account, display or name)
        waiting = self.by_name.pop(name, None)
        if not waiting:
            return []
        out = []
        for key in waiting:
            item = self.pending.pop(key, None)
            if item is not None:
                out.append(item[1](Author(account, display or name)))
        return out

    def hold(self, name: str, build: Callable[[Author], Event]) -> list[Event]:
        known = self.author(name)
        if known is not None:
            return [build(known)]
        self._seq += 1
        self.pending[self._seq] = (name, build)
        self.by_name.setdefault(name, []).append(self._seq)
        out = []
        while len(self.pending) > self.max_pending:
            old_key, (old_name, old_build) = self.pending.popitem(last=False)
            keys = self.by_name.get(old_name)
            if keys is not None:
                keys.remove(old_key)
                if not keys:
                    del self.by_name[old_name]
            out.append(old_build(Author(old_name, old_name)))
        return out

    def person_event(
        self, group: GroupRef, pid: str, kind: EventKind, at: datetime, text: str, payload: dict,
        who: Author | None, name: str, by_name: str | None, by_id: str | None,
    ) -> list[Event]:
        """A join / leave / kick notice about ``name``. Built now if the member's account is known
        (``who``, or learnt earlier), else held until it is. The actor (inviter, remover) gets its
        account id from ``by_id`` or, if missing, from what the book knows when the event is built."""
        by_key = "invited_by_id" if kind is EventKind.JOIN else "by_id"

        def build(author: Author) -> Event:
            final = dict(payload)
            resolved = by_id or self.lookup(by_name)
            if resolved:
                final[by_key] = resolved
            return Event(group, pid, kind, at, author, text=text, payload=final)

        if who is not None:
            return [build(who)]
        return self.hold(name, build)

    def flush(self) -> list[Event]:
        out = [build(self.author(name) or Author(name, name)) for name, build in self.pending.values()]
        self.pending.clear()
        self.by_name.clear()
        return out
