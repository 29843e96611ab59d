"""Growth test helpers: a community with members (made the way live events make them) and points."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.engine.live import LiveIngest
from shequn.playbook.loader import parse_playbook
from shequn.points.ledger import DbLedger
from shequn.store.tables import communities, identities

GROUP = GroupRef("telegram", "-100", "增长群")


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=timezone.utc)


class Town:
    """A community 'c' on one engine: members by account, points funded through the real ledger."""

    def __init__(self, engine):
        self.engine = engine
        self.live = LiveIngest(engine, parse_playbook("community: c\ntimezone: UTC\n"))
        self._n = 0

    @property
    def cid(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(communities.c.id).where(communities.c.name == "c")).scalar_one()

    def say(self, account: str, name: str | None = None, when: datetime | None = None, kind: EventKind = EventKind.MESSAGE) -> None:
        self._n += 1
        self.live.receive([Event(GROUP, f"e{self._n}", kind, when or at(1), Author(account, name or account), text="hi")])

    def member(self, account: str, name: str | None = None) -> int:
        with self.engine.connect() as conn:
            mid = conn.execute(select(identities.c.member_id).where(identities.c.external_id == account)).scalar()
        if mid is None:
            self.say(account, name)
            return self.member(account)
        return mid

    def fund(self, member_id: int, amount: int) -> None:
        self._n += 1
        with self.engine.begin() as conn:
            DbLedger(conn, self.cid).post(member_id=member_id, amount=amount, rule="test.fund", reason="seed points", key=f"fund:{self._n}", at_ms=0)

    def balance(self, member_id: int) -> int:
        with self.engine.connect() as conn:
            return DbLedger(conn, self.cid).balance(member_id)


@pytest.fixture
def town(engine) -> Town:
    return Town(engine)
