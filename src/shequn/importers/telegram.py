"""Telegram Desktop "Export chat history" / "Export Telegram data" JSON (``result.json``).

Written by Telegram Desktop's exporter (tdesktop ``Telegram/SourceFiles/export/output/
export_output_json.cpp``, JSON export since tdesktop 1.3, 2018; ``date_unixtime`` since 3.7.6, 2022,
see tdesktop issue #24054; ``reactions`` in recent versions). Two shapes:

* single-chat export (chat menu → Export chat history → JSON): a top-level object
  ``{"name", "type", "id", "messages": [...]}``;
* full-account export (Settings → Advanced → Export Telegram data → JSON):
  ``{"about", "personal_information", ..., "chats": {"about", "list": [chat, ...]},
  "left_chats": {"about", "list": [...]}}`` where each chat has the same ``name/type/id/messages``.

The exporter writes ``name``, ``type`` and ``id`` before ``messages``, which lets us stream (see
:mod:`shequn.importers.jsonstream`): a peek at the start of the file tells the two shapes apart, a
fast regex pass collects names and ids (below), and the main pass builds one message at a time with
``ijson`` (in C for a single-chat export). Chat types are ``private_group``, ``private_supergroup``, ``public_supergroup``,
``private_channel``, ``public_channel`` (imported) and ``personal_chat``, ``bot_chat``,
``saved_messages``, ``replies`` (skipped in a full export with one Reject per chat). ``id`` is the
bare peer id (no ``-100`` prefix, unlike the Bot API). A legacy group upgraded to a supergroup is
exported as two chats with two ids (Telegram considers them different chats).

Messages (``type: "message"``): ``text`` is a string or a list of strings and entity objects
``{"type", "text", "href"|"user_id"...}`` (flattened to ``Event.text``; the non-plain entities are
kept in ``payload["entities"]``); ``from`` is the display name and ``from_id`` the stable peer id
(``"user123"``, ``"channel456"`` for channel posts and anonymous admins; a bare number, as some
older exports wrote it, is normalised to ``"user<n>"``); ``reply_to_message_id`` becomes ``reply_to``; every other
field (``photo``, ``file``, ``media_type``, ``sticker_emoji``, ``forwarded_from``, ``via_bot``,
``reactions``, ``poll``, ``edited_unixtime`` ...) is kept in ``payload`` under its own name.
Service messages (``type: "service"``) carry ``actor``/``actor_id`` and an ``action``: see
``_service_events`` for the mapping to join/leave/kick/pin/system events. ``type: "unsupported"``
entries have no date and are rejected.

Invited (``invite_members``), created-with (``create_group``) and removed (``remove_members``) members
are written only by display name. Before the main pass the file is scanned once for
``"from": name, "from_id": "user<n>"`` (and ``actor``/``actor_id``) pairs; a name that maps to exactly
one id in that chat (or, failing that, in the whole export) is resolved to it, otherwise the name
itself is the identity id. ``payload["member_id_source"]`` says which happened ("id" or "name").

Platform ids: the message id; events derived from the ``members`` list of a service message are
``<message id>:<n>`` (n = 0-based position in the list). Times: ``date_unixtime`` (UTC epoch
seconds) when present, else ``date`` (local time of the exporting computer, no offset → ``opts.tz``).
Telegram exports do not say which accounts are bots, so ``Author.is_bot`` is always False.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import Importer, ImportError_, ImportOptions, Source
from shequn.importers.jsonstream import (
    JSON_ERRORS,
    RECORD,
    RecordBuilder,
    RepairedStream,
    damage_reject,
    head,
    iter_items,
    not_this_format,
    open_json,
    peek,
    raw_json,
)

PLATFORM = "telegram"
WHAT = "Telegram Desktop JSON export (result.json)"

GROUP_TYPES = frozenset({"private_group", "private_supergroup", "public_supergroup", "private_channel", "public_channel"})
SKIP_REASONS = {
    "personal_chat": "skipped personal chat",
    "bot_chat": "skipped bot chat",
    "saved_messages": "skipped saved messages",
    "replies": "skipped replies chat",
}

_SCALARS = frozenset({"string", "number", "boolean", "null"})
# the prefixes a full export's walk looks at (one dict lookup per parse event), by role
_LISTS = ("chats.list.item", "left_chats.list.item")
_FIELDS = {f"{p}.{k}": k for p in _LISTS for k in ("name", "type", "id")}
_ROLES = {
    **{p: "chat" for p in _LISTS},
    **{p: "field" for p in _FIELDS},
    **{f"{p}.messages": "array" for p in _LISTS},
    **{f"{p}.messages.item": "item" for p in _LISTS},
}

# keys of a message object that are mapped to Event fields rather than copied into the payload
_MESSAGE_KEYS = frozenset({"id", "type", "date", "date_unixtime", "from", "from_id", "text", "text_entities", "reply_to_message_id", "reply_to_peer_id"})
_SERVICE_KEYS = frozenset({"id", "type", "date", "date_unixtime", "actor", "actor_id", "text", "text_entities", "action"})

JOIN_ACTIONS = {"join_group_by_link": "link", "join_group_by_request": "request"}


# ---------------------------------------------------------------------------------------------
# name -> user id pre-pass


_AMBIGUOUS = ""
# a chat's id just before its "messages" key, or a name followed by its id ("from"/"from_id",
# "actor"/"actor_id": tdesktop writes each pair as consecutive keys). Inside a JSON string every '"'
# is escaped, so these can only match real keys.
_PAIRS = re.compile(
    rb'"id"\s*:\s*(\d+)\s*,\s*"messages"\s*:\s*\['
    rb'|"(from|actor)"\s*:\s*"((?:[^"\\\r\n]|\\.)*)"\s*,\s*"\2_id"\s*:\s*(?:"user(\d+)"|(\d+)\b)'
)
_SCAN_CHUNK = 1 << 17
_SCAN_OVERLAP = 1 << 16  # a match longer than this across a chunk boundary is missed (names are < 1 KiB)
_SCAN_SLACK = 64  # a match ending this close to the unread part may be incomplete: wait for more


class _Names:
    """Display name -> "user<n>" for names that belong to exactly one account (per chat, then globally)."""

    def __init__(self) -> None:
        self.per_chat: dict[tuple[str | None, str], str] = {}
        self.everywhere: dict[str, str] = {}

    def add(self, chat: str | None, name: str, uid: str) -> None:
        for table, key in ((self.per_chat, (chat, name)), (self.everywhere, name)):
            known = table.get(key)
            if known is None:
                table[key] = uid
            elif known != uid:
                table[key] = _AMBIGUOUS

    def resolve(self, chat: str, name: str) -> str | None:
        uid = self.per_chat.get((chat, name))
        if uid is None:
            uid = self.everywhere.get(name)
        return uid or None

    @classmethod
    def scan(cls, path: Path) -> _Names:
        """One regex pass over the (encoding-repaired) bytes, not the JSON parser: fast, bounded memory."""
        names = cls()
        chat: str | None = None
        seen: set[tuple[str | None, bytes]] = set()
        with open(path, "rb") as fh:
            stream = RepairedStream(fh)
            buf = b""
            while True:
                chunk = stream.read(_SCAN_CHUNK)
                buf += chunk
                limit = len(buf) if not chunk else len(buf) - _SCAN_SLACK
                done = 0
                for m in _PAIRS.finditer(buf):
                    if m.end() > limit:
                        break
                    done = m.end()
                    if m.group(1) is not None:
                        chat = m.group(1).decode()
                        continue
                    key = (chat, m.group(0))
                    if key in seen:
                        continue
                    seen.add(key)
                    raw = m.group(3)
                    try:
                        name = json.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode("utf-8")
                    except ValueError:
                        continue
                    names.add(chat, name, "user" + (m.group(4) or m.group(5)).decode())
                if not chunk:
                    break
                buf = buf[max(done, len(buf) - _SCAN_OVERLAP) :]
        return names


# ---------------------------------------------------------------------------------------------
# helpers


def _peer_id(value: Any) -> str | None:
    """``"user123"`` stays; a bare number (exports before 2020) becomes ``"user<n>"``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return f"user{int(value)}"
    return str(value)


