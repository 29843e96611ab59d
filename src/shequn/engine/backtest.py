"""Backtest: the live pipeline over stored history, with memory state and a sandbox outbox.

"What would these rules have done last month?" Nothing is sent and no live state is touched; the
result lists every action with the rule and reason that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from shequn.domain.actions import Action
from shequn.engine.module import Context
from shequn.engine.outbox import SandboxOutbox
from shequn.engine.pipeline import Pipeline
from shequn.engine.state import MemoryState
from shequn.playbook.schema import Playbook
from shequn.store.event_reader import iter_stored_events

TICK_MS = 60_000  # the simulated clock wakes time-driven modules at most once a minute


@dataclass
class BacktestResult:
    events: int = 0
    actions: list[Action] = field(default_factory=list)
    state: MemoryState = field(default_factory=MemoryState)


def run_backtest(
    conn: Connection,
    playbook: Playbook,
    community_id: int,
    *,
    group_ids: list[int] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BacktestResult:
    pipeline = Pipeline(playbook)
    result = BacktestResult()
    outbox = SandboxOutbox()
    ctx = Context(community_id=community_id, timezone=playbook.timezone, now_ms=0, state=result.state, sandbox=True)
    next_tick = None
    for ev in iter_stored_events(conn, community_id, group_ids=group_ids, since_ms=since_ms, until_ms=until_ms):
        ctx.now_ms = ev.at_ms
        if next_tick is None or ev.at_ms >= next_tick:
            pipeline.tick(ev.at_ms, ctx, outbox)
            next_tick = ev.at_ms - ev.at_ms % TICK_MS + TICK_MS
        pipeline.handle(ev, ctx, outbox)
        result.events += 1
        if progress and result.events % 10_000 == 0:
            progress(result.events)
    result.actions = outbox.actions
    return result
