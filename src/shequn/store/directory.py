"""Communities and groups: find-or-create by name / platform id, with a small in-process cache."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from shequn.domain.community import DEFAULT_TIMEZONE, GroupKind
from shequn.domain.events import GroupRef
from shequn.store.tables import communities, groups


class UnknownTimezone(ValueError):
    pass


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezone(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai or UTC") from exc
    return name


def ensure_community(conn: Connection, name: str, timezone: str | None = None) -> int:
    """Return the community's id, creating it (with the given or default time zone) if new."""
    row = conn.execute(select(communities.c.id, communities.c.timezone).where(communities.c.name == name)).first()
    if row is not None:
        if timezone and timezone != row.timezone:
            conn.execute(communities.update().where(communities.c.id == row.id).values(timezone=check_timezone(timezone)))
        return row.id
    tz = check_timezone(timezone or DEFAULT_TIMEZONE)
    return conn.execute(communities.insert().values(name=name, timezone=tz, created_ms=now_ms())).inserted_primary_key[0]


def community_timezone(conn: Connection, community_id: int) -> str:
    return conn.execute(select(communities.c.timezone).where(communities.c.id == community_id)).scalar_one()


class GroupDirectory:
    """Maps a source's GroupRef to a group row id within one community."""

    def __init__(self, conn: Connection, community_id: int, *, kind: GroupKind | None = None):
        self.conn = conn
        self.community_id = community_id
        self.kind = kind
        self._cache: dict[tuple[str, str], int] = {}

    def resolve(self, ref: GroupRef) -> int:
        if len(ref.external_id) > 500:
            raise ValueError(f"group id longer than 500 characters: {ref.external_id[:60]}...")
        key = (ref.platform, ref.external_id)
        gid = self._cache.get(key)
        if gid is None:
            gid = self._lookup_or_create(ref)
            self._cache[key] = gid
        return gid

    @property
    def known(self) -> dict[tuple[str, str], int]:
        """(platform, group id) -> group row id for every group resolved so far (read-only use)."""
        return self._cache

    def _lookup_or_create(self, ref: GroupRef) -> int:
        row = self.conn.execute(
            select(groups.c.id).where(
                groups.c.community_id == self.community_id,
                groups.c.platform == ref.platform,
                groups.c.external_id == ref.external_id,
            )
        ).first()
        if row is not None:
            return row.id
        values = dict(
            community_id=self.community_id,
            platform=ref.platform,
            external_id=ref.external_id,
            name=(ref.name or ref.external_id)[:500],
            created_ms=now_ms(),
        )
        if self.kind is not None:
            values["kind"] = self.kind.value
        return self.conn.execute(groups.insert().values(**values)).inserted_primary_key[0]
