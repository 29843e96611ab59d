"""Merging two members' lottery entries and red-packet grabs (``shequn members merge``).

Both members' entries move to the kept member, so nobody loses a chance they already had: in an
open lottery the merged member's entries are numbered after the kept member's, and the per-member
limit applies to new entries (a merged member holding more than the limit cannot enter again). A
drawn lottery's published record never changes — it must verify forever — so its entry list is
frozen into the result first (draws since this version store it at the draw), and winners who were
merged away are shown with ``merged_into`` and the kept member's name.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from shequn.store.tables import lotteries, lottery_entries

HANDLES = (lottery_entries,)  # the merge's generic sweep leaves these to absorb_member


def absorb_member(conn: Connection, community_id: int, keep: int, other: int) -> int:
    """Move ``other``'s entries and grabs onto ``keep``; return entries moved."""
    e, lt = lottery_entries, lotteries
    touched = conn.execute(
        select(lt.c.id, lt.c.kind, lt.c.status, lt.c.result)
        .where(lt.c.community_id == community_id, lt.c.id.in_(select(e.c.lottery_id).where(e.c.member_id == other)))
        .order_by(lt.c.id)
    ).all()
    moved = 0
    for lot in touched:
        if lot.kind == "draw" and lot.status == "drawn":
            result = dict(lot.result or {})
            if "entries" not in result:
                rows = conn.execute(select(e.c.member_id, e.c.member_entry).where(e.c.lottery_id == lot.id)).all()
                result["entries"] = sorted([int(m), int(n)] for m, n in rows)
            earlier = {k: keep if v == other else v for k, v in (result.get("merged") or {}).items()}  # merged twice: follow the chain
            result["merged"] = {**earlier, str(other): keep}
            conn.execute(lt.update().where(lt.c.id == lot.id).values(result=result))
        offset = conn.execute(select(func.coalesce(func.max(e.c.member_entry), 0)).where(e.c.lottery_id == lot.id, e.c.member_id == keep)).scalar_one()
        moved += conn.execute(
            e.update().where(e.c.lottery_id == lot.id, e.c.member_id == other).values(member_id=keep, member_entry=e.c.member_entry + offset)
        ).rowcount
    return moved
