"""Fixtures for the rules, gates and lurker tests.

``make_run(yaml)`` runs a playbook through the real pipeline with the backtest's memory state and
people overlay (exactly what ``shequn backtest`` uses), fed with small hand-made histories: fast, and
every test reads like the story it checks. Live behaviour is tested against SQLite and PostgreSQL in
test_rules_live.py.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shequn.domain.actions import Action
from shequn.domain.events import EventKind, StoredEvent
from shequn.engine.module import Context
from shequn.engine.outbox import SandboxOutbox
from shequn.engine.people import OverlayPeople
from shequn.engine.pipeline import Pipeline
from shequn.engine.state import MemoryState
from shequn.playbook.loader import parse_playbook

T0 = int(datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc).timestamp() * 1000)  # 10:00 in Asia/Shanghai
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


class Run:
    """One playbook, one sandboxed pipeline, a clock that moves only forward."""

    def __init__(self, yaml: str, tz: str = "Asia/Shanghai"):
        self.playbook = parse_playbook(f"community: test\ntimezone: {tz}\n{yaml}")
        self.pipeline = Pipeline(self.playbook)
        self.state = MemoryState()
        self.people = OverlayPeople()
        self.outbox = SandboxOutbox()
        self.ctx = Context(community_id=1, timezone=tz, now_ms=T0, state=self.state, sandbox=True, people=self.people)
        self.now = T0
        self._ids = 0
        self._groups: dict[str, int] = {}

    def group_id(self, name: str) -> int:
        return self._groups.setdefault(name, len(self._groups) + 1)

    def at(self, ms: int) -> Run:
        assert ms >= self.now, "the clock only moves forward"
        self.now = ms
        return self

    def later(self, ms: int) -> Run:
        return self.at(self.now + ms)

    def send(self, text: str | None = None, *, member: int = 1, kind: str = "message", group: str = "g1",
             name: str | None = None, payload: dict | None = None, at: int | None = None) -> list[Action]:
        """Deliver one event at the current time (or ``at``); return the actions it caused (ticks included)."""
        if at is not None:
            self.at(at)
        self._ids += 1
        ev = StoredEvent(
            id=self._ids, community_id=1, group_id=self.group_id(group), group_name=group, platform="test",
            platform_id=f"m{self._ids}", kind=EventKind(kind), at_ms=self.now, identity_id=member, member_id=member,
            member_name=name or f"member{member}", text=text, reply_to=None, payload=payload or {},
        )
        self.ctx.now_ms = self.now
        return self.pipeline.tick(self.now, self.ctx, self.outbox) + self.pipeline.handle(ev, self.ctx, self.outbox)

    def tick(self, at: int | None = None) -> list[Action]:
        if at is not None:
            self.at(at)
        self.ctx.now_ms = self.now
        return self.pipeline.tick(self.now, self.ctx, self.outbox)

    def summary(self) -> dict:
        return self.pipeline.member_summary(self.ctx)


@pytest.fixture
def make_run():
    return Run


def kinds(actions: list[Action]) -> list[str]:
    return [a.kind.value for a in actions]
