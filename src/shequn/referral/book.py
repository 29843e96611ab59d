"""The referral book: how the referral module keeps invites in ``ctx.state``, and how commands read
them back (tree, leaderboard) from live state or from a replay of stored history.

Keys (module ``referral``): ``inv:<invitee>`` one invite (inviter, time, status, why), ``kids:<inviter>``
the invitees of a member, ``stats:<inviter>`` counts by status, ``inviters`` every member who invited.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MODULE = "referral"
COUNTED = ("pending", "vested")  # an invite in these states is real (not ignored, revoked or void)


@dataclass(frozen=True, slots=True)
class Node:
    member_id: int
    depth: int
    invite: dict | None  # how this member was invited (None for a root)


class Book:
    """Read-only view of referral state (a StateStore: DbState live, MemoryState after a replay)."""

    def __init__(self, state):
        self.state = state

    def invite(self, member_id: int) -> dict | None:
        return self.state.get(MODULE, f"inv:{member_id}")

    def kids(self, member_id: int) -> list[int]:
        return list(self.state.get(MODULE, f"kids:{member_id}") or [])

    def stats(self, member_id: int) -> dict:
        return dict(self.state.get(MODULE, f"stats:{member_id}") or {})

    def inviters(self) -> list[int]:
        return list(self.state.get(MODULE, "inviters") or [])

    def roots(self) -> list[int]:
        """Inviters nobody (countably) invited: the tops of the attribution trees."""
        out = []
        for m in self.inviters():
            if not self.stats(m).get("invites"):
                continue  # only ignored attempts (self-invites ...): not part of any tree
            inv = self.invite(m)
            if inv is None or inv.get("status") not in COUNTED:
                out.append(m)
        return out

    def walk(self, root: int, max_depth: int = 50) -> Iterator[Node]:
        """Depth-first from ``root``; each member once even if the data held a cycle."""
        seen: set[int] = set()
        stack = [(root, 0)]
        while stack:
            member, depth = stack.pop()
            if member in seen:
                continue
            seen.add(member)
            yield Node(member, depth, self.invite(member) if depth else None)
            if depth < max_depth:
                stack.extend((k, depth + 1) for k in reversed(self.kids(member)))

    def depth_below(self, root: int) -> int:
        return max((n.depth for n in self.walk(root)), default=0)

    def leaderboard(self) -> list[dict]:
        """Inviters by vested invites, then by all counted invites; ties by member id."""
        rows = []
        for m in self.inviters():
            s = self.stats(m)
            if not s.get("invites"):
                continue
            rows.append({
                "member_id": m, "vested": s.get("vested", 0), "pending": s.get("pending", 0), "revoked": s.get("revoked", 0),
                "void": s.get("void", 0), "ignored": s.get("ignored", 0), "rewards": s.get("rewards", 0), "points": s.get("points", 0),
            })
        rows.sort(key=lambda r: (-r["vested"], -(r["vested"] + r["pending"]), r["member_id"]))
        return rows
