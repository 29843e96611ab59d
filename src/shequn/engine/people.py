"""Members' roles and tags as modules see them (``ctx.people``).

Rules exempt admins, gates store the parts of a self-introduction as tags, lurker policies skip
tagged VIPs: modules need to read roles and tags and to add tags. Live, that is the store, written in
the event's transaction (``StorePeople``); in a backtest it is the store read once plus an in-memory
overlay (``OverlayPeople``), so a replay sees the tags it would have added and live data never changes.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection, select

from shequn.store.members import add_tag as store_add_tag
from shequn.store.tables import member_roles, member_tags, members


class People(Protocol):
    def roles(self, member_id: int, group_id: int | None = None) -> frozenset[str]:
        """Roles held community-wide plus those held in ``group_id``."""
        ...

    def tags(self, member_id: int) -> frozenset[str]: ...

    def add_tag(self, member_id: int, tag: str, source: str) -> bool:
        """Tag a member; False if the tag was there already."""
        ...


class StorePeople:
    """Live: reads and writes the member tables in the caller's transaction."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def roles(self, member_id: int, group_id: int | None = None) -> frozenset[str]:
        q = select(member_roles.c.role).where(member_roles.c.member_id == member_id)
        q = q.where(member_roles.c.group_id.is_(None) if group_id is None else (member_roles.c.group_id.is_(None) | (member_roles.c.group_id == group_id)))
        return frozenset(self.conn.execute(q).scalars())

    def tags(self, member_id: int) -> frozenset[str]:
        return frozenset(self.conn.execute(select(member_tags.c.tag).where(member_tags.c.member_id == member_id)).scalars())

    def add_tag(self, member_id: int, tag: str, source: str) -> bool:
        return store_add_tag(self.conn, member_id, tag, source)


class OverlayPeople:
    """Backtest: every role and tag of the community read once, tags added in memory only."""

    def __init__(self, conn: Connection | None = None, community_id: int | None = None):
        self._roles: dict[int, list[tuple[int | None, str]]] = {}
        self._tags: dict[int, set[str]] = {}
        self.added: dict[int, dict[str, str]] = {}  # member -> tag -> source, what the replay would have tagged
        if conn is None:
            return
        mine = select(members.c.id).where(members.c.community_id == community_id)
        for row in conn.execute(select(member_roles.c.member_id, member_roles.c.group_id, member_roles.c.role).where(member_roles.c.member_id.in_(mine))):
            self._roles.setdefault(row.member_id, []).append((row.group_id, row.role))
        for row in conn.execute(select(member_tags.c.member_id, member_tags.c.tag).where(member_tags.c.member_id.in_(mine))):
            self._tags.setdefault(row.member_id, set()).add(row.tag)

    def set_role(self, member_id: int, role: str, group_id: int | None = None) -> None:
        """For tests and what-if runs: a role that exists only in this replay."""
        self._roles.setdefault(member_id, []).append((group_id, role))

    def roles(self, member_id: int, group_id: int | None = None) -> frozenset[str]:
        return frozenset(r for g, r in self._roles.get(member_id, ()) if g is None or g == group_id)

    def tags(self, member_id: int) -> frozenset[str]:
        return frozenset(self._tags.get(member_id, ()))

    def add_tag(self, member_id: int, tag: str, source: str) -> bool:
        have = self._tags.setdefault(member_id, set())
        if tag in have:
            return False
        have.add(tag)
        self.added.setdefault(member_id, {})[tag] = source
        return True
