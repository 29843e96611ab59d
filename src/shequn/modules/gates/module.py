"""The gates module (入群门槛): what a newcomer must do to stay in a group.

On join, each gate that guards the group either decides at once (tiered groups; an invite code carried
by the join; an order placed before joining) or opens a deadline: answer the captcha, post the invite
code, place the order, introduce yourself. Messages and orders close deadlines; the clock (``on_tick``)
applies ``on_fail`` to whoever missed one. Open deadlines live in one small state entry, so a tick
looks only at newcomers, never at the whole membership.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shequn.domain.actions import Action, ActionKind
from shequn.domain.events import EventKind, StoredEvent
from shequn.engine.module import BaseModule, Context
from shequn.modules.gates import captcha as captcha_lib
from shequn.modules.gates.config import GatesConfig, Tier
from shequn.modules.gates.intro import parse_intro
from shequn.modules.gates.invite import InviteCode, find_code, fold
from shequn.modules.rules.actions import ActionSpec, make_action
from shequn.modules.rules.timing import format_duration

ORDER = ("captcha", "invite", "paid", "intro")  # a message is offered to the pending gates in this order


class GatesModule(BaseModule):
    name = "gates"
    Config = GatesConfig

    def __init__(self, config: GatesConfig, playbook) -> None:
        super().__init__(config, playbook)
        self.tiers: dict[str, Tier] = {t.group: t for t in config.tiered}

    # -- helpers ---------------------------------------------------------------------------
    def _guards(self, gate: str, group_name: str) -> bool:
        cfg = getattr(self.config, gate)
        return cfg is not None and (not cfg.groups or group_name in cfg.groups)

    def _act(self, specs: list[ActionSpec], gate: str, reason: str, p: dict, event_id: int | None = None) -> list[Action]:
        return [
            make_action(s, f"gate:{gate}", reason, member_id=p["mid"], member_name=p["name"], group_id=p["gid"],
                        group_name=p["group"], event_id=event_id, message_id=p.get("msg"))
            for s in specs
        ]

    def _say(self, text: str, gate: str, reason: str, p: dict, event_id: int | None) -> Action:
        return Action(kind=ActionKind.REPLY, rule=f"gate:{gate}", reason=reason, member_id=p["mid"], group_id=p["gid"], event_id=event_id, payload={"text": text})

    def _pending(self, ctx: Context) -> dict:
        return ctx.state.get(self.name, "pending") or {}

    def _note(self, ctx: Context, member_id: int, gate: str, outcome: str) -> None:
        """Sandbox only: what the backtest report shows per member."""
        if not ctx.sandbox:
            return
        notes = ctx.state.get(self.name, "report")
        if notes is None:
            notes = {}
            ctx.state.set(self.name, "report", notes)
        notes.setdefault(member_id, {})[gate] = outcome

    def _fail(self, ctx: Context, pending: dict, key: str, gate: str, reason: str, specs: list[ActionSpec], event_id: int | None) -> list[Action]:
        p = pending.pop(key)
        self._note(ctx, p["mid"], gate, f"failed: {reason}")
        return self._act(specs, gate, reason, p, event_id)

    def _passed(self, ctx: Context, pending: dict, key: str, gate: str, how: str) -> None:
        p = pending[key]
        p["gates"].pop(gate, None)
        self._note(ctx, p["mid"], gate, f"passed: {how}")
        if not p["gates"]:
            del pending[key]

    # -- the hooks -------------------------------------------------------------------------
    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        if event.member_id is None:
            return ()
        if event.kind is EventKind.JOIN:
            return self._join(event, ctx)
        if event.kind is EventKind.ORDER:
            return self._order(event, ctx)
        if event.kind in (EventKind.LEAVE, EventKind.KICK):
            pending = self._pending(ctx)
            if pending.pop(f"{event.member_id}:{event.group_id}", None) is not None:
                ctx.state.set(self.name, "pending", pending)
            return ()
        if event.kind in (EventKind.MESSAGE, EventKind.EMOTE):
            return self._message(event, ctx)
        return ()

    def _join(self, ev: StoredEvent, ctx: Context) -> list[Action]:
        cfg = self.config
        out: list[Action] = []
        p = {"mid": ev.member_id, "gid": ev.group_id, "name": ev.member_name or "", "group": ev.group_name, "joined": ev.at_ms, "gates": {}}
        tier = self.tiers.get(ev.group_name)
        if tier is not None:
            missing = self._tier_missing(tier, ev.member_id, ctx)
            if missing:
                reason = f"{ev.group_name} requires {missing}"
                self._note(ctx, ev.member_id, "tiered", f"failed: {reason}")
                if tier.reply:
                    out.append(self._say(tier.reply.format(name=p["name"], group=p["group"], rule="gate:tiered", reason=reason), "tiered", reason, p, ev.id))
                return out + self._act(tier.on_fail, "tiered", reason, p, ev.id)
            self._note(ctx, ev.member_id, "tiered", "passed")
        if self._guards("invite", ev.group_name):
            inv = cfg.invite
            raw = ev.payload.get("invite_code") if isinstance(ev.payload.get("invite_code"), str) else None
            code = find_code(raw, inv.codes) if raw else None
            problem = self._code_problem(code, ev.at_ms, ctx) if code else (f"invite code {raw!r} is not valid" if raw else "joined without an invite code")
            if code and not problem:
                self._use(code, ctx)
                self._note(ctx, ev.member_id, "invite", f"passed: code {code.code}")
            elif inv.within is None:
                self._note(ctx, ev.member_id, "invite", f"failed: {problem}")
                return out + self._act(inv.on_fail, "invite", problem, p, ev.id)
            else:
                p["gates"]["invite"] = {"due": ev.at_ms + inv.within}
        if self._guards("paid", ev.group_name):
            if ctx.state.get(self.name, f"paid:{ev.member_id}") is not None:
                self._note(ctx, ev.member_id, "paid", "passed: ordered before joining")
            else:
                p["gates"]["paid"] = {"due": ev.at_ms + cfg.paid.within}
        if self._guards("captcha", ev.group_name):
            question, answer = captcha_lib.challenge(ctx.community_id, ev.member_id, ev.group_id, ev.at_ms)
            p["gates"]["captcha"] = {"due": ev.at_ms + cfg.captcha.within, "answer": answer, "tries": 0}
            text = cfg.captcha.prompt.format(name=p["name"], group=p["group"], within=format_duration(cfg.captcha.within), question=question)
            out.append(self._say(text, "captcha", f"{p['name']} joined {p['group']}: captcha {question}", p, ev.id))
        if self._guards("intro", ev.group_name):
            intro = cfg.intro
            p["gates"]["intro"] = {"due": ev.at_ms + intro.within, "hinted": False}
            if intro.prompt:
                text = intro.prompt.format(name=p["name"], group=p["group"], template=intro.template, within=format_duration(intro.within))
                out.append(self._say(text, "intro", f"{p['name']} joined {p['group']}: introduction as {intro.template} requested", p, ev.id))
        if p["gates"]:
            pending = self._pending(ctx)
            pending[f"{ev.member_id}:{ev.group_id}"] = p
            ctx.state.set(self.name, "pending", pending)
        return out

    def _message(self, ev: StoredEvent, ctx: Context) -> list[Action]:
        pending = self._pending(ctx)
        key = f"{ev.member_id}:{ev.group_id}"
        p = pending.get(key)
        if p is None:
            return []
        cfg = self.config
        out: list[Action] = []
        gates = p["gates"]
        p["msg"] = ev.platform_id
        if "captcha" in gates:
            c = gates["captcha"]
            verdict = captcha_lib.answers(ev.text, c["answer"])
            if verdict is True:
                self._passed(ctx, pending, key, "captcha", "answered")
            else:
                if verdict is False:
                    c["tries"] += 1
                    if c["tries"] >= cfg.captcha.attempts:
                        out += self._fail(ctx, pending, key, "captcha", f"answered the captcha wrong {c['tries']} times", cfg.captcha.on_fail, ev.id)
                        ctx.state.set(self.name, "pending", pending)
                        return out
                if cfg.captcha.hold_messages:
                    out.append(Action(kind=ActionKind.DELETE, rule="gate:captcha", reason="messages wait until the captcha is answered",
                                      member_id=ev.member_id, group_id=ev.group_id, event_id=ev.id, payload={"message": ev.platform_id}))
            ctx.state.set(self.name, "pending", pending)
            return out
        if "invite" in gates:
            code = find_code(ev.text, cfg.invite.codes)
            if code is not None:
                problem = self._code_problem(code, ev.at_ms, ctx)
                if problem:
                    out += self._fail(ctx, pending, key, "invite", problem, cfg.invite.on_fail, ev.id)
                    ctx.state.set(self.name, "pending", pending)
                    return out
                self._use(code, ctx)
                self._passed(ctx, pending, key, "invite", f"code {code.code}")
                ctx.state.set(self.name, "pending", pending)
                return out
        if "intro" in gates:
            intro = cfg.intro
            parts = parse_intro(ev.text or "", intro.parts, intro.pattern, intro.visible_pattern)
            if parts is not None:
                wanted = intro.tags if intro.tags is not None else intro.parts
                for part in wanted:
                    tag = f"{part}:{parts[part]}"[:200]
                    if ctx.people is not None:
                        ctx.people.add_tag(ev.member_id, tag, "gate:intro")
                    out.append(Action(kind=ActionKind.TAG, rule="gate:intro", reason=f"introduced as {intro.template}: {parts[part]}",
                                      member_id=ev.member_id, group_id=ev.group_id, event_id=ev.id, payload={"tag": tag}))
                self._passed(ctx, pending, key, "intro", " / ".join(parts.values()))
            elif not gates["intro"]["hinted"] and intro.hint:
                gates["intro"]["hinted"] = True
                text = intro.hint.format(name=p["name"], group=p["group"], template=intro.template, within=format_duration(intro.within))
                out.append(self._say(text, "intro", f"message is not an introduction as {intro.template}", p, ev.id))
        ctx.state.set(self.name, "pending", pending)
        return out

    def _order(self, ev: StoredEvent, ctx: Context) -> list[Action]:
        cfg = self.config.paid
        if cfg is None:
            return []
        product = ev.payload.get("product")
        if cfg.products and product not in cfg.products:
            return []
        if cfg.min_amount is not None:
            try:
                amount = float(ev.payload.get("amount"))
            except (TypeError, ValueError):
                return []
            if amount < cfg.min_amount:
                return []
        ctx.state.set(self.name, f"paid:{ev.member_id}", ev.at_ms)
        pending = self._pending(ctx)
        changed = False
        for key in [k for k, p in pending.items() if p["mid"] == ev.member_id and "paid" in p["gates"]]:
            self._passed(ctx, pending, key, "paid", f"order {ev.platform_id}" + (f" ({product})" if product else ""))
            changed = True
        if changed:
            ctx.state.set(self.name, "pending", pending)
        return []

    def on_tick(self, now_ms: int, ctx: Context) -> Iterable[Action]:
        pending = self._pending(ctx)
        if not pending:
            return ()
        out: list[Action] = []
        for key in list(pending):
            p = pending[key]
            for gate in ORDER:
                g = p["gates"].get(gate)
                if g is None or g["due"] > now_ms:
                    continue
                cfg = getattr(self.config, gate)
                reason = {
                    "captcha": f"did not answer the captcha within {format_duration(cfg.within)}",
                    "invite": f"did not post a valid invite code within {format_duration(cfg.within or 0)}",
                    "paid": f"no order within {format_duration(cfg.within)} of joining",
                    "intro": f"did not introduce themselves as {getattr(cfg, 'template', '')} within {format_duration(cfg.within)}",
                }[gate]
                out += self._fail(ctx, pending, key, gate, reason, cfg.on_fail, None)
                break
        ctx.state.set(self.name, "pending", pending)
        return out

    # -- invite codes and tiers ------------------------------------------------------------
    def _code_problem(self, code: InviteCode, at_ms: int, ctx: Context) -> str | None:
        expires = code.expires_ms(ctx.timezone)
        if expires is not None and at_ms >= expires:
            return f"invite code {code.code} expired on {code.expires}"
        if code.max_uses is not None and (ctx.state.get(self.name, f"uses:{fold(code.code)}") or 0) >= code.max_uses:
            return f"invite code {code.code} is used up ({code.max_uses} uses)"
        return None

    def _use(self, code: InviteCode, ctx: Context) -> None:
        key = f"uses:{fold(code.code)}"
        ctx.state.set(self.name, key, (ctx.state.get(self.name, key) or 0) + 1)

    def _tier_missing(self, tier: Tier, member_id: int, ctx: Context) -> str | None:
        """What the member lacks for this tier, in words, or None if they qualify."""
        needs = []
        if tier.min_level is not None or tier.min_points is not None:
            try:
                from shequn.points import standing
            except ImportError as exc:
                raise RuntimeError(f"tiered gate on {tier.group!r} needs the points module (shequn.points): {exc}") from exc
            s = standing(ctx, member_id)
            if tier.min_level is not None and s.level < tier.min_level:
                needs.append(f"level {tier.min_level} (member is level {s.level} {s.level_name})")
            if tier.min_points is not None and s.points < tier.min_points:
                needs.append(f"{tier.min_points} points (member has {s.points})")
        if tier.tags:
            have = ctx.people.tags(member_id) if ctx.people is not None else frozenset()
            if not have & set(tier.tags):
                needs.append(f"one of the tags {', '.join(tier.tags)}")
        return " and ".join(needs) or None

    # -- backtest report -------------------------------------------------------------------
    def member_summary(self, ctx: Context) -> Mapping[int, Mapping[str, Any]]:
        notes = dict(ctx.state.get(self.name, "report") or {})
        for p in self._pending(ctx).values():
            for gate in p["gates"]:
                notes.setdefault(p["mid"], {}).setdefault(gate, "pending at the end of the replay")
        return {mid: {"gates": gates} for mid, gates in notes.items()}
