"""DiscordChatExporter JSON exports (Tyrrrz/DiscordChatExporter, GUI and CLI, v2.x): one channel per file.

Written by ``JsonMessageWriter`` of DiscordChatExporter (``--format Json``). The file is one object:
``guild {id, name, iconUrl}``, ``channel {id, type, categoryId, category, name, topic}``,
``dateRange``, ``exportedAt``, then ``messages: [...]`` and ``messageCount``. Guild and channel come
first: they are read from the start of the file, then the messages are built one at a time by
``ijson`` (see :mod:`shequn.importers.jsonstream`). Each message has ``id`` (snowflake, as a string), ``type`` (the
name of DiscordChatExporter's ``MessageKind``: ``Default``, ``RecipientAdd``, ``RecipientRemove``,
``Call``, ``ChannelNameChange``, ``ChannelIconChange``, ``ChannelPinnedMessage``, ``GuildMemberJoin``,
``ThreadCreated``, ``Reply``; kinds it has no name for are written as their number, e.g. ``"21"``),
``timestamp`` / ``timestampEdited`` (ISO 8601 with the exporting computer's offset, or UTC with
``--utc``), ``isPinned``, ``content``, ``author {id, name, discriminator, nickname, color, isBot,
roles, avatarUrl}``, ``attachments``, ``embeds``, ``stickers``, ``reactions [{emoji {id, name, code},
count, users}]``, ``mentions`` (users), ``reference {type, messageId, channelId, guildId}`` and, for
slash-command responses, ``interaction {id, name, user}``.

Mapping: group = the channel (external id = channel id, name ``"<guild> / #<channel>"``);
``Default``/``Reply`` → message (``reference.messageId`` → ``reply_to`` for replies within this
channel); ``GuildMemberJoin`` → join; ``RecipientAdd`` (group DMs) → join of the added user with the
adder in ``payload["invited_by"]``; ``RecipientRemove`` → leave (kick when someone else removed
them); ``ChannelPinnedMessage`` → pin; everything else → system with the original type in
``payload["type"]``. Identity = the author's user id; name = server nickname, else user name;
``isBot`` → ``Author.is_bot``. Platform id = the message id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shequn.domain.events import Author, Event, EventKind, GroupRef, Reject
from shequn.importers.base import ImportError_, Importer, ImportOptions, Source
from shequn.importers.jsonstream import JSON_ERRORS, damage_reject, head, iter_items, not_this_format, peek, raw_json

PLATFORM = "discord"
WHAT = "DiscordChatExporter JSON export"

MESSAGE_TYPES = frozenset({"Default", "Reply"})
_SCALARS = frozenset({"string", "number", "boolean", "null"})
_HEADER = {"guild.name": "guild_name", "channel.id": "channel_id", "channel.name": "channel_name"}


@dataclass
class _Header:
    guild_name: Any = None
    channel_id: Any = None
    channel_name: Any = None
    group: GroupRef | None = None


def _snowflake(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _user(user: Any) -> Author | None:
    if not isinstance(user, dict):
        return None
    uid = _snowflake(user.get("id"))
    name = user.get("nickname") or user.get("name")
    if uid is None:
        if not name:
            return None
        uid = str(name)
    return Author(uid, str(name) if name is not None else None, bool(user.get("isBot")))


def _when(value: Any, tz) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def _payload(msg: dict) -> dict:
    """The message's extras, compacted: ids and names rather than avatar URLs and role lists."""
    payload: dict[str, Any] = {"type": msg.get("type")}
    author = msg.get("author")
    if isinstance(author, dict):
        payload["username"] = author.get("name")
        if author.get("discriminator") not in (None, "0000", "0"):
            payload["discriminator"] = author.get("discriminator")
    if msg.get("timestampEdited"):
        payload["edited_at"] = msg["timestampEdited"]
    if msg.get("isPinned"):
        payload["pinned"] = True
    mentions = [m.get("id") for m in msg.get("mentions") or [] if isinstance(m, dict) and m.get("id") is not None]
    if mentions:
        payload["mentions"] = mentions
    attachments = [
        {k: a.get(k) for k in ("id", "fileName", "fileSizeBytes", "url") if a.get(k) is not None}
        for a in msg.get("attachments") or []
        if isinstance(a, dict)
    ]
    if attachments:
        payload["attachments"] = attachments
    embeds = [
        {k: e.get(k) for k in ("title", "url", "description") if e.get(k)}
        for e in msg.get("embeds") or []
        if isinstance(e, dict)
    ]
    if embeds:
        payload["embeds"] = embeds
    stickers = [{k: s.get(k) for k in ("id", "name", "format") if s.get(k) is not None} for s in msg.get("stickers") or [] if isinstance(s, dict)]
    if stickers:
        payload["stickers"] = stickers
    reactions = []
    for r in msg.get("reactions") or []:
        if not isinstance(r, dict):
            continue
        emoji = r.get("emoji") if isinstance(r.get("emoji"), dict) else {}
        entry: dict[str, Any] = {"emoji": emoji.get("name"), "count": r.get("count")}
        if emoji.get("id"):
            entry["emoji_id"] = emoji.get("id")
        users = [u.get("id") for u in r.get("users") or [] if isinstance(u, dict) and u.get("id") is not None]
        if users:
            entry["users"] = users
        reactions.append(entry)
    if reactions:
        payload["reactions"] = reactions
    if isinstance(msg.get("reference"), dict):
        payload["reference"] = {k: v for k, v in msg["reference"].items() if v is not None}
    interaction = msg.get("interaction")
    if isinstance(interaction, dict):
        payload["interaction"] = {
            "name": interaction.get("name"),
            "user_id": (interaction.get("user") or {}).get("id") if isinstance(interaction.get("user"), dict) else None,
        }
    return payload


