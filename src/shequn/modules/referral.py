"""Referral / fission (裂变) as an engine module: attribute joins to inviters, vest invite points only
after the invitee stayed and spoke, revoke them if the invitee leaves early, reward every N invites.

Runs the same live and in ``shequn backtest``: all state is in ``ctx.state``, points go through
``ctx.ledger``, and time-driven vesting happens in ``on_tick``. Every outcome is kept with its reason
(``inv:<member>`` in the state; rule and reason on every ledger posting and action), so "why did I
not get my invite points?" has an answer.

Attribution, first match wins: ``payload["invite_code"]`` (a referral code, see referral.codes),
``payload["invited_by_member"]`` (a member id, from adapters that know it), then the inviter's name
(``invited_by_name`` / ``invited_by`` / ``invited_by_id``, as the importers set them) looked up among
the names this module has seen on the same platform. An ambiguous name attributes nothing.

Fraud guards: only a member's first join counts (someone already seen is not new); self-invites
(including two accounts merged into one member) and circular invites are ignored; the invitee must
stay ``stay_days`` in the group they were invited to AND send ``min_messages`` messages within
``speak_within_days``.
"""

from __future__ import annotations

import heapq
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, field_validator

from shequn.domain.actions import Action, ActionKind
from shequn.domain.events import CHAT_KINDS, LEAVE_KINDS, EventKind, StoredEvent
from shequn.engine.module import BaseModule, Context
from shequn.playbook.schema import StrictModel
from shequn.referral.book import COUNTED, MODULE
from shequn.referral.codes import parse_code

DAY_MS = 86_400_000
PENDING_ACCOUNT = "referral_pending"  # invite points promised but not vested: visible, not spendable
MAX_CHAIN = 100  # circular-invite check walks at most this far up


class ReferralConfig(StrictModel):
    stay_days: float = Field(default=7, ge=0, description="The invitee must stay this many days in the group.")
    min_messages: int = Field(default=1, ge=0, description="... and send at least this many messages.")
    speak_within_days: float = Field(default=30, gt=0, description="Messages must come within this many days of joining, or the invite is void.")
    points: int = Field(default=10, ge=0, description="Invite points for the inviter, vested when the invitee qualifies.")
    reward_every: int = Field(default=0, ge=0, description="Invite-N task: every N vested invites earn reward_points (0 = off).")
    reward_points: int = Field(default=0, ge=0)
    reward_tag: str | None = Field(default=None, min_length=1, max_length=200, description="Tag given with the first invite-N reward.")
    groups: list[str] = Field(default_factory=list, description="Only joins into these groups (names) count; empty = all.")
    announce: str | None = Field(default=None, min_length=1, description="Posted when an invite vests: {inviter}, {invitee}, {count}.")

    @field_validator("announce")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(inviter="", invitee="", count=0)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"announce may only use {{inviter}}, {{invitee}} and {{count}} ({exc})") from None
        return value


