"""Welcome (仪式感): greet every newcomer with a template, optionally only in some groups.

The smallest real module, and the reference for writing one: config model, one hook, state kept in
``ctx.state`` (so a member who leaves and rejoins within ``once_per_days`` is not greeted twice),
and every action names its rule and reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field, field_validator

from shequn.domain.actions import Action, ActionKind
from shequn.domain.events import EventKind, StoredEvent
from shequn.engine.module import BaseModule, Context
from shequn.playbook.schema import StrictModel

DAY_MS = 86_400_000


class WelcomeConfig(StrictModel):
    template: str = Field(min_length=1, description="Text to post; {name} and {group} are replaced.")
    groups: list[str] = Field(default_factory=list, description="Only these groups (names); empty means all.")
    once_per_days: int = Field(default=30, ge=0, description="Do not greet the same member again within this many days.")

    @field_validator("template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(name="", group="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"template may only use {{name}} and {{group}} placeholders ({exc})") from None
        return value


class WelcomeModule(BaseModule):
    name = "welcome"
    Config = WelcomeConfig

    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        cfg: WelcomeConfig = self.config
        if event.kind is not EventKind.JOIN or event.member_id is None:
            return ()
        if cfg.groups and event.group_name not in cfg.groups:
            return ()
        key = f"greeted:{event.member_id}"
        last = ctx.state.get(self.name, key)
        if last is not None and event.at_ms - last < cfg.once_per_days * DAY_MS:
            return ()
        ctx.state.set(self.name, key, event.at_ms)
        text = cfg.template.format(name=event.member_name or "", group=event.group_name)
        return [
            Action(
                kind=ActionKind.REPLY,
                rule="welcome",
                reason=f"{event.member_name} joined {event.group_name}",
                member_id=event.member_id,
                payload={"text": text},
            )
        ]
