"""The rules module (群规): the playbook's ``rules:`` section, checked on every message, live and in a backtest.

Rules are read in order; the first that fires stops the others unless it says ``stop: false`` (so one
ad is one warning, not three). Admins and other exempt roles or tags are never judged. Every action
carries the rule's name and the reason in words, and warnings climb the escalation ladder.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

from pydantic import Field, field_validator

from shequn.domain.actions import Action, ActionKind
from shequn.domain.events import EventKind, StoredEvent
from shequn.engine.module import BaseModule, Context
from shequn.modules.rules.actions import ActionSpec, build_action
from shequn.modules.rules.conditions import Check, Condition, compile_condition
from shequn.modules.rules.escalation import Escalation, active_warnings, record_warning, step_for
from shequn.modules.rules.facts import Facts, History
from shequn.modules.rules.spam import SpamDetectors
from shequn.moderation.settings import SpamSection
from shequn.playbook.schema import StrictModel

JUDGED_KINDS = frozenset({EventKind.MESSAGE, EventKind.EMOTE})
MAX_HISTORY = 500  # recent messages kept per member for flood/repeat checks
MAX_EXAMPLES = 5


class Exempt(StrictModel):
    roles: list[str] = Field(default_factory=list, description="Members with any of these roles (in the group or community-wide).")
    tags: list[str] = Field(default_factory=list, description="Members with any of these tags.")


class RuleSpec(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, description="What the member is told the rule is, e.g. 本群禁止发广告链接.")
    groups: list[str] = Field(default_factory=list, description="Only in these groups (names); empty = all.")
    when: Condition
    unless: Condition | None = None
    exempt: Exempt | None = Field(default=None, description="Exemptions for this rule, added to the module-wide ones.")
    do: list[ActionSpec] = Field(min_length=1)
    stop: bool = Field(default=True, description="Once this rule fired, later rules are not checked for this message.")


class RulesConfig(StrictModel):
    exempt: Exempt = Field(default_factory=lambda: Exempt(roles=["owner", "admin", "assistant"]))
    rules: list[RuleSpec] = Field(min_length=1)
    escalation: Escalation | None = None
    spam: SpamSection | None = Field(default=None, description="Tunes the ad/spam detector behind spam_score (extra stop words, allow-listed domains).")

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[RuleSpec]) -> list[RuleSpec]:
        seen: set[str] = set()
        for i, r in enumerate(rules):
            if r.name in seen:
                raise ValueError(f"rules[{i}]: the name {r.name!r} is used twice; every rule needs its own name (it is what reports and members see)")
            seen.add(r.name)
        return rules


class _Compiled:
    def __init__(self, spec: RuleSpec, module_exempt: Exempt):
        self.spec = spec
        self.when: Check = compile_condition(spec.when)
        self.unless: Check | None = compile_condition(spec.unless) if spec.unless else None
        self.groups = frozenset(spec.groups)
        extra = spec.exempt or Exempt()
        self.exempt_roles = frozenset(module_exempt.roles) | frozenset(extra.roles)
        self.exempt_tags = frozenset(module_exempt.tags) | frozenset(extra.tags)
        parts = [self.when] + ([self.unless] if self.unless else [])
        self.needs_history = any(p.needs_history for p in parts)
        self.needs_count = any(p.needs_count for p in parts)
        self.window_ms = max(p.window_ms for p in parts)
        self.needs_key = _uses_text_key(spec.when) or (spec.unless is not None and _uses_text_key(spec.unless))


def _uses_text_key(c: Condition) -> bool:
    if c.repeated is not None or c.same_text_in_groups is not None:
        return True
    subs = (c.all_ or []) + (c.any_ or []) + ([c.not_] if c.not_ else [])
    return any(_uses_text_key(s) for s in subs)


class RulesModule(BaseModule):
    name = "rules"
    Config = RulesConfig

    def __init__(self, config: RulesConfig, playbook) -> None:
        super().__init__(config, playbook)
        self.rules = [_Compiled(r, config.exempt) for r in config.rules]
        self.needs_history = any(r.needs_history for r in self.rules)
        self.needs_count = any(r.needs_count for r in self.rules)
        self.needs_key = any(r.needs_key for r in self.rules)
        self.window_ms = max(r.window_ms for r in self.rules)
        self.spam = SpamDetectors(config.spam)  # the learned model, loaded on first use, once per run

    # -- history ---------------------------------------------------------------------------
    def _history(self, event: StoredEvent, ctx: Context, facts: Facts) -> History:
        """Update and return the member's recent messages, this one included (only what rules need)."""
        if not (self.needs_history or self.needs_count):
            return facts.history
        key = f"h:{event.member_id}"
        stored = ctx.state.get(self.name, key) or {"n": 0, "r": []}
        n = stored["n"] + 1
        recent = stored["r"]
        if self.needs_history:
            # entries are in time order: drop the expired ones from the front
            cut = bisect_left(recent, event.at_ms - self.window_ms, key=itemgetter(0))
            recent = recent[max(cut, len(recent) + 1 - MAX_HISTORY):]
            recent.append([event.at_ms, event.group_id, facts.key if self.needs_key else ""])
        ctx.state.set(self.name, key, {"n": n, "r": recent})
        facts.history = History(recent=recent, count=n)
        return facts.history

    # -- the hook --------------------------------------------------------------------------
    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        if event.kind not in JUDGED_KINDS or event.member_id is None:
            return ()
        facts = Facts(event, ctx, spam=self.spam)
        self._history(event, ctx, facts)
        out: list[Action] = []
        for rule in self.rules:
            if rule.groups and event.group_name not in rule.groups:
                continue
            why = rule.when.test(facts)
            if why is None:
                continue
            # exemptions after the condition: most messages break no rule, so live this saves a role/tag query
            if (rule.exempt_roles and facts.roles & rule.exempt_roles) or (rule.exempt_tags and facts.tags & rule.exempt_tags):
                continue
            if rule.unless is not None and rule.unless.test(facts) is not None:
                continue
            out += self._fire(rule.spec, why, event, ctx)
            if rule.spec.stop:
                break
        return out

    def _fire(self, spec: RuleSpec, why: str, event: StoredEvent, ctx: Context) -> list[Action]:
        reason = f"{spec.reason}: {why}" if spec.reason else why
        acts = []
        for a in spec.do:
            action = build_action(a, spec.name, reason, event)
            if action.kind is ActionKind.TAG and ctx.people is not None:
                ctx.people.add_tag(event.member_id, a.tag, f"rule:{spec.name}")
            acts.append(action)
        self._note(ctx, event.member_id, rule=spec.name)
        if any(a.kind is ActionKind.WARN for a in acts):
            acts += self._warned(spec.name, reason, event, ctx)
        return acts

    def _warned(self, rule: str, reason: str, event: StoredEvent, ctx: Context) -> list[Action]:
        """Record the warning and climb the ladder: the harshest step reached fires, explained."""
        cfg: Escalation | None = self.config.escalation
        key = f"w:{event.member_id}"
        history = ctx.state.get(self.name, key) or []
        if cfg is None:
            history = (history + [[event.at_ms, rule]])[-200:]
            ctx.state.set(self.name, key, history)
            return []
        history = record_warning(history, event.at_ms, rule, cfg)
        ctx.state.set(self.name, key, history)
        found = step_for(history, event.at_ms, cfg)
        if found is None:
            return []
        step, ladder_reason = found
        if any(a.kind in (ActionKind.KICK, ActionKind.BAN) for a in step.do):
            # removal settles the account: a member who comes back starts the ladder again
            ctx.state.set(self.name, key, [])
        full = f"{ladder_reason} (latest: {rule}: {reason})"
        self._note(ctx, event.member_id, escalation=ladder_reason)
        return [build_action(a, "escalation", full, event) for a in step.do]

    # -- backtest report -------------------------------------------------------------------
    def _note(self, ctx: Context, member_id: int, *, rule: str | None = None, escalation: str | None = None) -> None:
        """Sandbox only: remember per member what the report should show (not kept live; the outbox is the record there)."""
        if not ctx.sandbox:
            return
        notes = ctx.state.get(self.name, "report")
        if notes is None:
            notes = {}
            ctx.state.set(self.name, "report", notes)
        entry = notes.setdefault(member_id, {"rules": Counter(), "escalations": []})
        if rule:
            entry["rules"][rule] += 1
        if escalation and len(entry["escalations"]) < MAX_EXAMPLES * 4:
            entry["escalations"].append(escalation)

    def member_summary(self, ctx: Context) -> Mapping[int, Mapping[str, Any]]:
        notes = ctx.state.get(self.name, "report") or {}
        out = {}
        for member_id, entry in notes.items():
            warnings = ctx.state.get(self.name, f"w:{member_id}") or []
            out[member_id] = {
                "rules_broken": dict(entry["rules"]),
                "active_warnings": active_warnings(warnings, ctx.now_ms, self.config.escalation),
                "escalations": list(entry["escalations"]),
            }
        return out