def _author(peer: Any, name: Any) -> Author | None:
    pid = _peer_id(peer)
    name = name if isinstance(name, str) else None
    if pid:
        return Author(pid, name)
    if name:
        return Author(name, name)
    return None


def _flatten(text: Any) -> tuple[str, list]:
    """Telegram's ``text``: a string, or a list of strings and entity objects. Returns (text, entities)."""
    if text is None:
        return "", []
    if isinstance(text, str):
        return text, []
    if isinstance(text, list):
        parts: list[str] = []
        entities: list = []
        for part in text:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                parts.append(str(part.get("text") or ""))
                if part.get("type") != "plain":
                    entities.append(part)
        return "".join(parts), entities
    return str(text), []


def _when(msg: dict, tz) -> datetime | None:
    raw = msg.get("date_unixtime")
    if raw is not None and raw != "":
        try:
            return datetime.fromtimestamp(int(raw), tz=timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):
            pass
    raw = msg.get("date")
    if isinstance(raw, str) and raw:
        try:
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        return at if at.tzinfo is not None else at.replace(tzinfo=tz)
    return None


def _chat_key(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------------------------------------
# chats


@dataclass
class _Chat:
    where: str  # "" for a single-chat export, else "chats"/"left_chats" + position
    name: str | None = None
    type: str | None = None
    id: Any = None
    decided: bool = False
    importing: bool = False
    group: GroupRef | None = None
    key: str | None = None
    index: int = 0


@dataclass
class _State:
    source: Source
    opts: ImportOptions
    mode: str | None = None  # "single" or "full"
    chat: _Chat | None = None
    pending: list[Reject] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)
    matched: int = 0
    positions: dict[str, int] = field(default_factory=dict)

    def start_chat(self, list_prefix: str) -> None:
        n = self.positions.get(list_prefix, 0)
        self.positions[list_prefix] = n + 1
        self.chat = _Chat(f"{list_prefix.split('.')[0]}[{n}]")

    def decide(self) -> None:
        """Once a chat's header is read: import it (and as which group) or skip it (with a Reject)."""
        chat = self.chat
        if chat is None or chat.decided:
            return
        chat.decided = True
        chat.key = _chat_key(chat.id)
        label = chat.name if chat.name is not None else chat.key
        where = f"chat {chat.key}" if chat.key else chat.where
        if chat.key is None:
            if self.mode == "single":
                raise ImportError_(f"{self.source.name}: not a {WHAT}: no chat id before the messages")
            self.pending.append(Reject(self.source.name, where, "chat has no id before its messages", raw_json({"name": chat.name, "type": chat.type})))
            return
        wanted = self.opts.group
        if self.mode == "single":
            chat.importing = True
            chat.group = GroupRef(PLATFORM, chat.key, wanted or label)
            return
        named = wanted is not None and wanted in (chat.name, chat.key)
        if chat.type not in GROUP_TYPES:
            if wanted is None or named:
                reason = SKIP_REASONS.get(chat.type or "", f"skipped chat of type {chat.type!r}")
                self.pending.append(Reject(self.source.name, where, reason, raw_json({"name": chat.name, "type": chat.type, "id": chat.id})))
            return
        if chat.name is not None and chat.name not in self.group_names:
            self.group_names.append(chat.name)
        if wanted is not None and not named:
            return
        self.matched += 1
        chat.importing = True
        chat.group = GroupRef(PLATFORM, chat.key, label)

    def walk(self, events: Iterator[tuple[str, str, Any]]) -> Iterator[Any]:
        """A full-account export: follow the chat lists and yield the messages of imported chats
        (built by a RecordBuilder; ``self.chat`` is the chat of the message just yielded)."""
        builder = RecordBuilder()
        send, done = builder.send, builder.done
        role_of = _ROLES.get
        importing = False
        for prefix, event, value in events:
            role = role_of(prefix)
            if role is None:  # inside a message, or a part of the export we do not read
                if importing:
                    send((prefix, event, value))
                continue
            if role == "item":
                if importing:
                    send((RECORD, event, value))
                    if done:
                        yield from done
                        done.clear()
                continue
            chat = self.chat
            if role == "field":
                if event in _SCALARS and chat is not None and not chat.decided:
                    setattr(chat, _FIELDS[prefix], value)
            elif role == "array":
                if event == "start_array":
                    self.decide()
                    importing = self.chat is not None and self.chat.importing
            elif role == "chat":
                if event == "start_map":
                    self.start_chat(prefix)
                elif event == "end_map":
                    self.decide()
                    self.chat = None
                    importing = False


