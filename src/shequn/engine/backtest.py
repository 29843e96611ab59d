"""Backtest: the live pipeline over stored history, with memory state and a sandbox outbox.

"What would these rules have done last month?" Nothing is sent and no live state is touched; the
result lists every action with the rule and reason that caused it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from shequn.domain.actions import Action, ActionKind
from shequn.engine.module import Context
from shequn.engine.outbox import SandboxOutbox
from shequn.engine.pipeline import Pipeline
from shequn.engine.people import OverlayPeople
from shequn.engine.state import MemoryState
from shequn.playbook.schema import Playbook
from shequn.points.ledger import MemoryLedger
from shequn.store.event_reader import iter_stored_events
from shequn.store.tables import identities, members

TICK_MS = 60_000  # the simulated clock wakes time-driven modules at most once a minute
MAX_REASONS = 20  # per member in the report: enough to answer "why?", bounded for big histories


@dataclass
class BacktestResult:
    events: int = 0
    actions: list[Action] = field(default_factory=list)
    state: MemoryState = field(default_factory=MemoryState)
    member_fields: dict[int, dict] = field(default_factory=dict)  # what modules add per member (points, level ...)


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
    # store=conn: read access for modules that load what operators stored (the learned spam model); the replay writes nothing through it
    ctx = Context(community_id=community_id, timezone=playbook.timezone, now_ms=0, state=result.state, sandbox=True, store=conn)
    ctx.people = OverlayPeople(conn, community_id)
    ctx.ledger = MemoryLedger(keep_history=0)  # balances exact; no per-member history lines (memory grows with members)
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
    result.member_fields = pipeline.member_summary(ctx)
    return result


def member_report(conn: Connection, community_id: int, result: BacktestResult) -> list[dict]:
    """One entry per member the playbook touched: who they are, what would have happened to them, why.

    ``warnings`` counts warn actions; ``actions`` counts every action by kind; modules add their own
    fields (``member_summary``). Members the playbook never touched are left out.
    """
    per_member: dict[int, list[Action]] = {}
    for a in result.actions:
        if a.member_id is not None:
            per_member.setdefault(a.member_id, []).append(a)
    ids = set(per_member) | set(result.member_fields)
    if not ids:
        return []
    names: dict[int, str] = {}
    accounts: dict[int, list[str]] = {}
    rows = conn.execute(
        select(members.c.id, members.c.display_name, identities.c.platform, identities.c.external_id)
        .join(identities, identities.c.member_id == members.c.id)
        .where(members.c.community_id == community_id)
    )
    for row in rows:
        if row.id in ids:
            names[row.id] = row.display_name
            accounts.setdefault(row.id, []).append(f"{row.platform}:{row.external_id}")
    report = []
    for member_id in sorted(ids):
        acts = per_member.get(member_id, [])
        entry = {
            "id": member_id,
            "name": names.get(member_id, f"member {member_id}"),
            "identities": sorted(accounts.get(member_id, [])),
            "warnings": sum(1 for a in acts if a.kind is ActionKind.WARN),
            "actions": dict(Counter(a.kind.value for a in acts)),
            "reasons": [{"kind": a.kind.value, "rule": a.rule, "reason": a.reason} for a in acts[:MAX_REASONS]],
        }
        entry.update(result.member_fields.get(member_id, {}))
        report.append(entry)
    return report
