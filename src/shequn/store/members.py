"""Members and their identities. One person may hold several platform accounts (identities); an
operator merges them into one member or splits one back out. Events point at identities, so a
merge or split never rewrites history: it only moves an identity to another member.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import orjson
from sqlalchemy import Connection, func, select, text

from shequn.domain.events import Author
from shequn.store.directory import now_ms
from shequn.store.tables import events, identities, member_roles, member_tags, members, metadata


MAX_TEXT_KEY = 500  # column size of identities.external_id / display_name


class MemberError(ValueError):
    """An operator asked for something about members that cannot be done (unknown id, wrong community)."""


class IdentityResolver:
    """Maps (platform, account id) to identity ids, creating identity + member rows for newcomers.

    Resolves in batches so that an import of millions of events makes one round trip per batch.
    """

    def __init__(self, conn: Connection, community_id: int):
        self.conn = conn
        self.community_id = community_id
        self._cache: dict[tuple[str, str], int] = {}

    def resolve_many(self, platform: str, authors: Iterable[Author]) -> None:
        missing: dict[str, Author] = {}
        for a in authors:
            if (platform, a.external_id) not in self._cache and a.external_id not in missing:
                missing[a.external_id] = a
        if not missing:
            return
        stored_as = {self._db_text(k): k for k in missing}  # database spelling -> source spelling
        for identity_id, external_id in self._stored(platform, list(stored_as)):
            original = stored_as[external_id]
            self._cache[(platform, original)] = identity_id
            missing.pop(original, None)
        if missing:
            self._create_many(platform, list(missing.values()))

    def get(self, platform: str, external_id: str) -> int:
        return self._cache[(platform, external_id)]

    def _stored(self, platform: str, external_ids: list[str]) -> list[tuple[int, str]]:
        """(identity id, account id) of the accounts already stored, in one statement whatever their number:
        the list travels as one JSON (SQLite) or array (PostgreSQL) parameter, so there is no limit on
        bound variables and nothing to recompile per batch size."""
        if self.conn.dialect.name == "sqlite":
            sql = (
                "SELECT id, external_id FROM identities WHERE community_id = ? AND platform = ? "
                "AND external_id IN (SELECT value FROM json_each(?))"
            )
            cur = self.conn.connection.driver_connection.cursor()
            try:
                return cur.execute(sql, (self.community_id, platform, orjson.dumps(external_ids).decode())).fetchall()
            finally:
                cur.close()
        rows = self.conn.execute(
            text("SELECT id, external_id FROM identities WHERE community_id = :c AND platform = :p AND external_id = ANY(:ids)"),
            {"c": self.community_id, "p": platform, "ids": external_ids},
        )
        return [tuple(r) for r in rows]

    @property
    def known(self) -> dict[tuple[str, str], int]:
        """(platform, account id) -> identity id for every account resolved so far (read-only use)."""
        return self._cache

    def _db_text(self, value: str) -> str:
        """What the database stores for an account id or name: at most 500 characters (a longer one
        keeps a hash of the rest, so two long ids never collide), and on PostgreSQL, which cannot hold
        U+0000 in text (hostile names carry it), U+FFFD instead."""
        if len(value) > MAX_TEXT_KEY:
            value = value[: MAX_TEXT_KEY - 17] + "~" + hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return value.replace("\x00", "\ufffd") if self.conn.dialect.name == "postgresql" else value

    def _create_many(self, platform: str, authors: list[Author]) -> None:
        """One new member per new identity."""
        created = now_ms()
        originals = authors
        authors = [Author(self._db_text(a.external_id), self._db_text(a.name) if a.name else None, a.is_bot) for a in authors]
        if self.conn.dialect.name == "sqlite":
            self._create_many_sqlite(platform, originals, authors, created)
            return
        names = [a.name or a.external_id for a in authors]
        member_ids = self.conn.execute(
            members.insert().returning(members.c.id, sort_by_parameter_order=True),
            [{"community_id": self.community_id, "display_name": n, "created_ms": created} for n in names],
        ).scalars().all()
        identity_ids = self.conn.execute(
            identities.insert().returning(identities.c.id, sort_by_parameter_order=True),
            [
                {
                    "community_id": self.community_id,
                    "platform": platform,
                    "external_id": a.external_id,
                    "display_name": n,
                    "is_bot": a.is_bot,
                    "member_id": m,
                }
                for a, n, m in zip(authors, names, member_ids, strict=True)
            ],
        ).scalars().all()
        for a, i in zip(originals, identity_ids, strict=True):
            self._cache[(platform, a.external_id)] = i


    def _create_many_sqlite(self, platform: str, originals: list[Author], authors: list[Author], created: int) -> None:
        """Two executemany calls through the driver (SQLAlchemy's per-row overhead would dominate a big
        import). SQLite cannot return the ids of a multi-row insert, but once our insert has run we hold
        the database's write lock until commit, and rowids were handed out one after another above the
        previous maximum: so the new ids are the last ``len(authors)`` up to the current maximum."""
        cur = self.conn.connection.driver_connection.cursor()
        try:
            names = [a.name or a.external_id for a in authors]
            cur.executemany(_SQLITE_NEW_MEMBER, [(self.community_id, n, created) for n in names])
            last_member = cur.execute("SELECT max(id) FROM members").fetchone()[0]
            member_ids = range(last_member - len(names) + 1, last_member + 1)
            cur.executemany(
                _SQLITE_NEW_IDENTITY,
                [(self.community_id, platform, a.external_id, n, a.is_bot, m) for a, n, m in zip(authors, names, member_ids, strict=True)],
            )
            last_identity = cur.execute("SELECT max(id) FROM identities").fetchone()[0]
        finally:
            cur.close()
        first = last_identity - len(originals) + 1
        for i, original in enumerate(originals):
            self._cache[(platform, original.external_id)] = first + i


_SQLITE_NEW_MEMBER = "INSERT INTO members (community_id, display_name, created_ms) VALUES (?, ?, ?)"
_SQLITE_NEW_IDENTITY = (
    "INSERT INTO identities (community_id, platform, external_id, display_name, is_bot, member_id) VALUES (?, ?, ?, ?, ?, ?)"
)


def _member_community(conn: Connection, member_id: int) -> int:
    cid = conn.execute(select(members.c.community_id).where(members.c.id == member_id)).scalar()
    if cid is None:
        raise MemberError(f"no member with id {member_id}")
    return cid


def merge_members(conn: Connection, keep: int, others: Iterable[int]) -> int:
    """Move everything of ``others`` onto ``keep`` and delete them; return identities moved.

    Runs in the caller's transaction (all or nothing). Identities, roles and tags move here; points
    (ledger lines, balances, points state), lottery entries and referral records move through their
    capabilities (``_capabilities``), which know how two members' rows combine; then every other column
    that references members.id (actions, mall redemptions ...) is re-pointed, found from the schema so a
    new table cannot be forgotten.
    """
    community = _member_community(conn, keep)
    moved = 0
    for other in others:
        if other == keep:
            continue
        if _member_community(conn, other) != community:
            raise MemberError(f"member {other} belongs to another community than member {keep}")
        moved += conn.execute(identities.update().where(identities.c.member_id == other).values(member_id=keep)).rowcount
        have_tags = set(conn.execute(select(member_tags.c.tag).where(member_tags.c.member_id == keep)).scalars())
        for tag_row in conn.execute(select(member_tags).where(member_tags.c.member_id == other)).mappings().all():
            if tag_row["tag"] not in have_tags:
                conn.execute(member_tags.update().where(member_tags.c.id == tag_row["id"]).values(member_id=keep))
        conn.execute(member_tags.delete().where(member_tags.c.member_id == other))
        have_roles = set(conn.execute(select(member_roles.c.group_id, member_roles.c.role).where(member_roles.c.member_id == keep)))
        for role_row in conn.execute(select(member_roles).where(member_roles.c.member_id == other)).mappings().all():
            if (role_row["group_id"], role_row["role"]) not in have_roles:
                conn.execute(member_roles.update().where(member_roles.c.id == role_row["id"]).values(member_id=keep))
        conn.execute(member_roles.delete().where(member_roles.c.member_id == other))
        handled = {identities, member_tags, member_roles}
        for capability in _capabilities():
            capability.absorb_member(conn, community, keep, other)
            handled.update(getattr(capability, "HANDLES", ()))
        for column in member_references():
            if column.table not in handled:
                conn.execute(column.table.update().where(column == other).values({column.name: keep}))
        conn.execute(members.delete().where(members.c.id == other))
    return moved


def _capabilities():
    """Capabilities whose rows about a member cannot simply be re-pointed (a balance per member, an
    entry number per member, state keyed by member id). Referral first: voiding an invite posts to the
    ledger, whose lines the points step then moves. Imported here: the store does not depend on them."""
    from shequn.lottery import merge as lottery
    from shequn.points import merge as points
    from shequn.referral import merge as referral

    return (referral, points, lottery)


def member_references() -> list:
    """Every column of the schema with a foreign key to members.id."""
    return [
        col
        for table in metadata.sorted_tables
        for col in table.columns
        if any(fk.column is members.c.id for fk in col.foreign_keys)
    ]


def split_identity(conn: Connection, identity_id: int) -> int:
    """Give one identity a member of its own again; return the new member's id.

    Everything else stays with the original member — points, their history and state, redemptions,
    lottery entries, invites: they belong to the person, and nothing tells which account earned what.
    The new member starts from zero."""
    row = conn.execute(select(identities).where(identities.c.id == identity_id)).mappings().first()
    if row is None:
        raise MemberError(f"no identity with id {identity_id}")
    siblings = conn.execute(select(func.count()).where(identities.c.member_id == row["member_id"])).scalar_one()
    if siblings < 2:
        raise MemberError(f"identity {identity_id} is already its member's only identity; nothing to split")
    new_member = conn.execute(
        members.insert().values(community_id=row["community_id"], display_name=row["display_name"], created_ms=now_ms())
    ).inserted_primary_key[0]
    conn.execute(identities.update().where(identities.c.id == identity_id).values(member_id=new_member))
    return new_member


def add_tag(conn: Connection, member_id: int, tag: str, source: str = "operator") -> bool:
    """Tag a member; return False if the tag was already there."""
    _member_community(conn, member_id)
    exists = conn.execute(select(member_tags.c.id).where(member_tags.c.member_id == member_id, member_tags.c.tag == tag)).first()
    if exists:
        return False
    conn.execute(member_tags.insert().values(member_id=member_id, tag=tag, source=source, created_ms=now_ms()))
    return True


def remove_tag(conn: Connection, member_id: int, tag: str) -> bool:
    """Untag a member; return False if the tag was not there."""
    _member_community(conn, member_id)
    return conn.execute(member_tags.delete().where(member_tags.c.member_id == member_id, member_tags.c.tag == tag)).rowcount > 0


def set_role(conn: Connection, member_id: int, role: str, group_id: int | None = None) -> bool:
    """Give a member a role in one group (or community-wide with ``group_id=None``); False if held already."""
    _member_community(conn, member_id)
    same_group = member_roles.c.group_id.is_(None) if group_id is None else member_roles.c.group_id == group_id
    exists = conn.execute(
        select(member_roles.c.id).where(member_roles.c.member_id == member_id, member_roles.c.role == role, same_group)
    ).first()
    if exists:
        return False
    conn.execute(member_roles.insert().values(member_id=member_id, role=role, group_id=group_id))
    return True


def member_overview(conn: Connection, member_id: int) -> dict:
    """Everything an operator wants on one screen: names, identities, roles, tags, event counts."""
    m = conn.execute(select(members).where(members.c.id == member_id)).mappings().first()
    if m is None:
        raise MemberError(f"no member with id {member_id}")
    ids = conn.execute(select(identities).where(identities.c.member_id == member_id).order_by(identities.c.id)).mappings().all()
    counts = dict(
        conn.execute(
            select(events.c.kind, func.count())
            .where(events.c.identity_id.in_([i["id"] for i in ids] or [-1]))
            .group_by(events.c.kind)
        ).all()
    )
    return {
        "id": m["id"],
        "name": m["display_name"],
        "identities": [
            {"id": i["id"], "platform": i["platform"], "account": i["external_id"], "name": i["display_name"], "bot": bool(i["is_bot"])}
            for i in ids
        ],
        "roles": [
            {"role": r.role, "group_id": r.group_id}
            for r in conn.execute(select(member_roles.c.role, member_roles.c.group_id).where(member_roles.c.member_id == member_id))
        ],
        "tags": sorted(conn.execute(select(member_tags.c.tag).where(member_tags.c.member_id == member_id)).scalars()),
        "events": counts,
    }


def members_named(conn: Connection, community_id: int, name: str) -> list[int]:
    """Ids of the members (sorted) whose display name, or any identity's account or name, equals ``name``."""
    by_identity = select(identities.c.member_id).where(
        identities.c.community_id == community_id, (identities.c.external_id == name) | (identities.c.display_name == name)
    )
    by_member = select(members.c.id).where(members.c.community_id == community_id, members.c.display_name == name)
    return sorted(set(conn.execute(by_identity).scalars()) | set(conn.execute(by_member).scalars()))