def _peek(state: _State) -> None:
    """Read the start of the file: a single-chat export (header, then 'messages') or a full one ('chats')."""
    with peek(state.source) as events:
        try:
            for prefix, event, value in events:
                if prefix == "":
                    if event == "map_key" and value in ("chats", "left_chats"):
                        state.mode = "full"
                        return
                    continue
                if prefix in ("name", "type", "id") and event in _SCALARS:
                    if state.chat is None:
                        state.chat = _Chat("")
                    setattr(state.chat, prefix, value)
                elif prefix == "messages" and event == "start_array":
                    state.mode = "single"
                    if state.chat is None:
                        state.chat = _Chat("")
                    return
        except JSON_ERRORS as exc:
            raise not_this_format(state.source, WHAT, exc) from None
    raise not_this_format(state.source, WHAT + " (no 'messages' or 'chats' found)")


# ---------------------------------------------------------------------------------------------
# messages


def _member_events(
    msg: dict, group: GroupRef, at: datetime, base: dict, names: _Names, chat: str, kind_of
) -> Iterator[Event | Reject]:
    """One event per entry of a service message's ``members`` list; ``kind_of(name)`` -> (kind, author, extra)."""
    members = msg.get("members")
    if not isinstance(members, list):
        members = []
    for n, member in enumerate(members):
        pid = f"{msg['id']}:{n}"
        kind, author, extra = kind_of(member)
        if author is None:
            if isinstance(member, str) and member:
                uid = names.resolve(chat, member)
                author = Author(uid or member, member)
                extra = {**extra, "member_id_source": "id" if uid else "name"}
            else:
                yield Reject("", f"message {msg['id']} member {n}", "member without a name (deleted account)", raw_json(msg))
                continue
        yield Event(group, pid, kind, at, author, payload={**base, "member_name": member, **extra})


