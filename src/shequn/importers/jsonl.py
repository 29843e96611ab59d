"""Shequn JSON Lines: our own neutral one-event-per-line format (docs/formats/jsonl.md).

Any source without its own importer can be converted to it with a few lines of script. The file
is JSON Lines (https://jsonlines.org/, also called NDJSON): UTF-8 text, one JSON object per line,
lines ending in ``\\n`` (``\\r\\n`` accepted); blank lines are skipped. One object is one Event:

=============  =========================  ==========================================================
key            JSON type                  meaning
=============  =========================  ==========================================================
id             string, required           the platform's id for the event (idempotency key per group)
at             string or number, required ISO 8601 (``datetime.fromisoformat``; no offset → ``--tz``,
                                          default the community's zone) or epoch: a number below
                                          1e11 is seconds, from 1e11 on milliseconds
kind           string, required           one of the EventKind values (``message``, ``join`` ...)
group          string                     group id; default ``--group``, else the file name stem
group_name     string                     display name of the group (default: the group id)
platform       string                     default ``jsonl``; identities are per platform
member         string                     the author's account id
member_name    string                     the author's display name (also the id if no ``member``)
bot            boolean                    the author is a bot
text           string                     what was said
reply_to       string                     id of the event this one answers
payload        object                     anything else, stored as is
=============  =========================  ==========================================================

``null`` counts as absent for optional keys. Unknown top-level keys are kept in
``payload["extra"]``. A line that breaks a rule becomes a Reject naming the line and the problem.
Strings are stored unchanged, except that text columns cannot hold NUL (U+0000) or lone UTF-16
surrogates: such lines are rejected rather than crash the database write.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions, Source
from shequn.importers.textlines import FALLBACK_ENCODINGS, decode_line

DEFAULT_PLATFORM = "jsonl"
#: epoch numbers at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973-03-03)
MS_THRESHOLD = 100_000_000_000
KINDS = {k.value: k for k in EventKind}
STRING_KEYS = ("id", "group", "group_name", "platform", "member", "member_name", "text", "reply_to")
KNOWN_KEYS = frozenset({"id", "at", "kind", "bot", "payload", *STRING_KEYS})
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
RAW_LIMIT = 2000


class _Bad(Exception):
    """One line's problem; the message becomes the Reject reason."""


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _no_constants(name: str):
    raise _Bad(f"invalid JSON: {name} is not allowed")


def _parse_at(value, tz) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(f"'at' must be an ISO 8601 string or epoch number, got {_json_type(value)}")
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Bad(f"'at' is not an ISO 8601 time: {value[:60]!r}") from None
        return at if at.tzinfo is not None else at.replace(tzinfo=tz)
    if not math.isfinite(value):
        raise _Bad("'at' is not a finite number")
    seconds = value / 1000 if abs(value) >= MS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise _Bad(f"'at' epoch {value} is out of range") from None


