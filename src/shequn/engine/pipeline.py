"""The pipeline: an event goes through every module the playbook enables; their actions go to the outbox.

The pipeline itself is storage-agnostic: live ingestion (``engine.live``) gives it database state and
the database outbox inside one transaction, a backtest (``engine.backtest``) gives it memory state
and a sandbox outbox. There is no second implementation of any rule.
"""

from __future__ import annotations

from shequn.domain.actions import Action
from shequn.engine.module import BaseModule, Context, StoredEvent
from shequn.engine.outbox import Outbox
from shequn.engine.registry import available_modules
from shequn.playbook.schema import Playbook


class Pipeline:
    def __init__(self, playbook: Playbook):
        self.playbook = playbook
        registry = available_modules()
        self.modules = [registry[name](config, playbook) for name, config in playbook.modules.items()]
        # Only modules that really implement on_tick are woken by the clock (BaseModule's does nothing).
        self._tickers = [
            m for m in self.modules if callable(getattr(m, "on_tick", None)) and getattr(type(m), "on_tick", None) is not BaseModule.on_tick
        ]

    def handle(self, event: StoredEvent, ctx: Context, outbox: Outbox) -> list[Action]:
        """Run one event through every module; return (and outbox) the actions they asked for."""
        emitted: list[Action] = []
        for module in self.modules:
            for action in module.on_event(event, ctx) or ():
                if action.group_id is None:
                    action.group_id = event.group_id
                if action.event_id is None:
                    action.event_id = event.id
                outbox.add(ctx.community_id, action)
                emitted.append(action)
        return emitted

    def partition_safe(self) -> bool:
        """True when every module declares it only uses the sending member's own state, so a
        backtest may replay members in separate processes (``engine.backtest``)."""
        return all(getattr(m, "partition_safe", lambda: False)() for m in self.modules)

    def member_summary(self, ctx: Context) -> dict[int, dict]:
        """Per member, the fields every module adds to a backtest report (points, level, ...)."""
        merged: dict[int, dict] = {}
        for module in self.modules:
            summary = getattr(module, "member_summary", None)
            for member_id, fields in (summary(ctx) if summary else {}).items():
                merged.setdefault(member_id, {}).update(fields)
        return merged

    def tick(self, now_ms: int, ctx: Context, outbox: Outbox) -> list[Action]:
        """Let time-driven modules act (timeouts, schedules) as of ``now_ms``."""
        emitted: list[Action] = []
        for module in self._tickers:
            for action in module.on_tick(now_ms, ctx) or ():
                outbox.add(ctx.community_id, action)
                emitted.append(action)
        return emitted