def norm_name(name: str) -> str:
    """Names as people type them: NFKC, invisible characters dropped, case folded."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch) not in ("Cf", "Cc")).strip().casefold()


class ReferralModule(BaseModule):
    name = MODULE
    Config = ReferralConfig

    # --- events ----------------------------------------------------------------------------------

    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        m = event.member_id
        if m is None:
            return ()
        st = ctx.state
        key = f"m:{m}"
        rec = st.get(MODULE, key)
        new_member = rec is None
        if new_member or rec.get("d") != event.member_name:
            name = norm_name(event.member_name) if event.member_name else ""
            rec = {"s": event.at_ms, "d": event.member_name, "p": 0} if new_member else {**rec, "d": event.member_name}
            st.set(MODULE, key, rec)
            if name:
                self._learn_name(ctx, event.platform, name, m)
        kind = event.kind
        if kind is EventKind.JOIN:
            return self._join(event, ctx, new_member)
        pending = rec.get("p")
        if not pending:
            return ()
        if kind in CHAT_KINDS:
            # p == 2: spoke enough already, only the clock (or a leave) can change the invite now
            return self._spoke(event, ctx, rec) if pending == 1 else ()
        if kind in LEAVE_KINDS:
            return self._left(event, ctx)
        return ()

    def _learn_name(self, ctx: Context, platform: str, name: str, member_id: int) -> None:
        k = f"name:{platform}:{name}"
        known = ctx.state.get(MODULE, k)
        if known is None:
            ctx.state.set(MODULE, k, member_id)
        elif known != member_id and known != -1:
            ctx.state.set(MODULE, k, -1)  # two members share this name: attributing by it would be a guess

    def _inviter(self, event: StoredEvent, ctx: Context) -> tuple[int | None, str]:
        p = event.payload or {}
        code = p.get("invite_code")
        if code:
            by = parse_code(event.community_id, code)
            return (by, f"code {code}") if by else (None, f"invite code {str(code)[:40]!r} is not a valid referral code")
        if isinstance(p.get("invited_by_member"), int):
            return p["invited_by_member"], "member id"
        for field in ("invited_by_name", "invited_by", "invited_by_id"):
            value = p.get(field)
            if value:
                found = ctx.state.get(MODULE, f"name:{event.platform}:{norm_name(str(value))}")
                if found == -1:
                    return None, f"inviter name {str(value)[:60]!r} is shared by several members"
                if found is not None:
                    return found, f"{field} {str(value)[:60]!r}"
        named = next((str(p[f]) for f in ("invited_by_name", "invited_by", "invited_by_id") if p.get(f)), None)
        return None, (f"inviter {named[:60]!r} has not been seen in this community" if named else "")

    def _join(self, event: StoredEvent, ctx: Context, new_member: bool) -> Iterable[Action]:
        cfg: ReferralConfig = self.config
        if cfg.groups and event.group_name not in cfg.groups:
            return ()
        invitee = event.member_id
        inviter, how = self._inviter(event, ctx)
        if inviter is None and not how:
            return ()  # a join nobody claims: nothing to record
        st = ctx.state
        if st.get(MODULE, f"inv:{invitee}") is not None:
            return ()  # only the first attribution counts (rejoining does not re-earn)
        why = None
        if inviter is None:
            why = how
        elif inviter == invitee:
            why = "self-invite (the inviter and the invitee are the same member)"
        elif self._invited_by_chain(ctx, inviter, invitee):
            why = "circular invite (the invitee brought the inviter in)"
        elif not new_member:
            why = "the invitee was already a member before this join"
        record = {"by": inviter, "at": event.at_ms, "group": event.group_id, "event": event.id, "how": how, "spoke": 0}
        if why:
            record.update(status="ignored", why=why)
            st.set(MODULE, f"inv:{invitee}", record)
            if inviter is not None:
                self._count(ctx, inviter, invitee, "ignored", +1, new_kid=False)
            return ()
        due = event.at_ms + int(cfg.stay_days * DAY_MS)
        record.update(status="pending", due=due, why=f"waiting: must stay {cfg.stay_days:g} day(s) and send {cfg.min_messages} message(s)")
        st.set(MODULE, f"inv:{invitee}", record)
        rec = st.get(MODULE, f"m:{invitee}")
        st.set(MODULE, f"m:{invitee}", {**rec, "p": 1})
        self._count(ctx, inviter, invitee, "pending", +1, new_kid=True)
        # a heap of [due, member]: the clock looks at the top only; closed invites are skipped when popped
        waiting = st.get(MODULE, "waiting") or []
        heapq.heappush(waiting, [due, invitee])
        st.set(MODULE, "waiting", waiting)
        if ctx.ledger is not None and cfg.points:
            ctx.ledger.post(
                member_id=inviter, amount=cfg.points, rule="referral.pending", key=f"ref:pending:{invitee}", at_ms=event.at_ms,
                event_id=event.id, account=PENDING_ACCOUNT, counter="referral",
                reason=f"invited {event.member_name} (member {invitee}); vests after {cfg.stay_days:g} day(s) and {cfg.min_messages} message(s)",
            )
        return ()

    def _invited_by_chain(self, ctx: Context, inviter: int, invitee: int) -> bool:
        current = inviter
        for _ in range(MAX_CHAIN):
            inv = ctx.state.get(MODULE, f"inv:{current}")
            if inv is None or inv.get("status") not in COUNTED:
                return False
            current = inv["by"]
            if current == invitee:
                return True
        return False

    def _spoke(self, event: StoredEvent, ctx: Context, rec: dict) -> Iterable[Action]:
        m = event.member_id
        inv = ctx.state.get(MODULE, f"inv:{m}")
        if inv is None or inv.get("status") != "pending":
            return ()
        inv["spoke"] = inv.get("spoke", 0) + 1
        ctx.state.set(MODULE, f"inv:{m}", inv)
        if inv["spoke"] >= self.config.min_messages:
            if inv.get("matured"):
                return self._vest(ctx, m, inv, event.at_ms)
            ctx.state.set(MODULE, f"m:{m}", {**rec, "p": 2})
        return ()

    def _left(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        m = event.member_id
        inv = ctx.state.get(MODULE, f"inv:{m}")
        if inv is None or inv.get("status") != "pending" or event.group_id != inv.get("group"):
            return ()
        days = (event.at_ms - inv["at"]) / DAY_MS
        if not inv.get("matured"):
            self._close(ctx, m, inv, event.at_ms, "revoked", f"{'left' if event.kind is EventKind.LEAVE else 'was removed'} after {days:.1f} day(s); needed {self.config.stay_days:g}")
        else:
            self._close(ctx, m, inv, event.at_ms, "void", f"left after {days:.1f} day(s) without sending {self.config.min_messages} message(s)")
        return ()

    # --- time --------------------------------------------------------------------------------------

    def on_tick(self, now_ms: int, ctx: Context) -> Iterable[Action]:
        st = ctx.state
        actions: list[Action] = []
        cfg: ReferralConfig = self.config
        waiting = st.get(MODULE, "waiting")
        if waiting and waiting[0][0] <= now_ms:
            silent = st.get(MODULE, "silent") or []
            while waiting and waiting[0][0] <= now_ms:
                due, m = heapq.heappop(waiting)
                inv = st.get(MODULE, f"inv:{m}")
                if inv is None or inv.get("status") != "pending" or inv.get("matured"):
                    continue  # revoked (left) meanwhile
                if inv.get("spoke", 0) >= cfg.min_messages:
                    actions += self._vest(ctx, m, inv, due)
                else:
                    inv["matured"] = True
                    inv["why"] = f"stayed {cfg.stay_days:g} day(s); waiting for {cfg.min_messages} message(s)"
                    st.set(MODULE, f"inv:{m}", inv)
                    heapq.heappush(silent, [inv["at"] + int(cfg.speak_within_days * DAY_MS), m])
            st.set(MODULE, "waiting", waiting)
            st.set(MODULE, "silent", silent)
        silent = st.get(MODULE, "silent")
        if silent and silent[0][0] <= now_ms:
            while silent and silent[0][0] <= now_ms:
                void_at, m = heapq.heappop(silent)
                inv = st.get(MODULE, f"inv:{m}")
                if inv is not None and inv.get("status") == "pending":
                    self._close(ctx, m, inv, void_at, "void", f"sent {inv.get('spoke', 0)} of {cfg.min_messages} message(s) within {cfg.speak_within_days:g} day(s)")
            st.set(MODULE, "silent", silent)
        return actions

    # --- outcomes ----------------------------------------------------------------------------------

    def _count(self, ctx: Context, inviter: int, invitee: int, status: str, delta: int, *, new_kid: bool, from_status: str | None = None) -> dict:
        st = ctx.state
        stats = st.get(MODULE, f"stats:{inviter}")
        if stats is None:
            stats = {}
            inviters = st.get(MODULE, "inviters") or []
            inviters.append(inviter)
            st.set(MODULE, "inviters", inviters)
        if from_status:
            stats[from_status] = stats.get(from_status, 0) - 1
        stats[status] = stats.get(status, 0) + delta
        if new_kid:
            stats["invites"] = stats.get("invites", 0) + 1
            kids = st.get(MODULE, f"kids:{inviter}") or []
            kids.append(invitee)
            st.set(MODULE, f"kids:{inviter}", kids)
        st.set(MODULE, f"stats:{inviter}", stats)
        return stats

    def _close(self, ctx: Context, m: int, inv: dict, at_ms: int, status: str, why: str) -> None:
        """Revoke or void a pending invite: its promised points are taken back from the pending account."""
        inv.update(status=status, why=why, closed=at_ms)
        ctx.state.set(MODULE, f"inv:{m}", inv)
        rec = ctx.state.get(MODULE, f"m:{m}")
        ctx.state.set(MODULE, f"m:{m}", {**rec, "p": 0})
        self._count(ctx, inv["by"], m, status, +1, new_kid=False, from_status="pending")
        if ctx.ledger is not None and self.config.points:
            ctx.ledger.post(
                member_id=inv["by"], amount=-self.config.points, rule=f"referral.{status}", key=f"ref:{status}:{m}", at_ms=at_ms,
                account=PENDING_ACCOUNT, counter="referral", reason=f"invite of member {m} {status}: {why}",
            )

    def _vest(self, ctx: Context, m: int, inv: dict, at_ms: int) -> list[Action]:
        cfg: ReferralConfig = self.config
        inviter = inv["by"]
        why = f"stayed {cfg.stay_days:g} day(s) and sent {inv.get('spoke', 0)} message(s)"
        inv.update(status="vested", why=why, closed=at_ms)
        ctx.state.set(MODULE, f"inv:{m}", inv)
        rec = ctx.state.get(MODULE, f"m:{m}")
        ctx.state.set(MODULE, f"m:{m}", {**rec, "p": 0})
        stats = self._count(ctx, inviter, m, "vested", +1, new_kid=False, from_status="pending")
        actions: list[Action] = []
        ledger = ctx.ledger
        if ledger is not None and cfg.points:
            ledger.post(member_id=inviter, amount=-cfg.points, rule="referral.vest", key=f"ref:unpend:{m}", at_ms=at_ms,
                        account=PENDING_ACCOUNT, counter="referral", reason=f"invite of member {m} vested (moved to points)")
            ledger.post(member_id=inviter, amount=cfg.points, rule="referral.vest", key=f"ref:vest:{m}", at_ms=at_ms,
                        counter="referral", reason=f"invited member {m}, who {why}")
            stats["points"] = stats.get("points", 0) + cfg.points
        count = stats.get("vested", 0)
        if cfg.reward_every and count % cfg.reward_every == 0:
            stats["rewards"] = stats.get("rewards", 0) + 1
            task = f"invite-{cfg.reward_every} task: {count} invitees stayed and spoke"
            if ledger is not None and cfg.reward_points:
                ledger.post(member_id=inviter, amount=cfg.reward_points, rule="referral.task", key=f"ref:task:{inviter}:{count // cfg.reward_every}",
                            at_ms=at_ms, counter="referral", reason=task)
                stats["points"] = stats.get("points", 0) + cfg.reward_points
            if cfg.reward_tag:
                if ctx.people is not None:
                    ctx.people.add_tag(inviter, cfg.reward_tag, "referral.task")
                actions.append(Action(kind=ActionKind.TAG, rule="referral.task", reason=task, group_id=inv.get("group"),
                                      member_id=inviter, payload={"tag": cfg.reward_tag}))
        ctx.state.set(MODULE, f"stats:{inviter}", stats)
        if cfg.announce:
            actions.append(Action(
                kind=ActionKind.REPLY, rule="referral.vest", reason=f"member {m}, invited by member {inviter}, {why}",
                group_id=inv.get("group"), member_id=inviter,
                payload={"text": cfg.announce.format(inviter=self._name(ctx, inviter), invitee=self._name(ctx, m), count=count)},
            ))
        return actions

    def _name(self, ctx: Context, member_id: int) -> str:
        return (ctx.state.get(MODULE, f"m:{member_id}") or {}).get("d") or f"member {member_id}"

    def member_summary(self, ctx: Context) -> Mapping[int, Mapping[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for inviter in ctx.state.get(MODULE, "inviters") or []:
            s = ctx.state.get(MODULE, f"stats:{inviter}") or {}
            out.setdefault(inviter, {}).update({
                "invites": s.get("invites", 0), "vested_invites": s.get("vested", 0), "pending_invites": s.get("pending", 0),
                "revoked_invites": s.get("revoked", 0), "invite_points": s.get("points", 0),
            })
            for kid in ctx.state.get(MODULE, f"kids:{inviter}") or []:
                out.setdefault(kid, {})["invited_by"] = inviter
        return out
