"""Points 积分 (参与感): messages, check-ins 打卡 with streaks, tasks and custom events earn points in the
ledger; levels 等级 and badges 勋章 follow from them.

Every award is one ledger posting whose key is derived from the event (``msg:<event id>``,
``checkin:<member>:<day>`` ...), so replaying history or a redelivered event never pays twice, and
whose rule and reason say exactly why ("message in #ubuntu: +1; 3/20 today"). Per-member state
(last award, today's message points, streak, level, badges) is one record in ``ctx.state``, so the
same code runs live (database, one transaction with the event) and in a backtest (memory).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shequn.domain.actions import Action, ActionKind
from shequn.domain.events import EventKind, StoredEvent
from shequn.engine.module import BaseModule, Context
from shequn.modules.rules.timing import format_duration
from shequn.points import MODULE, member_key
from shequn.points.antifarm import fingerprint, squash
from shequn.points.config import TIERS, PointsConfig
from shequn.points.levels import LevelCurve
from shequn.points.localday import DAY_MS, LocalDays, day_to_date

_MESSAGE, _CHECKIN, _COMMAND, _CUSTOM = EventKind.MESSAGE, EventKind.CHECKIN, EventKind.COMMAND, EventKind.CUSTOM
_RELEVANT = frozenset({_MESSAGE, _CHECKIN, _COMMAND, _CUSTOM})
_QUESTIONS_MIN_PRUNE = 1024
_BADGE_FIELDS = {"checkins": "ci", "streak": "bs", "answers": "an", "messages": "ms", "introduced": "in"}


class PointsModule(BaseModule):
    name = MODULE
    Config = PointsConfig

    def __init__(self, config: PointsConfig, playbook) -> None:
        super().__init__(config, playbook)
        cfg = config
        self.days = LocalDays(playbook.timezone)  # a cache of UTC offsets, not state
        self.msg = cfg.message
        self.checkin = cfg.checkin
        self.intro = cfg.tasks.introduction if cfg.tasks else None
        self.answer = cfg.tasks.first_answer if cfg.tasks else None
        self.intro_re = re.compile(self.intro.pattern) if self.intro else None
        self.curve = LevelCurve(cfg.levels) if cfg.levels else None
        self.trust = cfg.levels is not None and cfg.levels.curve == "trust"
        self.window_days = -(-cfg.levels.window // DAY_MS) if cfg.levels else 0
        self.expiry_days = cfg.expiry.days if cfg.expiry else 0
        self.needs_text = bool(self.msg and (self.msg.min_length or self.msg.duplicate_window))
        self.msg_groups = frozenset(self.msg.groups) if self.msg and self.msg.groups else None
        self._awarded = 0  # a running count of postings, so on_event knows whether levels can have changed
        self.count_messages = any(b.metric == "messages" for b in cfg.badges)
        if self.msg:
            parts = [f"{self.msg.award} per message"]
            if self.msg.cooldown:
                parts.append(f"cooldown {format_duration(self.msg.cooldown)}")
            self._msg_rule_text = ", ".join(parts)

    # --- the hooks -------------------------------------------------------------------------------

    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        member = event.member_id
        if member is None or event.kind not in _RELEVANT:
            return ()
        ledger = ctx.ledger
        if ledger is None:
            raise RuntimeError("the points module needs ctx.ledger (live: DbLedger, backtest: MemoryLedger)")
        state = ctx.state
        key = member_key(member)
        rec = state.get(MODULE, key)
        if rec is None:
            rec = {}
            if ctx.sandbox:  # the backtest report lists every member the module saw
                roster = state.get(MODULE, "roster")
                if roster is None:
                    roster = []
                    state.set(MODULE, "roster", roster)
                roster.append(member)
                state.set(MODULE, "roster", roster)
        actions: list[Action] = []
        kind = event.kind
        at = event.at_ms
        awarded_before = self._awarded
        if self.expiry_days and rec.get("lots"):
            self._expire(member, rec, self.days.day(at), ctx)
        if kind is _CUSTOM:
            self._custom(event, member, rec, ctx)
        elif kind is _CHECKIN or (self.checkin is not None and self._is_checkin(event.text)):
            self._check_in(event, member, rec, ctx)
        elif kind is _MESSAGE:
            if self.count_messages:
                rec["ms"] = rec.get("ms", 0) + 1
            if self.trust:
                self._visit(member, rec, self.days.day(at), ctx)
            if self.intro is not None and not rec.get("in"):
                self._introduction(event, member, rec, ctx)
            if self.answer is not None:
                self._questions_and_answers(event, member, rec, ctx)
            if self.msg is not None:
                self._message(event, member, rec, ctx)
        if self.curve is not None and (self._awarded != awarded_before or self.trust or "ln" not in rec):
            self._level(member, rec, at, ctx, actions)  # earned points only change when something was awarded
        if self.config.badges:
            self._badges(member, rec, at, ctx)
        state.set(MODULE, key, rec)
        return actions

    def partition_safe(self) -> bool:
        """Messages, check-ins, introductions, custom events, levels and badges only touch the
        member's own record and balance. First answers share each group's open questions between
        members; expiry and trust windows are swept by the clock, whose ticks a partition would see
        at other times: those configurations replay in one process."""
        return self.answer is None and not self.expiry_days and not self.trust

    def on_tick(self, now_ms: int, ctx: Context) -> Iterable[Action]:
        """Once per local day: expire old points and re-check trust levels of members gone quiet."""
        if not self.expiry_days and not self.trust:
            return ()
        today = self.days.day(now_ms)
        last = ctx.state.get(MODULE, "swept")
        if last == today:
            return ()
        ctx.state.set(MODULE, "swept", today)
        if last is None:
            return ()
        actions: list[Action] = []
        for day in range(last + 1, today + 1):
            if self.expiry_days:
                self._sweep(ctx, f"exp:{day - self.expiry_days - 1}", day, now_ms, actions)
            if self.trust:
                self._sweep(ctx, f"win:{day - self.window_days}", day, now_ms, actions)
        return actions

    def member_summary(self, ctx: Context) -> dict[int, dict]:
        ledger = ctx.ledger
        out: dict[int, dict] = {}
        members = dict.fromkeys(ctx.state.get(MODULE, "roster") or ())
        if ledger is not None and hasattr(ledger, "balances"):  # points other modules posted (referral ...)
            members.update(dict.fromkeys(sorted(ledger.balances())))
        for member in members:
            rec = ctx.state.get(MODULE, member_key(member)) or {}
            fields = {"points": ledger.balance(member) if ledger else 0, "level": rec.get("lv", 0)}
            if self.curve is not None:
                fields["level_name"] = rec.get("ln", self.curve.name(0))
            if self.checkin is not None:
                fields["checkins"] = rec.get("ci", 0)
                fields["best_streak"] = rec.get("bs", 0)
            if self.config.badges:
                fields["badges"] = {name: b[0] for name, b in (rec.get("bd") or {}).items()}
            out[member] = fields
        return out

    # --- sources ---------------------------------------------------------------------------------

    def _earn(self, member, rec, ctx, *, amount, rule, reason, key, at, event_id) -> bool:
        """Post an award; remember it for expiry. False if the key was paid before (a replay).

        Either way the member holds the award afterwards, and the callers update the state as for an
        award: a replay of stored history with rebuilt state (derived state is rebuildable) must follow
        the books, or a message the original run refused (cooldown, cap) would be paid on the replay."""
        booked = ctx.ledger.post(member_id=member, amount=amount, rule=rule, reason=reason, key=key, at_ms=at, event_id=event_id)
        if booked:
            self._awarded += 1
        if self.expiry_days:
            day = self.days.day(at)
            lots = rec.setdefault("lots", [])
            if lots and lots[-1][0] == day:
                lots[-1][1] += amount
            else:
                lots.append([day, amount])
                self._schedule(ctx, f"exp:{day}", member)
        return booked

    def _message(self, event: StoredEvent, member: int, rec: dict, ctx: Context) -> None:
        cfg = self.msg
        if self.msg_groups is not None and event.group_name not in self.msg_groups:
            return
        at = event.at_ms
        last = rec.get("la")
        if cfg.cooldown is not None and last is not None and at - last < cfg.cooldown:
            return
        fp = None
        if self.needs_text:
            text = squash(event.text)
            if len(text) < cfg.min_length:
                return
            if cfg.duplicate_window:
                fp = fingerprint(text)
                if fp in rec.get("fp", ()):
                    return
        amount = cfg.award
        cap = cfg.daily_cap
        if cap is not None:
            day = self.days.day(at)
            if rec.get("dd") != day:
                rec["dd"], rec["de"] = day, 0
            amount = min(amount, cap - rec["de"])
            if amount <= 0:
                return
            reason = f"message in {event.group_name}: +{amount} ({self._msg_rule_text}; {rec['de'] + amount}/{cap} today)"
        else:
            reason = f"message in {event.group_name}: +{amount} ({self._msg_rule_text})"
        key = f"msg:{event.id}" if event.id is not None else f"msg:{event.group_id}:{event.platform_id}"
        self._earn(member, rec, ctx, amount=amount, rule="points.message", reason=reason, key=key, at=at, event_id=event.id)
        rec["la"] = at
        if cap is not None:
            rec["de"] += amount
        if fp is not None:
            recent = rec.setdefault("fp", [])
            recent.append(fp)
            del recent[: -cfg.duplicate_window]

    def _is_checkin(self, text: str | None) -> bool:
        if not text or len(text) > 2000:
            return False
        t = text.strip().casefold()
        kws = self.checkin.keywords
        if t in kws:
            return True
        return self.checkin.prefix and any(t.startswith(k) for k in kws)

    def _check_in(self, event: StoredEvent, member: int, rec: dict, ctx: Context) -> None:
        cfg = self.checkin
        if cfg is None:  # a check-in event while check-ins are off: nothing to do
            return
        at = event.at_ms
        day = self.days.day(at)
        last = rec.get("cd")
        if last is not None and day <= last:
            return  # once a day (and an out-of-order older check-in changes nothing)
        cards_cfg = cfg.makeup_cards
        cards = rec.get("mc", cards_cfg.initial if cards_cfg else 0)
        old = rec.get("st", 0)
        filled = None
        if last is not None and day == last + 1:
            streak = old + 1
        elif last is not None and day == last + 2 and cards_cfg is not None and cards > 0:
            cards -= 1
            filled = day - 1
            streak = old + 2
            rec["ci"] = rec.get("ci", 0) + 1  # the filled day counts as checked in
        else:
            old = 0  # the streak starts again
            streak = 1
        if cards_cfg is not None and cards_cfg.earn_every and streak // cards_cfg.earn_every > old // cards_cfg.earn_every:
            cards = min(cards_cfg.max, cards + 1)
        rec.update(cd=day, st=streak, bs=max(rec.get("bs", 0), streak), ci=rec.get("ci", 0) + 1)
        if cards_cfg is not None:
            rec["mc"] = cards
        date = day_to_date(day).isoformat()
        note = f"; 补签卡 make-up card filled {day_to_date(filled).isoformat()}" if filled is not None else ""
        if cfg.award:
            self._earn(
                member, rec, ctx, amount=cfg.award, rule="points.checkin", at=at, event_id=event.id,
                key=f"checkin:{member}:{day}",
                reason=f"打卡 check-in {date}: +{cfg.award}, streak {streak} day{'s' if streak != 1 else ''}, {rec['ci']} in total{note}",
            )
        for days, bonus in sorted(cfg.streak_bonus.items()):
            if old < days <= streak and bonus:
                self._earn(
                    member, rec, ctx, amount=bonus, rule="points.streak_bonus", at=at, event_id=event.id,
                    key=f"streak:{member}:{day}:{days}", reason=f"连续打卡 {days}-day streak reached on {date}: +{bonus}",
                )

    def _introduction(self, event: StoredEvent, member: int, rec: dict, ctx: Context) -> None:
        text = event.text or ""
        if len(text) > 10_000 or not self.intro_re.search(text) or len(squash(text)) < self.intro.min_length:
            return
        self._earn(member, rec, ctx, amount=self.intro.award, rule="points.task.introduction", at=event.at_ms, event_id=event.id,
                   key=f"intro:{member}", reason=f"自我介绍 self-introduction in {event.group_name}: +{self.intro.award}")
        rec["in"] = 1

    def _questions_and_answers(self, event: StoredEvent, member: int, rec: dict, ctx: Context) -> None:
        cfg = self.answer
        qkey = f"q:{event.group_id}"
        book = ctx.state.get(MODULE, qkey)
        if book is None:
            book = {"open": {}, "prune_at": _QUESTIONS_MIN_PRUNE}
        open_q = book["open"]
        at = event.at_ms
        changed = False
        if event.reply_to:
            q = open_q.get(event.reply_to)
            if q is not None and q[0] != member:
                del open_q[event.reply_to]
                changed = True
                if at - q[1] <= cfg.within:
                    self._earn(
                        member, rec, ctx, amount=cfg.award, rule="points.task.first_answer", at=at, event_id=event.id,
                        key=f"answer:{event.group_id}:{event.reply_to}",
                        reason=f"first answer to a question in {event.group_name}: +{cfg.award}",
                    )
                    rec["an"] = rec.get("an", 0) + 1
        elif event.text and len(event.text) <= 10_000 and any(mark in event.text for mark in cfg.question_marks):
            open_q[event.platform_id] = [member, at]
            changed = True
            if len(open_q) >= book["prune_at"]:  # amortised: forget questions too old to earn an answer
                for pid in [p for p, q in open_q.items() if at - q[1] > cfg.within]:
                    del open_q[pid]
                book["prune_at"] = max(_QUESTIONS_MIN_PRUNE, 2 * len(open_q))
        if changed:
            ctx.state.set(MODULE, qkey, book)

    def _custom(self, event: StoredEvent, member: int, rec: dict, ctx: Context) -> None:
        name = (event.payload or {}).get("name")
        award = self.config.custom.get(name) if isinstance(name, str) else None
        if not award:
            return
        self._earn(member, rec, ctx, amount=award, rule=f"points.custom.{name}"[:200], at=event.at_ms, event_id=event.id,
                   key=f"custom:{event.id}", reason=f"custom event {name!r} in {event.group_name}: +{award}")

    # --- expiry, trust windows, levels, badges ---------------------------------------------------

    def _schedule(self, ctx: Context, key: str, member: int) -> None:
        """Remember that ``member`` must be looked at again when the day behind ``key`` leaves its window."""
        members = ctx.state.get(MODULE, key)
        if members is None:
            members = []
        members.append(member)
        ctx.state.set(MODULE, key, members)

    def _sweep(self, ctx: Context, key: str, day: int, now_ms: int, actions: list[Action]) -> None:
        members = ctx.state.get(MODULE, key)
        if members is None:
            return
        ctx.state.delete(MODULE, key)
        for member in dict.fromkeys(members):
            rkey = member_key(member)
            rec = ctx.state.get(MODULE, rkey)
            if rec is None:
                continue
            if self.expiry_days:
                self._expire(member, rec, day, ctx)
            if self.curve is not None:
                self._level(member, rec, now_ms, ctx, actions, today=day)
            ctx.state.set(MODULE, rkey, rec)

    def _expire(self, member: int, rec: dict, today: int, ctx: Context) -> None:
        """Points awarded on a day more than ``expiry.days`` ago expire (as far as the balance still holds them)."""
        lots = rec.get("lots")
        n = self.expiry_days
        while lots and lots[0][0] + n < today:
            day, amount = lots.pop(0)
            kept = sum(a for _, a in lots)
            amount = min(amount, ctx.ledger.balance(member) - kept)
            if amount > 0:
                expires = day + n + 1
                ctx.ledger.post(
                    member_id=member, amount=-amount, rule="points.expiry", counter="expiry", key=f"expire:{member}:{day}",
                    at_ms=self.days.start_ms(expires),
                    reason=f"{amount} points earned on {day_to_date(day).isoformat()} expired after {n} days",
                )

    def _visit(self, member: int, rec: dict, day: int, ctx: Context) -> None:
        act = rec.setdefault("act", [])
        if act and act[-1][0] == day:
            act[-1][1] += 1
        else:
            act.append([day, 1])
            self._schedule(ctx, f"win:{day}", member)

    def _level(self, member: int, rec: dict, at: int, ctx: Context, actions: list[Action], today: int | None = None) -> None:
        curve = self.curve
        old = rec.get("lv", 0)
        earned = ctx.ledger.earned(member)
        if self.trust:
            act = rec.get("act") or []
            horizon = (self.days.day(at) if today is None else today) - self.window_days
            while act and act[0][0] < horizon:
                act.pop(0)
            new = curve.for_activity(earned, len(act), sum(p for _, p in act))
            if new < old and at - rec.get("lp", 0) < curve.cfg.grace:
                new = old  # Discourse-style grace: no demotion right after a promotion
        else:
            new = curve.for_points(earned)
        if "ln" in rec and new == old:
            return
        name = curve.name(new)
        rec.update(lv=new, ln=name, lr=curve.requirement(new))
        if new <= old:
            return
        rec["lp"] = at
        for level in range(old + 1, new + 1):
            reward = curve.cfg.rewards.get(level)
            if reward is None:
                continue
            reason = f"reached level {level} ({curve.name(level)}): {curve.requirement(level)}"
            if reward.tag:
                if ctx.people is not None:
                    ctx.people.add_tag(member, reward.tag, f"points.level.{level}")
                actions.append(Action(kind=ActionKind.TAG, rule=f"points.level.{level}", reason=reason, member_id=member,
                                      payload={"tag": reward.tag}))
            if reward.role:
                actions.append(Action(kind=ActionKind.TAG, rule=f"points.level.{level}", reason=reason, member_id=member,
                                      payload={"role": reward.role}))

    def _badges(self, member: int, rec: dict, at: int, ctx: Context) -> None:
        held = rec.get("bd") or {}
        earned = None
        for badge in self.config.badges:
            metric = badge.metric
            if metric == "points":
                value = earned = ctx.ledger.earned(member) if earned is None else earned
            else:
                value = rec.get(_BADGE_FIELDS[metric], 0)
            tier = None
            for t in TIERS:
                if t in badge.tiers and value >= badge.tiers[t]:
                    tier = t
            current = held.get(badge.name)
            if tier is not None and (current is None or TIERS.index(tier) > TIERS.index(current[0])):
                held[badge.name] = [tier, at, f"{metric} {value} >= {badge.tiers[tier]} ({tier})"]
                rec["bd"] = held
