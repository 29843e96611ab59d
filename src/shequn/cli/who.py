"""Which community and which member an operator means on the command line.

Every reading command picks its community the same way (``--community`` by name, else the only one
there is; never created by reading) and its member the same way (a member id, an account or a display
name: ``store.members.resolve_member``); this turns their errors into clean CLI errors, with names from
chat platforms made safe for the terminal.
"""

from __future__ import annotations

from sqlalchemy import Connection, Row, select

from shequn.cli.context import fail
from shequn.mall.who import safe_text
from shequn.store.members import MemberError, as_member_id, resolve_member
from shequn.store.tables import communities, members


def pick_community(conn: Connection, name: str | None) -> Row:
    """(id, name, timezone) of community ``name``, or of the only community when ``name`` is None."""
    rows = conn.execute(select(communities.c.id, communities.c.name, communities.c.timezone).order_by(communities.c.id)).all()
    known = ", ".join(safe_text(repr(r.name)) for r in rows)
    if name is not None:
        for r in rows:
            if r.name == name:
                return r
        raise fail(f"no community named {safe_text(repr(name))}" + (f" (known: {known})" if rows else " (import some history first)"))
    if not rows:
        raise fail("no data yet: import some history first, e.g. shequn import irc path/to/logs --community C")
    if len(rows) > 1:
        raise fail(f"several communities: pick one with --community ({known})")
    return rows[0]


def member_id(conn: Connection, community_id: int, who: str) -> int:
    """The member ``who`` names in the community; a clear error (listing candidates with their ids) otherwise."""
    try:
        return resolve_member(conn, community_id, who, show=safe_text)
    except MemberError as exc:
        raise fail(str(exc)) from None


def community_of(conn: Connection, who: str) -> int | None:
    """The community of the member with id ``who``, if ``who`` is one (lets a bare id work without --community)."""
    number = as_member_id(who)
    if number is None:
        return None
    return conn.execute(select(members.c.community_id).where(members.c.id == number)).scalar()


def pick_member(conn: Connection, who: str, community: str | None) -> tuple[int, int]:
    """(community id, member id) for MEMBER and --community: a bare member id needs no --community;
    an account or name is looked up in --community (default: the only one)."""
    cid = community_of(conn, who) if community is None else None
    if cid is None:
        cid = pick_community(conn, community).id
    return cid, member_id(conn, cid, who)
