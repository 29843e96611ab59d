"""Mailing-list archives in mbox format (plain or gzip-compressed).

What produces them:

* GNU Mailman 2 / pipermail: the monthly "Downloadable version" of a list archive
  (``2010-January.txt`` or ``.txt.gz``, written by ``HyperArch.Article.as_text``) and the full
  ``listname.mbox`` under ``archives/private/``. The ``.txt`` volumes keep only From, Date,
  Subject, In-Reply-To, References and Message-ID, write the sender as ``user at example.org
  (Display Name)`` when ``ARCHIVER_OBSCURES_EMAILADDRS`` is on (the Mailman 2.1 default), and do
  *not* escape body lines that start with ``From ``.
* GNU mailutils (``mail``, ``movemail``, ``mbox`` mailboxes), mutt/neomutt, Thunderbird and
  ``git format-patch`` (mboxrd) write classic mbox: each message starts with a ``From_`` line
  (``From <envelope sender> <asctime date> [more]``, see qmail's and neomutt's mbox(5)), ends
  with a blank line, and body lines that would look like a ``From_`` line are quoted with ``>``
  (mboxo quotes ``From `` only; mboxrd also ``>From `` → ``>>From ``).

How this module reads them, streaming (memory holds one message at a time):

* Messages are split on ``From_`` lines read from the binary stream line by line. A line counts
  as a separator only if it is the first non-blank line of the file or follows a blank line, *and*
  it ends in an asctime-like date (``Mon Jan  4 10:00:00 2010``; a comment, extra words, a zone
  or a two-digit year are tolerated). So an unquoted ``From my point of view ...`` in a pipermail
  body does not split a message, and ``>From `` lines never do.
* Body lines matching ``^>+From `` lose one ``>`` (mboxrd unquoting; for mboxo files the rare
  original ``>From `` line loses its ``>`` too — the two variants cannot be told apart).
* Each message is parsed by the stdlib ``email`` package (``BytesFeedParser``, the incremental
  form of ``BytesParser``). Its policy is ``compat32``: header values are taken raw and decoded
  here (8-bit bytes by charset fallbacks, RFC 2047 encoded-words by ``email.policy.default``'s
  header parser), which imports 3x faster than letting ``policy.default`` build a header object
  on every access. ``mailbox.mbox`` is not used: it indexes the whole file first.
* A file that starts with ``\\x1f\\x8b`` is gzip; it is decompressed on the fly.

Field mapping (platform ``mbox``):

* group: ``--group`` if given; else the list id of the message's ``List-Id`` header (RFC 2919:
  ``Dev list <dev.lists.example.org>`` → ``dev.lists.example.org``, named "Dev list"); else the
  file name without ``.gz`` and its extension — except that a pipermail volume name
  (``2010-January``, ``2010q1``, ``2010``, ``20100104``, ``Week-of-Mon-20100104``) stands for the
  directory it is in (``python-dev/2010-January.txt.gz`` → ``python-dev``).
* platform id: the Message-ID without ``<>``; without one, ``nomsgid:`` + a SHA-256 prefix of
  (From, Date, Subject, first 200 characters of the text) — stable across re-imports.
* reply_to: the first id of ``In-Reply-To``, else the last id of ``References``.
* author: external id = the From address lower-cased (pipermail's ``user at example.org`` is
  turned back into ``user@example.org``), name = the display name. ``Auto-Submitted`` other
  than ``no`` (RFC 3834) marks the author as a bot.
* time: the ``Date`` header (RFC 5322) via ``email.utils``; ``-0000`` means UTC; a date with no
  zone at all uses ``--tz`` (default UTC). No or unreadable Date → Reject.
* text: the first text/plain part that is not an attachment, else the first text/html part with
  its tags stripped (``html.parser``); decoded by the declared charset, then UTF-8, GB18030,
  cp1252, Latin-1. payload: ``subject``, ``list_id``, ``attachments`` (file name + type),
  ``html`` when the text came from HTML, ``decoded_as`` when the declared charset was not used.
  NUL characters (which PostgreSQL cannot store in text) become U+FFFD.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from email import policy
from email.message import Message
from email.parser import BytesFeedParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions, Source

PLATFORM = "mbox"
FALLBACKS = ("utf-8", "gb18030", "cp1252", "latin-1")
GZIP_MAGIC = b"\x1f\x8b"

_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MON = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# "From sender Mon Jan  4 10:00:00 2010", "From user at example.org  Mon Jan  4 10:00:00 2010",
# "From u2@a.invalid (comment) Sat Jul 27 03:26:47 1996", "From x Mon Jan 4 10:00 CET DST 10"
FROM_LINE = re.compile(
    rb"^From \S.*?\s" + _DAY + rb",?\s+" + _MON + rb"\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?"
    rb"\s+(?:[A-Za-z+\-0-9]+\s+){0,2}\d{2,4}\b"
)
QUOTED_FROM = re.compile(rb"^>+From ")
MSGID = re.compile(r"<([^<>\s]+)>")
# pipermail's ARCHIVER_OBSCURES_EMAILADDRS: "user@example.org" written as "user at example.org"
OBFUSCATED = re.compile(r"([^\s@<>()\"',;:]+) at ((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})")
PIPERMAIL_VOLUME = re.compile(r"^(?:\d{4}|\d{4}q[1-4]|\d{4}-[A-Za-z]+|\d{8}|Week-of-Mon-\d{8})$")
# charsets whose real-world use exceeds their name: decode with the superset
CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}
NO_CHARSET = {"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "none", ""}
BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr"}
TEXT_PREFIX = 200
RAW_LIMIT = 2000


# ---------------------------------------------------------------- decoding helpers


def _decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode ``data`` by the declared charset, then the fallbacks. Returns (text, codec used)."""
    tried: list[str] = []
    if declared:
        declared = declared.strip().strip("\"'").lower()
        if declared not in NO_CHARSET:
            tried.append(CHARSET_SUPERSETS.get(declared, declared))
            tried.append(declared)
    tried.extend(FALLBACKS)
    for codec in tried:
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace"), "utf-8-replace"  # unreachable: latin-1 takes anything


