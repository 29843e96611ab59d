"""Actions: what the engine asks the outside world to do. Each one says which rule caused it and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ActionKind(StrEnum):
    REPLY = "reply"  # post a message in the group (welcome, template answer)
    DELETE = "delete"
    WARN = "warn"
    MUTE = "mute"
    KICK = "kick"
    BAN = "ban"
    NOTIFY_ADMINS = "notify_admins"
    TAG = "tag"
    POST = "post"  # scheduled / broadcast post


@dataclass(slots=True)
class Action:
    """One thing to do, with the rule that fired and a reason a member can read ("why was I kicked?")."""

    kind: ActionKind
    rule: str
    reason: str
    group_id: int | None = None
    member_id: int | None = None
    event_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