def _message_events(msg: Any, index: int, header: _Header, opts: ImportOptions, source: Source) -> Iterator[Event | Reject]:
    if not isinstance(msg, dict):
        yield Reject(source.name, f"message #{index}", "message is not a JSON object", raw_json(msg))
        return
    pid = _snowflake(msg.get("id"))
    if pid is None:
        yield Reject(source.name, f"message #{index}", "message without an id", raw_json(msg))
        return
    at = _when(msg.get("timestamp"), opts.tz)
    if at is None:
        yield Reject(source.name, f"message {pid}", "message without a readable timestamp", raw_json(msg))
        return
    author = _user(msg.get("author"))
    if author is None:
        yield Reject(source.name, f"message {pid}", "message without an author", raw_json(msg))
        return
    group = header.group
    assert group is not None
    mtype = msg.get("type")
    mtype = str(int(mtype)) if isinstance(mtype, (int, float)) and not isinstance(mtype, bool) else mtype
    content = msg.get("content")
    text = content if isinstance(content, str) and content else None
    payload = _payload(msg)
    payload["type"] = mtype
    ref = msg.get("reference") if isinstance(msg.get("reference"), dict) else {}
    ref_id = _snowflake(ref.get("messageId"))
    ref_here = ref_id is not None and _snowflake(ref.get("channelId")) in (None, group.external_id)

    if mtype in MESSAGE_TYPES:
        reply_to = ref_id if (mtype == "Reply" and ref_here) else None
        yield Event(group, pid, EventKind.MESSAGE, at, author, text=text, reply_to=reply_to, payload=payload)
        return
    if mtype == "GuildMemberJoin":
        yield Event(group, pid, EventKind.JOIN, at, author, text=text, payload=payload)
        return
    if mtype in ("RecipientAdd", "RecipientRemove"):
        mentioned = [_user(m) for m in msg.get("mentions") or []]
        subject = next((m for m in mentioned if m is not None), None) or author
        if mtype == "RecipientAdd":
            if subject.external_id != author.external_id:
                payload["invited_by"] = author.external_id
                payload["invited_by_name"] = author.name
            yield Event(group, pid, EventKind.JOIN, at, subject, text=text, payload=payload)
        elif subject.external_id == author.external_id:
            yield Event(group, pid, EventKind.LEAVE, at, subject, text=text, payload=payload)
        else:
            payload["by"] = author.external_id
            payload["by_name"] = author.name
            yield Event(group, pid, EventKind.KICK, at, subject, text=text, payload=payload)
        return
    if mtype == "ChannelPinnedMessage":
        payload["pinned_message_id"] = ref_id
        yield Event(group, pid, EventKind.PIN, at, author, text=text, payload=payload)
        return
    yield Event(group, pid, EventKind.SYSTEM, at, author, text=text, payload=payload)


def _peek(source: Source, opts: ImportOptions) -> _Header:
    """Read guild and channel, which DiscordChatExporter writes before the messages."""
    header = _Header()
    with peek(source) as events:
        try:
            for prefix, event, value in events:
                if event in _SCALARS:
                    fld = _HEADER.get(prefix)
                    if fld is not None:
                        setattr(header, fld, value)
                elif prefix == "messages" and event == "start_array":
                    break
            else:
                raise not_this_format(source, WHAT + " (no 'channel' and 'messages' found)")
        except JSON_ERRORS as exc:
            raise not_this_format(source, WHAT, exc) from None
    channel_id = _snowflake(header.channel_id)
    if channel_id is None:
        raise ImportError_(f"{source.name}: not a {WHAT}: no channel id before the messages")
    guild = header.guild_name if isinstance(header.guild_name, str) else None
    channel = header.channel_name if isinstance(header.channel_name, str) else channel_id
    name = opts.group or (f"{guild} / #{channel}" if guild else f"#{channel}")
    header.group = GroupRef(PLATFORM, channel_id, name)
    return header


def read(source: Source, opts: ImportOptions) -> Iterator[Event | Reject]:
    header = _peek(source, opts)
    stream, messages = iter_items(source, "messages.item")
    index = 0
    last_good: str | None = None
    try:
        for msg in messages:
            yield from _message_events(msg, index, header, opts, source)
            index += 1
            if isinstance(msg, dict) and msg.get("id") is not None:
                last_good = f"message {msg.get('id')}"
    except JSON_ERRORS as exc:
        yield damage_reject(source, stream, exc, last_good)
    finally:
        stream.close()


def sniff(path: Path) -> bool:
    text = head(path, 1 << 14)
    return bool(re.search(r'"guild"\s*:\s*\{', text)) and bool(re.search(r'"channel"\s*:\s*\{', text))


IMPORTER = Importer(
    name="discord",
    description="DiscordChatExporter JSON export (one channel per file; guild/channel become the group)",
    patterns=("*.json",),
    naive_time_zone="community",
    read=read,
    sniff=sniff,
)