def _event(obj, opts: ImportOptions, default_group: str) -> Event:
    if not isinstance(obj, dict):
        raise _Bad(f"line is a JSON {_json_type(obj)}, not an object")
    for key in ("id", "at", "kind"):
        if obj.get(key) is None:
            raise _Bad(f"missing required key '{key}'")
    for key in STRING_KEYS:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _Bad(f"'{key}' must be a string, got {_json_type(value)}")
        if m := UNSTORABLE.search(value):
            what = "NUL (U+0000)" if m.group() == "\x00" else f"a lone surrogate (U+{ord(m.group()):04X})"
            raise _Bad(f"'{key}' contains {what}, which cannot be stored")
    for key in ("id", "group", "platform"):
        if key in obj and obj[key] is not None and not obj[key].strip():
            raise _Bad(f"'{key}' is empty")
    kind = KINDS.get(obj["kind"]) if isinstance(obj["kind"], str) else None
    if kind is None:
        if not isinstance(obj["kind"], str):
            raise _Bad(f"'kind' must be a string, got {_json_type(obj['kind'])}")
        raise _Bad(f"unknown kind {obj['kind'][:40]!r} (expected one of: {', '.join(KINDS)})")
    at = _parse_at(obj["at"], opts.tz)
    bot = obj.get("bot")
    if bot is not None and not isinstance(bot, bool):
        raise _Bad(f"'bot' must be true or false, got {_json_type(bot)}")
    payload = obj.get("payload")
    if payload is None:
        payload = {}
    elif not isinstance(payload, dict):
        raise _Bad(f"'payload' must be an object, got {_json_type(payload)}")
    extra = {k: v for k, v in obj.items() if k not in KNOWN_KEYS}
    if extra:
        payload = dict(payload)
        kept = payload.get("extra")
        if kept is None:
            payload["extra"] = extra
        elif isinstance(kept, dict):
            payload["extra"] = {**extra, **kept}
        else:
            raise _Bad("the line has unknown keys but 'payload.extra' is not an object to keep them in")

    group_id = obj.get("group") or default_group
    group = GroupRef(obj.get("platform") or DEFAULT_PLATFORM, group_id, obj.get("group_name") or group_id)
    member, member_name = obj.get("member"), obj.get("member_name")
    author = None
    if member or member_name:
        author = Author(member or member_name, member_name, is_bot=bool(bot))
    return Event(group, obj["id"], kind, at, author, text=obj.get("text"), reply_to=obj.get("reply_to"), payload=payload)


def _stem(path: Path) -> str:
    return path.name.rsplit(".", 1)[0] if "." in path.name else path.name


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    default_group = opts.group or _stem(source.path)
    seen_content = False
    with source.open_binary() as fh:
        for index, raw in enumerate(fh):
            lineno = index + 1
            complete = raw.endswith(b"\n")
            if index == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            line, _enc = decode_line(raw.rstrip(b"\r\n"), FALLBACK_ENCODINGS)
            if not line.strip():
                continue
            if not seen_content:
                seen_content = True
                _check_first_line(source, lineno, line)
            try:
                obj = json.loads(line, parse_constant=_no_constants)
            except _Bad as exc:
                yield Reject(source.name, f"line {lineno}", str(exc), line[:RAW_LIMIT])
                continue
            except json.JSONDecodeError as exc:
                if not complete:
                    reason = f"file is truncated: line {lineno} ends before its JSON object is complete"
                else:
                    reason = f"invalid JSON: {exc.msg} at column {exc.colno}"
                yield Reject(source.name, f"line {lineno}", reason, line[:RAW_LIMIT])
                continue
            except RecursionError:
                yield Reject(source.name, f"line {lineno}", "invalid JSON: nested too deeply", line[:RAW_LIMIT])
                continue
            try:
                yield _event(obj, opts, default_group)
            except _Bad as exc:
                yield Reject(source.name, f"line {lineno}", str(exc), line[:RAW_LIMIT])


def _check_first_line(source: Source, lineno: int, line: str) -> None:
    """A file whose first content line cannot start a JSON object is not this format at all."""
    stripped = line.strip()
    if stripped == "{" or stripped.startswith('{"') and stripped.endswith(","):
        raise ImportError_(
            f"{source.name}: looks like pretty-printed JSON (line {lineno} is {stripped[:40]!r}); "
            "shequn jsonl needs one complete JSON object per line"
        )
    if stripped.startswith("["):
        raise ImportError_(f"{source.name}: starts with a JSON array; shequn jsonl needs one JSON object per line")
    if not stripped.startswith("{"):
        raise ImportError_(f"{source.name}: not a JSON Lines file: line {lineno} does not start with '{{': {stripped[:60]!r}")


def sniff(path: Path) -> bool:
    """True if the first non-blank line is a JSON object."""
    try:
        with open(path, "rb") as fh:
            for _ in range(20):
                raw = fh.readline(1 << 20)
                if not raw:
                    return False
                if raw.strip():
                    return raw.lstrip(b"\xef\xbb\xbf \t").startswith(b"{")
    except OSError:
        return False
    return False


IMPORTER = Importer(
    name="jsonl",
    description="Shequn JSON Lines: one event per line (our neutral format; convert any source to it)",
    patterns=("*.jsonl", "*.ndjson"),
    naive_time_zone="community",
    read=read,
    sniff=sniff,
)
