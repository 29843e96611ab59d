"""Merging two members' points (``shequn members merge``): one person, one account of points.

The ledger stays double-entry and keeps every line: the merged member's transactions and entries are
re-pointed to the kept member unchanged (same keys, rules, reasons, events), so the history of the kept
member shows all of them and every transaction still has two entries summing to zero. Balances are
derived — the sum of a member's entries — so the kept member's balance after the merge is the sum of
both: each of the merged member's balance rows is *added* to the kept member's row (an additive upsert,
safe beside a concurrent spend, which waits for the row lock) and then removed. ``check_ledger`` holds
afterwards exactly as before.

The points module's per-member state (cooldown, daily cap, check-in streak, badges, expiry lots ...)
is combined too, so a merge neither pays twice (a second check-in the same day, a second
self-introduction award) nor loses points from expiry. The level is recomputed from the combined
earned points at the member's next event.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from shequn.engine.state import DbState
from shequn.points import MODULE, member_key
from shequn.points.config import TIERS
from shequn.points.ledger import add_to_balance
from shequn.store.tables import module_state, points_balances, points_entries, points_transactions

HANDLES = (points_transactions, points_entries, points_balances)  # the merge's generic sweep leaves these to absorb_member


def absorb_member(conn: Connection, community_id: int, keep: int, other: int) -> int:
    """Move ``other``'s points, history and points state onto ``keep``; return transactions moved."""
    t, e, b = points_transactions, points_entries, points_balances
    theirs = select(t.c.id).where(t.c.community_id == community_id, t.c.member_id == other)  # by index, not a scan of all entries
    conn.execute(e.update().where(e.c.transaction_id.in_(theirs), e.c.member_id == other).values(member_id=keep))
    moved = conn.execute(
        t.update().where(t.c.community_id == community_id, t.c.member_id == other).values(member_id=keep)
    ).rowcount
    rows = conn.execute(
        select(b.c.account, b.c.balance, b.c.earned).where(b.c.community_id == community_id, b.c.member_id == other)
    ).all()
    for r in rows:
        add_to_balance(conn, community_id, keep, r.account, int(r.balance), int(r.earned))
    conn.execute(b.delete().where(b.c.community_id == community_id, b.c.member_id == other))
    _absorb_state(conn, community_id, keep, other)
    return moved


# --- module state -------------------------------------------------------------------------------


def _state_rows(conn: Connection, community_id: int, prefix: str):
    s = module_state
    return conn.execute(
        select(s.c.key, s.c.value).where(s.c.community_id == community_id, s.c.module == MODULE, s.c.key.startswith(prefix, autoescape=True))
    ).all()


def _absorb_state(conn: Connection, community_id: int, keep: int, other: int) -> None:
    st = DbState(conn, community_id)
    mine, theirs = st.get(MODULE, member_key(keep)), st.get(MODULE, member_key(other))
    if theirs is not None:
        st.set(MODULE, member_key(keep), combine_records(mine or {}, theirs))
        st.delete(MODULE, member_key(other))
    # members scheduled for an expiry or trust-window sweep on some day
    for prefix in ("exp:", "win:"):
        for key, members in _state_rows(conn, community_id, prefix):
            if other in (members or ()):
                st.set(MODULE, key, list(dict.fromkeys(keep if m == other else m for m in members)))
    # open questions (first-answer task): the asker of each
    for key, book in _state_rows(conn, community_id, "q:"):
        changed = False
        for q in (book or {}).get("open", {}).values():
            if q[0] == other:
                q[0], changed = keep, True
        if changed:
            st.set(MODULE, key, book)


def _by_day(a: list | None, b: list | None) -> list:
    days: dict[int, int] = {}
    for day, amount in (a or []) + (b or []):
        days[day] = days.get(day, 0) + amount
    return [[d, days[d]] for d in sorted(days)]


def combine_records(mine: dict, theirs: dict) -> dict:
    """The points state of one person who had two members. Why each field combines as it does:

    - cooldown (``la``): the later of the two last awards — the contract's "last awarded message" of the person;
    - daily cap (``dd``/``de``): the same local day adds up (no double cap); otherwise the later day's count;
    - check-ins: the later check-in day with its streak (a second check-in that day earns nothing), the best
      streak and the larger stock of make-up cards of either, the check-in counts add up;
    - counts (answers, messages) add up; self-introduction was paid if either was paid;
    - badges: the higher tier of each; expiry lots and trust activity: per day, added;
    - level: dropped, so the points module recomputes it from the combined earned points at the next event.
    """
    out = {**theirs, **mine}  # fields not named below (last promotion ...): the kept member's, else the other's
    if "la" in theirs:
        out["la"] = max(mine.get("la", theirs["la"]), theirs["la"])
    if "dd" in theirs:
        if mine.get("dd") == theirs["dd"]:
            out["de"] = mine.get("de", 0) + theirs.get("de", 0)
        elif mine.get("dd") is None or theirs["dd"] > mine["dd"]:
            out["dd"], out["de"] = theirs["dd"], theirs.get("de", 0)
    if "cd" in theirs and (mine.get("cd") is None or theirs["cd"] > mine["cd"] or (theirs["cd"] == mine["cd"] and theirs.get("st", 0) > mine.get("st", 0))):
        out["cd"], out["st"] = theirs["cd"], theirs.get("st", 0)
    for field in ("bs", "mc"):
        if field in theirs:
            out[field] = max(mine.get(field, 0), theirs[field])
    for field in ("ci", "an", "ms"):
        if field in theirs:
            out[field] = mine.get(field, 0) + theirs[field]
    if theirs.get("in"):
        out["in"] = 1
    if theirs.get("fp"):
        out["fp"] = list(dict.fromkeys((mine.get("fp") or []) + theirs["fp"]))
    if theirs.get("bd"):
        held = dict(mine.get("bd") or {})
        for name, badge in theirs["bd"].items():
            if name not in held or TIERS.index(badge[0]) > TIERS.index(held[name][0]):
                held[name] = badge
        out["bd"] = held
    for field in ("lots", "act"):
        if theirs.get(field):
            out[field] = _by_day(mine.get(field), theirs[field])
    out["lv"] = max(mine.get("lv", 0), theirs.get("lv", 0))
    out.pop("ln", None)
    return out
