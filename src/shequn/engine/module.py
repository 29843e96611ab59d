"""The module (plugin) API. Built-in capabilities use exactly this API; so can a third-party package.

A module is a class with:

- ``name``: the playbook key that enables and configures it (``welcome:`` → module ``welcome``);
- ``Config``: a pydantic model for that playbook section (unknown keys are errors);
- ``__init__(self, config, playbook)``;
- ``on_event(self, event, ctx) -> Iterable[Action]``: called for every event, in time order, in the
  transaction that stores the event. Return the actions to take; each names its rule and reason.
- optionally ``on_tick(self, now_ms, ctx) -> Iterable[Action]``: called by the clock (timeouts such as
  "introduce yourself within 24 h").
- optionally ``member_summary(self, ctx) -> Mapping[int, Mapping[str, Any]]``: after a backtest, the
  fields this module adds to each member's entry (member id -> e.g. ``{"points": 12, "level": 1}``).
- optionally ``partition_safe(self) -> bool``: True if, as configured, the module reads and writes
  only the state of the event's own member (no state shared between members, nothing time-driven),
  so a long backtest may replay members in separate processes and merge the results. Default False.

Modules keep their state in ``ctx.state`` (never in attributes), so the same code runs live against
the database and in a backtest against a throwaway in-memory store.

Publish a module with an entry point in group ``shequn.modules``::

    [project.entry-points."shequn.modules"]
    welcome = "shequn.modules.welcome:WelcomeModule"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel

from shequn.domain.actions import Action
from shequn.domain.events import StoredEvent

if TYPE_CHECKING:
    from shequn.engine.people import People
    from shequn.points.ledger import Ledger
    from shequn.engine.state import StateStore
    from shequn.playbook.schema import Playbook


@dataclass(slots=True)
class Context:
    """What a module may use while handling one event."""

    community_id: int
    timezone: str
    now_ms: int
    state: StateStore
    sandbox: bool  # True in a backtest: nothing will be delivered
    people: People | None = None  # members' roles and tags (engine.people): store live, overlay in a backtest
    ledger: Ledger | None = None  # points ledger (shequn.points.ledger): DbLedger live, MemoryLedger in a backtest
    store: Any = None  # a Connection for reading what operators stored (e.g. the learned spam model); None in pure what-if runs


class Module(Protocol):
    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]

    def __init__(self, config: BaseModel, playbook: Playbook) -> None: ...

    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]: ...


class BaseModule:
    """Convenience base: stores config and playbook, and does nothing on ticks."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]]

    def __init__(self, config: BaseModel, playbook: Playbook) -> None:
        self.config = config
        self.playbook = playbook

    def on_event(self, event: StoredEvent, ctx: Context) -> Iterable[Action]:
        return ()

    def on_tick(self, now_ms: int, ctx: Context) -> Iterable[Action]:
        return ()

    def member_summary(self, ctx: Context) -> Mapping[int, Mapping[str, Any]]:
        return {}

    def partition_safe(self) -> bool:
        return False
