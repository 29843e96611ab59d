"""Hand-made histories for insights tests: a few events whose metrics can be worked out by hand.

``History`` writes through the store's real event writer (identities, members, groups resolved as an
import would), on whichever database the test runs against.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.store.directory import GroupDirectory, ensure_community
from shequn.store.event_writer import EventWriter
from shequn.store.members import IdentityResolver


def at(text: str, tz: str = "UTC") -> datetime:
    """``"2024-03-10 01:30"`` (wall clock in ``tz``) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


class History:
    """Collects events, then ``save()`` stores them and returns the community id."""

    def __init__(self, engine, community: str = "c", tz: str = "UTC", platform: str = "test"):
        self.engine = engine
        self.community = community
        self.tz = tz
        self.platform = platform
        self.events: list[Event] = []

    def add(self, kind: EventKind, group: str, who: str | None, when: str | datetime, *, text=None, reply_to=None,
            bot: bool = False, **payload) -> "History":
        moment = when if isinstance(when, datetime) else at(when, self.tz)
        pid = f"e{len(self.events)}"
        author = Author(who, who, bot) if who is not None else None
        self.events.append(Event(GroupRef(self.platform, group, group), pid, kind, moment.astimezone(timezone.utc), author,
                                 text, reply_to, {k: v for k, v in payload.items() if v is not None}))
        return self

    def msg(self, group, who, when, text="hi", **kw):
        return self.add(EventKind.MESSAGE, group, who, when, text=text, **kw)

    def join(self, group, who, when):
        return self.add(EventKind.JOIN, group, who, when)

    def leave(self, group, who, when):
        return self.add(EventKind.LEAVE, group, who, when)

    def kick(self, group, who, when):
        return self.add(EventKind.KICK, group, who, when)

    def save(self) -> int:
        with self.engine.begin() as conn:
            cid = ensure_community(conn, self.community, self.tz)
            writer = EventWriter(conn, cid, GroupDirectory(conn, cid), IdentityResolver(conn, cid))
            if self.events:
                writer.write(self.events)
        return cid


@pytest.fixture
def history(engine):
    """``history(tz=...)`` -> a History on this test's database (SQLite and PostgreSQL)."""

    def make(community: str = "c", tz: str = "UTC") -> History:
        return History(engine, community, tz)

    return make