def find_members(conn: Connection, community_id: int, name: str) -> list[dict]:
    """Members whose display name or any identity's account or name equals ``name``."""
    return [member_overview(conn, mid) for mid in members_named(conn, community_id, name)]


MAX_MEMBER_ID = 2**31  # a bigger number is an account (QQ, Telegram ids), never a row id


def as_member_id(who: str) -> int | None:
    """``who`` as a member row id if it could be one (plain ASCII digits below MAX_MEMBER_ID), else None."""
    who = who.strip()
    return int(who) if who.isascii() and who.isdigit() and int(who) < MAX_MEMBER_ID else None


def resolve_member(conn: Connection, community_id: int, who: str, show=str) -> int:
    """The one member an operator means by ``who``: a member id of this community, else an account or a
    display name. A name several members share is an error that lists them (id, name, accounts), so the
    operator can pick the id. ``show`` formats names from chat platforms for the operator's screen."""
    who = who.strip()
    number = as_member_id(who)
    if number is not None:
        cid = conn.execute(select(members.c.community_id).where(members.c.id == number)).scalar()
        if cid == community_id:
            return number
    ids = members_named(conn, community_id, who)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        if number is not None:
            raise MemberError(f"no member with id {number} in this community (and no account or name {number})")
        raise MemberError(f"no member named {show(who)} (give a member id, an account or a display name)")
    raise MemberError(f"{show(who)} matches {len(ids)} members: {'; '.join(_candidate(conn, m, show) for m in ids[:20])}; give the member id")


def _candidate(conn: Connection, member_id: int, show) -> str:
    name = conn.execute(select(members.c.display_name).where(members.c.id == member_id)).scalar_one()
    accounts = conn.execute(
        select(identities.c.platform, identities.c.external_id).where(identities.c.member_id == member_id).order_by(identities.c.id).limit(3)
    ).all()
    return f"{member_id} {show(name)} ({', '.join(f'{p}:{show(a)}' for p, a in accounts)})"


__all__ = [
    "IdentityResolver", "MemberError", "merge_members", "split_identity", "add_tag", "remove_tag", "set_role", "member_overview", "find_members",
    "members_named", "resolve_member", "member_references", "as_member_id",
]
