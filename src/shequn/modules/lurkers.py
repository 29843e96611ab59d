"""Lurker policy (潜水清理): no message for N days -> a reminder -> removal after M more days.

Groups have a member limit (WeChat: 500) and a silent seat is a seat a newcomer cannot take, but
nobody should be removed without a warning, and owners, admins, VIPs and brand-new members are left
alone. The sweep runs once a day at a set local time (``check_at``), like an operator would, so its
cost is one pass over the tracked members per day, not per event.

State per group (``g:{group_id}``): member -> [last activity ms, stage, reminded at ms, joined ms].
Live, the entry is rewritten only when something changes that matters at day scale (a new member, a
reminder, a removal, or activity more than an hour after the last recorded one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, field_validator

from shequn.domain.actions import Action, ActionKind
from shequn.domain.events import EventKind, StoredEvent
from shequn.engine.module import BaseModule, Context
from shequn.modules.rules.actions import ActionSpec, make_action
from shequn.modules.rules.module import Exempt
from shequn.modules.rules.timing import Duration, TimeOfDay, format_duration, next_local_time, parse_time_of_day
from shequn.playbook.schema import StrictModel

ACTIVE_KINDS = frozenset({EventKind.MESSAGE, EventKind.EMOTE, EventKind.CHECKIN, EventKind.REACTION, EventKind.COMMAND})
GONE_KINDS = frozenset({EventKind.LEAVE, EventKind.KICK})
REFRESH_MS = 3_600_000  # activity closer than this to the recorded one is not written again
ACTIVE, REMINDED = 0, 1


def _kick() -> list[ActionSpec]:
    return [ActionSpec(kick=True)]


class LurkersConfig(StrictModel):
    groups: list[str] = Field(default_factory=list, description="Only these groups (names); empty = all.")
    remind_after: Duration = Field(description="Silent this long -> reminder.")
    remove_after: Duration = Field(description="Still silent this long after the reminder -> on_remove.")
    reminder: str = Field(
        default="{name}，好久没见你发言了，{days} 天内不冒泡将被移出 {group}。/ {name}, we miss you: say something within {days} days to stay in {group}.",
        min_length=1,
    )
    on_remove: list[ActionSpec] = Field(default_factory=_kick, min_length=1)
    grace: Duration | None = Field(default=None, description="New members are never reminded within this long of joining.")
    exempt: Exempt = Field(default_factory=lambda: Exempt(roles=["owner", "admin", "assistant", "kol"]))
    check_at: TimeOfDay = Field(default=parse_time_of_day("10:00"), description="Local time of the daily sweep.")
    active: list[EventKind] = Field(default_factory=lambda: sorted(ACTIVE_KINDS), description="Event kinds that count as speaking up.")

    @field_validator("reminder")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            value.format(name="", group="", days=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"may only use {{name}}, {{group}} and {{days}} ({exc})") from None
        return value


class LurkersModule(BaseModule):
    name = "lurkers"
    Config = LurkersConfig

    def __init__(self, config: LurkersConfig, playbook) -> None:
        super().__init__(config, playbook)
        self.active = frozenset(config.active)

    def _groups(self, ctx: Context) -> dict:
        return ctx.state.get(self.name, "groups") or {}

    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        cfg: LurkersConfig = self.config
        if event.member_id is None or (cfg.groups and event.group_name not in cfg.groups):
            return ()
        key = f"g:{event.group_id}"
        mid = str(event.member_id)  # JSON object keys are strings; keep them so live and backtest agree
        if event.kind in GONE_KINDS:
            seats = ctx.state.get(self.name, key)
            if seats and seats.pop(mid, None) is not None:
                ctx.state.set(self.name, key, seats)
            return ()
        joined = event.kind is EventKind.JOIN
        if not joined and event.kind not in self.active:
            return ()
        seats = ctx.state.get(self.name, key) or {}
        seat = seats.get(mid)
        if seat is None or joined:
            seats[mid] = [event.at_ms, ACTIVE, None, event.at_ms if joined else None, event.member_name or "", event.group_name]
        elif seat[1] == REMINDED or event.at_ms - seat[0] >= REFRESH_MS:
            seat[0], seat[1], seat[2] = event.at_ms, ACTIVE, None
        else:
            return ()
        ctx.state.set(self.name, key, seats)
        groups = self._groups(ctx)
        if str(event.group_id) not in groups:
            groups[str(event.group_id)] = event.group_name
            ctx.state.set(self.name, "groups", groups)
        return ()

    def on_tick(self, now_ms: int, ctx: Context) -> Iterable[Action]:
        cfg: LurkersConfig = self.config
        due = ctx.state.get(self.name, "next_sweep")
        if due is None:
            ctx.state.set(self.name, "next_sweep", next_local_time(now_ms, cfg.check_at, ctx.timezone))
            return ()
        if now_ms < due:
            return ()
        ctx.state.set(self.name, "next_sweep", next_local_time(now_ms, cfg.check_at, ctx.timezone))
        out: list[Action] = []
        for gid in self._groups(ctx):
            out += self._sweep(int(gid), now_ms, ctx)
        return out

    def _exempt(self, member_id: int, group_id: int, ctx: Context) -> bool:
        ex = self.config.exempt
        if ctx.people is None or not (ex.roles or ex.tags):
            return False
        return bool(ctx.people.roles(member_id, group_id) & set(ex.roles)) or bool(ctx.people.tags(member_id) & set(ex.tags))

    def _sweep(self, group_id: int, now_ms: int, ctx: Context) -> list[Action]:
        cfg: LurkersConfig = self.config
        key = f"g:{group_id}"
        seats = ctx.state.get(self.name, key) or {}
        out: list[Action] = []
        changed = False
        for mid in list(seats):
            last, stage, reminded, joined, name, group = seats[mid]
            member_id = int(mid)
            if stage == ACTIVE:
                if now_ms - last < cfg.remind_after or (cfg.grace and joined is not None and now_ms - joined < cfg.grace):
                    continue
                if self._exempt(member_id, group_id, ctx):
                    continue
                days = max(1, round(cfg.remove_after / 86_400_000))
                silent = format_duration((now_ms - last) // 86_400_000 * 86_400_000) if now_ms - last >= 86_400_000 else format_duration(now_ms - last)
                reason = f"no message for {silent} (reminder after {format_duration(cfg.remind_after)})"
                out.append(Action(kind=ActionKind.REPLY, rule="lurkers", reason=reason, member_id=member_id, group_id=group_id,
                                  payload={"text": cfg.reminder.format(name=name, group=group, days=days)}))
                seats[mid] = [last, REMINDED, now_ms, joined, name, group]
                self._note(ctx, member_id, f"reminded: {reason}")
                changed = True
            elif now_ms - reminded >= cfg.remove_after:
                if self._exempt(member_id, group_id, ctx):
                    continue
                reason = f"no message in {format_duration(cfg.remove_after)} after the lurker reminder (silent since {format_duration(cfg.remind_after)} before it)"
                out += [make_action(s, "lurkers", reason, member_id=member_id, member_name=name, group_id=group_id, group_name=group) for s in cfg.on_remove]
                del seats[mid]
                self._note(ctx, member_id, f"removed: {reason}")
                changed = True
        if changed:
            ctx.state.set(self.name, key, seats)
        return out

    def _note(self, ctx: Context, member_id: int, outcome: str) -> None:
        if ctx.sandbox:
            notes = ctx.state.get(self.name, "report")
            if notes is None:
                notes = {}
                ctx.state.set(self.name, "report", notes)
            notes[member_id] = outcome

    def member_summary(self, ctx: Context) -> Mapping[int, Mapping[str, Any]]:
        return {mid: {"lurker": outcome} for mid, outcome in (ctx.state.get(self.name, "report") or {}).items()}
