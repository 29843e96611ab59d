"""Points 积分, check-ins 打卡, levels 等级, badges 勋章 and leaderboards 排行榜 (issue 5).

Other capabilities use two things from here: the ledger (``shequn.points.ledger``: the mall spends
from it, referrals post to it) and ``standing`` (tiered gates ask for a member's points and level).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shequn.points.ledger import POINTS, DbLedger, Entry, Ledger, LedgerError, MemoryLedger

if TYPE_CHECKING:
    from shequn.engine.module import Context

MODULE = "points"  # the module's name: its playbook key and its ctx.state namespace

__all__ = ["MODULE", "POINTS", "DbLedger", "Entry", "Ledger", "LedgerError", "MemoryLedger", "Standing", "member_key", "standing"]


@dataclass(slots=True, frozen=True)
class Standing:
    """Where a member stands: spendable points and current level (for tiered gates 阶梯群)."""

    points: int
    level: int
    level_name: str


def member_key(member_id: int) -> str:
    """The ctx.state key holding one member's points state (last award, caps, streak, level ...)."""
    return f"m:{member_id}"


def standing(ctx: Context, member_id: int) -> Standing:
    """The member's points (ledger balance) and level (as the points module last set it).

    Without a ledger in the context (no points in this run) everyone stands at 0 points, level 0.
    """
    ledger = getattr(ctx, "ledger", None)
    points = ledger.balance(member_id) if ledger is not None else 0
    record = ctx.state.get(MODULE, member_key(member_id)) or {}
    return Standing(points=points, level=int(record.get("lv", 0)), level_name=str(record.get("ln", "")))