def _unsurrogate(value: str) -> str:
    """Header values holding raw 8-bit bytes come back from ``email`` surrogate-escaped: decode them."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return _decode_bytes(value.encode("utf-8", errors="surrogateescape"))[0]


def _storable(value: str | None) -> str | None:
    return value.replace("\x00", "\ufffd") if value else value


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words (``=?utf-8?b?...?=``) with the modern header parser."""
    if "=?" not in value:
        return value
    try:
        return _unsurrogate(str(policy.default.header_factory("X-Shequn-Decoded", value)))
    except Exception:  # noqa: BLE001 - keep the undecoded value rather than lose the message
        return value


class _Headers:
    """First value of each header, 8-bit bytes decoded and RFC 2047 encoded-words decoded."""

    def __init__(self, msg: Message):
        self._raw: dict[str, str] = {}
        for name, value in msg.raw_items():
            self._raw.setdefault(name.lower(), value)
        self.empty = not self._raw

    def raw(self, name: str) -> str | None:
        value = self._raw.get(name)
        if value is None:
            return None
        return re.sub(r"\r?\n(?=[ \t])", "", _unsurrogate(value)).strip()

    def text(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else _storable(_decode_words(value))


def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = MSGID.findall(value)
    if found:
        return found
    token = value.strip().split()[0] if value.strip() else ""
    return [token.strip("<>")] if token.strip("<>") else []


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _part_text(part: Message) -> tuple[str, str, str | None]:
    """(text, codec used, declared charset) of a leaf part."""
    data = part.get_payload(decode=True)
    if data is None:
        data = b""
    if isinstance(data, str):  # pragma: no cover - defensive: decode=True gives bytes for leaf parts
        data = data.encode("utf-8", errors="surrogateescape")
    declared = part.get_content_charset()
    text, codec = _decode_bytes(data, declared)
    return text.replace("\r\n", "\n").replace("\r", "\n"), codec, declared


def _body(msg: Message) -> tuple[str, dict]:
    """Pick the text of a message: first text/plain, else first text/html stripped of tags."""
    plain = html = None
    attachments: list[dict] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        if disposition == "attachment" or ctype not in ("text/plain", "text/html"):
            entry = {"content_type": ctype}
            if (filename := part.get_filename()) is not None:
                entry["filename"] = _storable(_decode_words(_unsurrogate(str(filename))))
            attachments.append(entry)
            continue
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and html is None:
            html = part
    info: dict = {}
    if attachments:
        info["attachments"] = attachments
    chosen = plain if plain is not None else html
    if chosen is None:
        return "", info
    text, codec, declared = _part_text(chosen)
    expected = {declared, CHARSET_SUPERSETS.get(declared, declared)} if declared else {"utf-8"}
    if codec not in expected:
        info["decoded_as"] = codec
    if chosen is html:
        info["html"] = True
        text = html_to_text(text)
    return text.rstrip("\n"), info


# ---------------------------------------------------------------- one message → Event


def _author(headers: _Headers) -> Author | None:
    value = headers.raw("from")
    if not value:
        return None
    # split address and display name *before* decoding encoded-words: a decoded name may hold "," or "<"
    name, addr = parseaddr(OBFUSCATED.sub(r"\1@\2", value))
    name = _storable(_decode_words(name).strip()) or None
    addr = _storable(addr.strip().lower())
    if not addr:
        addr = name or _storable(_decode_words(value))
    if not addr:
        return None
    auto = (headers.raw("auto-submitted") or "no").split(";")[0].strip().lower()
    return Author(addr, name if name != addr else None, is_bot=auto != "no")


def _date(value: str, tz) -> datetime:
    at = parsedate_to_datetime(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc if re.search(r"-0000\b", value) else tz)
    return at


def _list_group(value: str | None) -> GroupRef | None:
    if not value:
        return None
    found = MSGID.search(value)
    if found:
        list_id = found.group(1)
        name = value[: found.start()].strip().strip('"').strip() or list_id
    else:
        list_id = value.strip()
        name = list_id
    if not list_id:
        return None
    return GroupRef(PLATFORM, list_id, name)


def _fallback_group(path: Path) -> GroupRef:
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if PIPERMAIL_VOLUME.match(stem) and path.resolve().parent.name:
        stem = path.resolve().parent.name
    return GroupRef(PLATFORM, stem, stem)


def _message(
    msg: Message, start: int, head: str, source: Source, opts: ImportOptions, fallback: GroupRef
) -> Event | Reject:
    headers = _Headers(msg)
    if headers.empty:
        return Reject(source.name, f"line {start}", "not an email message (no header lines after the From_ line)", head)
    mid_ids = _ids(headers.raw("message-id"))
    mid = _storable(mid_ids[0]) if mid_ids else None
    location = f"line {start} Message-ID <{mid}>" if mid else f"line {start}"
    date_raw = headers.raw("date")
    if not date_raw:
        return Reject(source.name, location, "missing Date header", head)
    try:
        at = _date(date_raw, opts.tz)
    except (TypeError, ValueError, OverflowError, IndexError):
        return Reject(source.name, location, "unreadable Date header", head)

    text, info = _body(msg)
    text = _storable(text)
    subject = headers.text("subject")
    if opts.group:
        group = GroupRef(PLATFORM, opts.group, opts.group)
    else:
        group = _list_group(headers.text("list-id")) or fallback
    if mid is None:
        key = "\x1f".join([headers.raw("from") or "", date_raw, subject or "", text[:TEXT_PREFIX]])
        mid = "nomsgid:" + hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
    reply_ids = _ids(headers.raw("in-reply-to"))[:1] or _ids(headers.raw("references"))[-1:]
    payload: dict = {}
    if subject is not None:
        payload["subject"] = subject
    if (list_id := _list_group(headers.text("list-id"))) is not None:
        payload["list_id"] = list_id.external_id
    payload.update(info)
    return Event(
        group,
        mid,
        EventKind.MESSAGE,
        at,
        _author(headers),
        text=text,
        reply_to=_storable(reply_ids[0]) if reply_ids else None,
        payload=payload,
    )


# ---------------------------------------------------------------- splitting the stream


class _Splitter:
    """Feeds lines into one ``BytesFeedParser`` per message; the blank line before a From_ line
    belongs to the mbox framing and is held back until we know whether a separator follows."""

    def __init__(self) -> None:
        self.parser: BytesFeedParser | None = None
        self.start = 0
        self.held: bytes | None = None
        self.head = bytearray()  # the first RAW_LIMIT bytes of the message, for Rejects

    def begin(self, lineno: int, from_line: bytes) -> None:
        self.parser = BytesFeedParser(policy=policy.compat32)
        self.start = lineno
        self.held = None
        self.head = bytearray(from_line[:RAW_LIMIT])

    def raw_head(self) -> str:
        return _decode_bytes(bytes(self.head))[0][:RAW_LIMIT]

    def feed(self, raw: bytes) -> None:
        if self.held is not None:
            held, self.held = self.held, None
            self._feed(held)
        if raw in (b"\n", b"\r\n"):
            self.held = raw
            return
        if raw.startswith(b">") and QUOTED_FROM.match(raw):
            raw = raw[1:]
        self._feed(raw)

    def _feed(self, raw: bytes) -> None:
        if len(self.head) < RAW_LIMIT:
            self.head += raw[: RAW_LIMIT - len(self.head)]
        self.parser.feed(raw)

    def finish(self) -> Message | None:
        if self.parser is None:
            return None
        msg = self.parser.close()
        self.parser = None
        return msg


def _lines(fh) -> Iterator[bytes]:
    """Lines of the file, transparently gunzipped."""
    if fh.peek(2)[:2] == GZIP_MAGIC:
        fh = gzip.GzipFile(fileobj=fh, mode="rb")
    yield from fh


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    fallback = _fallback_group(source.path)
    split = _Splitter()
    lineno = 0
    prev_blank = True
    last: bytes = b"\n"

    def emit() -> Event | Reject | None:
        start, head = split.start, split.raw_head()
        msg = split.finish()
        if msg is None:
            return None
        try:
            return _message(msg, start, head, source, opts, fallback)
        except Exception as exc:  # noqa: BLE001 - one malformed message must not stop the import
            return Reject(source.name, f"line {start}", f"unreadable message ({type(exc).__name__})", head)

    with source.open_binary() as fh:
        lines = _lines(fh)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                break
            except (EOFError, OSError, zlib.error) as exc:
                if lineno == 0:
                    raise ImportError_(f"{source.name}: cannot read: {type(exc).__name__}: {exc}") from None
                start, head = split.start, split.raw_head()
                cut = split.finish() is not None
                where = f"inside the message starting at line {start}" if cut else "between messages"
                yield Reject(
                    source.name,
                    f"line {lineno}",
                    f"file is truncated: compressed data ends or is damaged after line {lineno}, {where} ({type(exc).__name__})",
                    head if cut else None,
                )
                return
            lineno += 1
            last = raw
            blank = raw in (b"\n", b"\r\n")
            if raw.startswith(b"From ") and prev_blank and FROM_LINE.match(raw):
                if (item := emit()) is not None:
                    yield item
                split.begin(lineno, raw)
                prev_blank = False
                continue
            prev_blank = blank or (split.parser is None and not raw.strip())
            if split.parser is None:
                if not raw.strip():
                    continue
                preview = raw[:120].decode("utf-8", errors="replace").rstrip("\r\n")
                raise ImportError_(
                    f"{source.name}: not an mbox file: line {lineno} should be a 'From sender date' separator line, found {preview!r}"
                )
            split.feed(raw)

    if split.parser is not None and not last.endswith(b"\n"):
        start, head = split.start, split.raw_head()
        split.finish()
        yield Reject(
            source.name,
            f"line {lineno}",
            f"file is truncated: it ends in the middle of line {lineno}, inside the message starting at line {start}",
            head,
        )
        return
    if (item := emit()) is not None:
        yield item


def sniff(path: Path) -> bool:
    """True if the first non-blank line (after gunzip) is an mbox From_ line."""
    try:
        with open(path, "rb") as raw:
            fh = gzip.GzipFile(fileobj=raw) if raw.read(2) == GZIP_MAGIC else raw
            raw.seek(0)
            for _ in range(50):
                line = fh.readline(4096)
                if not line:
                    return False
                if line.strip():
                    return bool(FROM_LINE.match(line))
    except (OSError, EOFError, zlib.error):
        return False
    return False


IMPORTER = Importer(
    name="mbox",
    description="Mailing-list archives in mbox format (Mailman/pipermail .txt/.mbox, GNU mailutils, mutt; .gz too)",
    patterns=("*.mbox", "*.mbox.gz", "*.mbx", "*.txt", "*.txt.gz"),
    naive_time_zone="utc",
    read=read,
    sniff=sniff,
)