def _service_events(msg: dict, group: GroupRef, at: datetime, names: _Names, chat: str) -> Iterator[Event | Reject]:
    action = msg.get("action")
    actor = _author(msg.get("actor_id"), msg.get("actor"))
    actor_name = msg.get("actor")
    pid = str(msg["id"])
    base: dict[str, Any] = {"action": action}
    base.update({k: v for k, v in msg.items() if k not in _SERVICE_KEYS})
    has_members = isinstance(msg.get("members"), list) and bool(msg.get("members"))
    # one event per member: the list itself stays out of each (a bulk invite would repeat it n times)
    per_member = {k: v for k, v in base.items() if k != "members"}

    if action == "invite_members" and has_members:

        def invited(member):
            if actor is not None and isinstance(member, str) and member == actor_name:
                return EventKind.JOIN, actor, {"via": "self", "member_id_source": "id"}
            extra = {"via": "invite", "invited_by": actor.external_id if actor else None, "invited_by_name": actor_name}
            return EventKind.JOIN, None, extra

        yield from _member_events(msg, group, at, per_member, names, chat, invited)
        return
    if action == "remove_members" and has_members:

        def removed(member):
            if actor is not None and isinstance(member, str) and member == actor_name:
                return EventKind.LEAVE, actor, {"member_id_source": "id"}
            return EventKind.KICK, None, {"by": actor.external_id if actor else None, "by_name": actor_name}

        yield from _member_events(msg, group, at, per_member, names, chat, removed)
        return
    if action in JOIN_ACTIONS:
        if actor is None:
            yield Reject("", f"message {pid}", "join without an actor", raw_json(msg))
            return
        payload = {**base, "via": JOIN_ACTIONS[action]}
        inviter = msg.get("inviter")
        if isinstance(inviter, str) and inviter:
            uid = names.resolve(chat, inviter)
            payload["invited_by"] = uid or inviter
            payload["invited_by_name"] = inviter
        yield Event(group, pid, EventKind.JOIN, at, actor, payload=payload)
        return
    if action == "pin_message":
        target = base.pop("message_id", None)
        payload = {**base, "pinned_message_id": str(target) if target is not None else None}
        yield Event(group, pid, EventKind.PIN, at, actor, payload=payload)
        return
    text = msg.get("information_text") if isinstance(msg.get("information_text"), str) else None
    yield Event(group, pid, EventKind.SYSTEM, at, actor, text=text, payload=base)
    if action == "create_group" and has_members:

        def founding(member):
            if actor is not None and isinstance(member, str) and member == actor_name:
                return EventKind.JOIN, actor, {"via": "create_group", "member_id_source": "id"}
            return EventKind.JOIN, None, {"via": "create_group", "invited_by": actor.external_id if actor else None, "invited_by_name": actor_name}

        yield from _member_events(msg, group, at, {"action": action}, names, chat, founding)


_PEER = re.compile(r"^(?:user|chat|channel)?(-?\d+)$")


def _same_chat(peer: Any, chat_key: str) -> bool:
    """``reply_to_peer_id`` is only written for replies to another chat; treat our own id as ours."""
    if peer is None:
        return True
    m = _PEER.match(str(peer))
    return bool(m) and m.group(1).removeprefix("-100") == chat_key


