"""Merging two members' referral records (``shequn members merge``).

Referral state names members everywhere (see ``referral.book``): who invited whom, each inviter's
invitees and counts, the clocks waiting to vest an invite, the names used to attribute joins. After a
merge every one of those names the kept member, so no invite can later vest points to a member that no
longer exists. Outcomes:

- invites the merged member made become the kept member's (their invitees, counts and points);
- how the person was invited: the earlier attribution stays (only the first counts); a later one that
  is still pending is voided and its promised points taken back;
- an invite between the two accounts becomes a self-invite: if still pending it is voided (points taken
  back); if it already vested, the points stay where they are — an operator who sees farming takes them
  back with ``shequn points adjust`` (the ledger keeps the reason).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from shequn.engine.state import DbState
from shequn.modules.referral import PENDING_ACCOUNT
from shequn.points.ledger import DbLedger
from shequn.referral.book import MODULE
from shequn.store.directory import now_ms
from shequn.store.tables import module_state, points_transactions


def absorb_member(conn: Connection, community_id: int, keep: int, other: int) -> None:
    """Rewrite every referral record that names ``other`` to name ``keep`` (see the module docstring)."""
    st = DbState(conn, community_id)
    rows = conn.execute(
        select(module_state.c.key, module_state.c.value).where(module_state.c.community_id == community_id, module_state.c.module == MODULE)
    ).all()
    now = now_ms()
    for key, value in rows:
        if key.startswith("inv:") and isinstance(value, dict) and value.get("by") == other:
            st.set(MODULE, key, {**value, "by": keep})
        elif key.startswith("kids:") and other in (value or ()):
            st.set(MODULE, key, list(dict.fromkeys(keep if m == other else m for m in value)))
        elif key.startswith("name:") and value == other:
            st.set(MODULE, key, keep)
        elif key in ("waiting", "silent") and value:
            st.set(MODULE, key, [[due, keep if m == other else m] for due, m in value])
        elif key == "inviters" and other in (value or ()):
            st.set(MODULE, key, list(dict.fromkeys(keep if m == other else m for m in value)))
    _merge_inviter(st, keep, other)
    _merge_invitee(st, keep, other, now)


def _merge_inviter(st, keep: int, other: int) -> None:
    """The merged member's invitees and counts become the kept member's."""
    kids = st.get(MODULE, f"kids:{other}")
    if kids is not None:
        both = (st.get(MODULE, f"kids:{keep}") or []) + kids
        st.set(MODULE, f"kids:{keep}", list(dict.fromkeys(both)))
        st.delete(MODULE, f"kids:{other}")
    mine = st.get(MODULE, f"kids:{keep}")
    if mine and keep in mine:  # one account had invited the other: nobody is their own invitee
        st.set(MODULE, f"kids:{keep}", [k for k in mine if k != keep])
    stats = st.get(MODULE, f"stats:{other}")
    if stats is not None:
        mine = st.get(MODULE, f"stats:{keep}") or {}
        st.set(MODULE, f"stats:{keep}", {k: mine.get(k, 0) + stats.get(k, 0) for k in set(mine) | set(stats)})
        st.delete(MODULE, f"stats:{other}")


def _merge_invitee(st, keep: int, other: int, now: int) -> None:
    """How the person was invited: one attribution. The kept member's own stays if it has one (the
    referral module keys an invite's postings by its invitee, so a record never changes member); else the
    merged account's moves over. A pending invite that does not stay is voided, and so is a pending
    invite that has become a self-invite."""
    mine, theirs = st.get(MODULE, f"inv:{keep}"), st.get(MODULE, f"inv:{other}")
    rec_keep, rec_other = st.get(MODULE, f"m:{keep}"), st.get(MODULE, f"m:{other}")
    st.delete(MODULE, f"inv:{other}")
    st.delete(MODULE, f"m:{other}")
    if mine is not None and theirs is not None and theirs.get("status") == "pending":
        _void(st, other, theirs, now, f"the account was merged into member {keep}, who has an invite of their own; only one invite counts")
        if theirs["by"] != mine.get("by"):  # that inviter's tree no longer holds this person
            kids = st.get(MODULE, f"kids:{theirs['by']}") or []
            st.set(MODULE, f"kids:{theirs['by']}", [k for k in kids if k != keep])
    stay, invitee, came_from = (mine, keep, rec_keep) if mine is not None else (theirs, other, rec_other)
    record = dict(rec_keep or rec_other or {})
    if rec_keep and rec_other:
        record["s"] = min(rec_keep.get("s", 0), rec_other.get("s", 0))
    record["p"] = 0
    if stay is not None:
        if stay.get("status") == "pending" and stay.get("by") == keep:
            _void(st, invitee, stay, now, "self-invite: the inviter and the invitee were merged into one member")
        elif stay.get("status") == "pending":
            record["p"] = (came_from or {}).get("p", 0)
        st.set(MODULE, f"inv:{keep}", stay)
    if record:
        st.set(MODULE, f"m:{keep}", record)


def _void(st, invitee: int, inv: dict, now: int, why: str) -> None:
    """Close a pending invite as void, as the referral module does: counts move, the promised points go back."""
    inv.update(status="void", why=why, closed=now)
    by = inv["by"]
    stats = st.get(MODULE, f"stats:{by}") or {}
    stats["pending"] = stats.get("pending", 0) - 1
    stats["void"] = stats.get("void", 0) + 1
    st.set(MODULE, f"stats:{by}", stats)
    promised = _promised(st, f"ref:pending:{invitee}")
    if promised:
        DbLedger(st.conn, st.community_id).post(
            member_id=by, amount=-promised, rule="referral.void", key=f"ref:merge-void:{invitee}", at_ms=now, account=PENDING_ACCOUNT,
            counter="referral", reason=f"invite of member {invitee} void: {why}",
        )


def _promised(st, key: str) -> int:
    """What the pending posting of this invite promised (the playbook may have changed since)."""
    t = points_transactions
    amount = st.conn.execute(select(t.c.amount).where(t.c.community_id == st.community_id, t.c.key == key)).scalar()
    return int(amount or 0)
