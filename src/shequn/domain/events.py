"""The Event: the one currency every source (importer, live adapter, operator) is turned into.

An Event names its group and author by the *platform's* identifiers; the store resolves them to
rows. That keeps importers free of database concerns and lets the same Event come from a history
file or a live adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from typing import Any


class EventKind(StrEnum):
    MESSAGE = "message"  # a human chat message (text, media, sticker ...)
    EMOTE = "emote"  # IRC /me and similar third-person actions
    JOIN = "join"
    LEAVE = "leave"
    KICK = "kick"
    RENAME = "rename"  # a member changed their display name / nick
    PIN = "pin"
    REACTION = "reaction"
    SYSTEM = "system"  # topic changes, mode changes, netsplits, platform notices
    CHECKIN = "checkin"
    INVITE = "invite"
    ORDER = "order"
    REDEMPTION = "redemption"
    COMMAND = "command"
    CUSTOM = "custom"


#: Kinds that count as a human chat message in stats and insights.
CHAT_KINDS = frozenset({EventKind.MESSAGE})
#: Kinds that count as leaving a group.
LEAVE_KINDS = frozenset({EventKind.LEAVE, EventKind.KICK})


@dataclass(slots=True)
class GroupRef:
    """A group as a source names it: platform + the platform's id for it (+ a display name)."""

    platform: str
    external_id: str
    name: str | None = None


@dataclass(slots=True)
class Author:
    """One account on one platform (an identity); the store maps it to a member."""

    external_id: str
    name: str | None = None
    is_bot: bool = False


@dataclass(slots=True)
class Event:
    """A normalized, immutable fact. ``platform_id`` is the idempotency key within its group."""

    group: GroupRef
    platform_id: str
    kind: EventKind
    at: datetime  # timezone-aware; stored as UTC
    author: Author | None = None
    text: str | None = None
    reply_to: str | None = None  # platform id of the message this one answers
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Event.at must be timezone-aware")

    @property
    def at_ms(self) -> int:
        return to_ms(self.at)


@dataclass(slots=True)
class StoredEvent:
    """An event as the engine sees it: resolved to rows (group, identity, member) and stored.

    Read-only by contract (modules must not change it), but not ``frozen``: a frozen dataclass sets
    each field through ``object.__setattr__``, which made building one ~9x slower (about 1.7 µs more
    per event, 15 s of a 10-million-event backtest)."""

    id: int | None  # None only for events that were never stored
    community_id: int
    group_id: int
    group_name: str
    platform: str
    platform_id: str
    kind: EventKind
    at_ms: int
    identity_id: int | None
    member_id: int | None
    member_name: str | None
    text: str | None
    reply_to: str | None
    payload: dict[str, Any]


@dataclass(slots=True)
class Reject:
    """Something a source could not turn into an Event. Counted and kept, never silently dropped."""

    source: str  # file name
    location: str  # line number, byte offset, message id ... whatever locates it in the source
    reason: str
    raw: str | None = None


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


@lru_cache(maxsize=4096)
def to_ms(at: datetime) -> int:
    """UTC epoch milliseconds: the storage format of every timestamp (fast to compare and bucket).

    Cached: imports convert the same minute (often the same datetime object) many times in a row.
    """
    return (at - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
