"""The outbox: actions are written in the same transaction as the state change that caused them and
delivered afterwards, with retries. A backtest uses a sandbox outbox that only collects them.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from shequn.domain.actions import Action
from shequn.store.directory import now_ms
from shequn.store.tables import actions


class Outbox(Protocol):
    def add(self, community_id: int, action: Action) -> None: ...


class SandboxOutbox:
    """Collects actions in memory; nothing is ever sent."""

    def __init__(self) -> None:
        self.actions: list[Action] = []

    def add(self, community_id: int, action: Action) -> None:
        self.actions.append(action)


class DbOutbox:
    """Writes pending actions to table ``actions`` inside the caller's transaction."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, community_id: int, action: Action) -> None:
        self.conn.execute(
            actions.insert().values(
                community_id=community_id,
                group_id=action.group_id,
                member_id=action.member_id,
                event_id=action.event_id,
                kind=action.kind.value,
                rule=action.rule,
                reason=action.reason,
                payload=action.payload or None,
                created_ms=now_ms(),
            )
        )
