"""Which member an operator means on the command line: a member id, an account or a display name.

One resolution for every command (``store.members.resolve_member``); this only turns its errors into
clean CLI errors, with names from chat platforms made safe for the terminal.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from shequn.cli.context import fail
from shequn.mall.who import safe_text
from shequn.store.members import MAX_MEMBER_ID, MemberError, resolve_member
from shequn.store.tables import members


def member_id(conn: Connection, community_id: int, who: str) -> int:
    """The member ``who`` names in the community; a clear error (listing candidates with their ids) otherwise."""
    try:
        return resolve_member(conn, community_id, who, show=safe_text)
    except MemberError as exc:
        raise fail(str(exc)) from None


def community_of(conn: Connection, who: str) -> int | None:
    """The community of the member with id ``who``, if ``who`` is one (lets a bare id work without --community)."""
    who = who.strip()
    if not (who.isascii() and who.isdigit() and int(who) < MAX_MEMBER_ID):
        return None
    return conn.execute(select(members.c.community_id).where(members.c.id == int(who))).scalar()
