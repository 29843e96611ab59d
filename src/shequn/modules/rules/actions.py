"""Rule actions as the playbook writes them: ``delete``, ``warn``, ``mute: 1d``, ``kick``, ``ban``,
``notify_admins``, ``reply: "template"``, ``tag: 广告嫌疑``.

A bare word is an action without an argument; a one-key mapping carries one. Each becomes a domain
``Action`` that names the rule and the reason, so the member (and the operator) can read why.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from shequn.domain.actions import Action, ActionKind
from shequn.domain.events import StoredEvent
from shequn.modules.rules.timing import Duration, format_duration
from shequn.playbook.schema import StrictModel

PLACEHOLDERS = {"name": "", "group": "", "rule": "", "reason": ""}
BARE = {"delete", "warn", "kick", "ban", "notify_admins"}
NEEDS_VALUE = {"mute": "a duration, e.g. mute: 10m", "reply": "a template, e.g. reply: '{name}，请勿发广告'", "tag": "a tag, e.g. tag: 广告嫌疑"}


def check_template(value: str) -> str:
    try:
        value.format(**PLACEHOLDERS)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"templates may only use {{name}}, {{group}}, {{rule}} and {{reason}} ({exc})") from None
    return value


class ActionSpec(StrictModel):
    """One action; exactly one key."""

    delete: bool | None = None
    warn: bool | str | None = Field(default=None, description="true, or the warning text (a template)")
    mute: Duration | None = None
    kick: bool | None = None
    ban: bool | None = None
    notify_admins: bool | str | None = Field(default=None, description="true, or the note for admins (a template)")
    reply: str | None = Field(default=None, min_length=1)
    tag: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _bare_word(cls, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip()
            if word in NEEDS_VALUE:
                raise ValueError(f"{word!r} needs a value: {NEEDS_VALUE[word]}")
            if word not in BARE:
                raise ValueError(f"unknown action {word!r}; actions: delete, warn, mute: T, kick, ban, notify_admins, reply: TEXT, tag: TAG")
            return {word: True}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionSpec:
        keys = [k for k in self.model_fields_set if getattr(self, k) not in (None, False)]
        if len(keys) != 1:
            raise ValueError("write one action per list item (e.g. '- delete' or '- mute: 10m')")
        return self

    @field_validator("warn", "notify_admins", "reply")
    @classmethod
    def _template(cls, value):
        return check_template(value) if isinstance(value, str) else value

    @property
    def kind(self) -> ActionKind:
        for key in ("delete", "warn", "mute", "kick", "ban", "notify_admins", "reply", "tag"):
            if getattr(self, key) not in (None, False):
                return ActionKind(key)
        raise AssertionError("validated ActionSpec has one key")

    def describe(self) -> str:
        kind = self.kind
        if kind is ActionKind.MUTE:
            return f"mute {format_duration(self.mute)}"
        if kind is ActionKind.TAG:
            return f"tag {self.tag}"
        return kind.value.replace("_", " ")


def describe_all(specs: list[ActionSpec]) -> str:
    return " + ".join(s.describe() for s in specs)


def build_action(spec: ActionSpec, rule: str, reason: str, event: StoredEvent) -> Action:
    """The domain Action for one spec, about the member and message of ``event``."""
    return make_action(
        spec, rule, reason, member_id=event.member_id, member_name=event.member_name, group_id=event.group_id,
        group_name=event.group_name, event_id=event.id, message_id=event.platform_id,
    )


def make_action(
    spec: ActionSpec, rule: str, reason: str, *, member_id: int | None, member_name: str | None, group_id: int | None,
    group_name: str, event_id: int | None = None, message_id: str | None = None,
) -> Action:
    """The domain Action for one spec, also when no event caused it (a timeout). Templates see {name},
    {group}, {rule} and {reason}."""
    fill = {"name": member_name or "", "group": group_name, "rule": rule, "reason": reason}
    kind = spec.kind
    payload: dict[str, Any] = {}
    if kind is ActionKind.DELETE:
        payload = {"message": message_id}
    elif kind is ActionKind.WARN:
        payload = {"text": (spec.warn if isinstance(spec.warn, str) else "{name}，请遵守群规 / please follow the group rules: {reason}").format(**fill)}
    elif kind is ActionKind.MUTE:
        payload = {"seconds": spec.mute // 1000, "duration": format_duration(spec.mute)}
    elif kind is ActionKind.NOTIFY_ADMINS:
        payload = {"text": (spec.notify_admins if isinstance(spec.notify_admins, str) else "{name} in {group}: {rule}: {reason}").format(**fill)}
    elif kind is ActionKind.REPLY:
        payload = {"text": spec.reply.format(**fill)}
    elif kind is ActionKind.TAG:
        payload = {"tag": spec.tag}
    return Action(kind=kind, rule=rule, reason=reason, member_id=member_id, group_id=group_id, event_id=event_id, payload=payload)