def _message_events(msg: Any, chat: _Chat, opts: ImportOptions, names: _Names, source: Source) -> Iterator[Event | Reject]:
    where = f"chat {chat.key}"
    if not isinstance(msg, dict):
        yield Reject(source.name, f"{where} message #{chat.index}", "message is not a JSON object", raw_json(msg))
        return
    mid = msg.get("id")
    if mid is None or isinstance(mid, (bool, dict, list)):
        yield Reject(source.name, f"{where} message #{chat.index}", "message without an id", raw_json(msg))
        return
    if isinstance(mid, float) and mid.is_integer():
        mid = msg["id"] = int(mid)
    pid = str(mid)
    mtype = msg.get("type")
    at = _when(msg, opts.tz)
    if at is None:
        reason = "unsupported message (exported without date or content)" if mtype == "unsupported" else "message without a readable date"
        yield Reject(source.name, f"{where} message {pid}", reason, raw_json(msg))
        return
    group = chat.group
    assert group is not None and chat.key is not None
    if mtype == "message":
        text, entities = _flatten(msg.get("text"))
        payload = {k: v for k, v in msg.items() if k not in _MESSAGE_KEYS}
        if entities:
            payload["entities"] = entities
        reply_to = None
        target = msg.get("reply_to_message_id")
        if target is not None:
            peer = msg.get("reply_to_peer_id")
            if _same_chat(peer, chat.key):
                reply_to = str(int(target) if isinstance(target, float) else target)
            else:
                payload["reply_to_message_id"] = target
                payload["reply_to_peer_id"] = peer
        yield Event(group, pid, EventKind.MESSAGE, at, _author(msg.get("from_id"), msg.get("from")), text=text or None, reply_to=reply_to, payload=payload)
        return
    if mtype == "service":
        for item in _service_events(msg, group, at, names, chat.key):
            if isinstance(item, Reject):
                item = Reject(source.name, f"{where} {item.location}", item.reason, item.raw)
            yield item
        return
    # a type this importer does not know (tdesktop only writes message/service/unsupported today)
    text, _entities = _flatten(msg.get("text"))
    payload = {"type": mtype, **{k: v for k, v in msg.items() if k not in _MESSAGE_KEYS and k not in _SERVICE_KEYS}}
    author = _author(msg.get("from_id") or msg.get("actor_id"), msg.get("from") or msg.get("actor"))
    yield Event(group, pid, EventKind.SYSTEM, at, author, text=text or None, payload=payload)


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    state = _State(source, opts)
    _peek(state)
    names = _Names.scan(source.path)
    if state.mode == "single":
        state.decide()
        stream, messages = iter_items(source, "messages.item")
    else:
        stream, events = open_json(source)
        messages = state.walk(events)
    last_good: str | None = None
    try:
        for msg in messages:
            if state.pending:
                yield from state.pending
                state.pending.clear()
            chat = state.chat
            yield from _message_events(msg, chat, opts, names, source)
            chat.index += 1
            if isinstance(msg, dict) and msg.get("id") is not None:
                last_good = f"chat {chat.key} message {msg.get('id')}"
    except JSON_ERRORS as exc:
        yield from state.pending
        state.pending.clear()
        yield damage_reject(source, stream, exc, last_good)
        return
    finally:
        stream.close()
    yield from state.pending
    if state.mode == "full" and opts.group is not None and state.matched == 0:
        listed = ", ".join(repr(n) for n in state.group_names[:50]) or "none"
        raise ImportError_(f"{source.name}: no group chat named or with id {opts.group!r}; group chats in this export: {listed}")


_CHAT_TYPE = re.compile(r'"type"\s*:\s*"(?:%s)"' % "|".join(sorted(GROUP_TYPES | set(SKIP_REASONS))))


def sniff(path: Path) -> bool:
    """A full export names its sections; a single-chat export starts with name/type/id/messages."""
    text = head(path)
    if '"personal_information"' in text or re.search(r'"chats"\s*:\s*\{\s*"about"', text):
        return True
    return bool(_CHAT_TYPE.search(text)) and '"messages"' in text


IMPORTER = Importer(
    name="telegram",
    description="Telegram Desktop JSON export (result.json): one chat, or the full-account export's group chats and channels",
    patterns=("*.json",),
    naive_time_zone="community",
    read=read,
    sniff=sniff,
)
