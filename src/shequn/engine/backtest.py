"""Backtest: the live pipeline over stored history, with memory state and a sandbox outbox.

"What would these rules have done last month?" Nothing is sent and no live state is touched; the
result lists every action with the rule and reason that caused it.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from shequn.domain.actions import Action, ActionKind
from shequn.engine.module import Context
from shequn.engine.outbox import SandboxOutbox
from shequn.engine.people import OverlayPeople
from shequn.engine.pipeline import Pipeline
from shequn.engine.state import MemoryState
from shequn.playbook.schema import Playbook
from shequn.points.ledger import MemoryLedger
from shequn.store.db import open_engine
from shequn.store.event_reader import iter_stored_events
from shequn.store.tables import events, identities, members

TICK_MS = 60_000  # the simulated clock wakes time-driven modules at most once a minute
PARTITION_MIN_EVENTS = 500_000  # below this, starting worker processes costs more than it saves
MAX_AUTO_WORKERS = 4  # workers=None: one per core, up to this many
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
    workers: int | None = 1,
) -> BacktestResult:
    """Replay the community's stored events through ``playbook``.

    ``workers``: 1 replays in this process on ``conn`` (it sees what ``conn`` sees, committed or not);
    ``None`` picks the number of cores; more than one splits members across processes when every
    module of the playbook declares itself partition-safe and the history is long enough to repay
    starting them (see ``plan_workers``). Partitioned workers read what is committed in the database.
    """
    pipeline = Pipeline(playbook)
    n = plan_workers(conn, pipeline, community_id, workers)
    window = {"group_ids": group_ids, "since_ms": since_ms, "until_ms": until_ms}
    if n > 1:
        return _run_partitioned(conn, playbook, community_id, n, window, progress)
    return _replay(conn, pipeline, community_id, window, progress=progress)


def plan_workers(conn: Connection, pipeline: Pipeline, community_id: int, workers: int | None) -> int:
    """How many processes a backtest uses. One unless more are asked for (or allowed, ``None``) and:
    every module is partition-safe (``partition_safe()``: it reads and writes only the sending
    member's own state, so members can be replayed apart); the database is a file or a server that a
    second process can open; and there are at least ``PARTITION_MIN_EVENTS`` events to replay."""
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    if workers <= 1 or not pipeline.partition_safe():
        return 1
    url = conn.engine.url
    if url.get_backend_name() == "sqlite" and (url.database in (None, "", ":memory:") or "memory" in str(url.query)):
        return 1
    enough = conn.execute(
        select(func.count()).select_from(
            select(events.c.id).where(events.c.community_id == community_id).limit(PARTITION_MIN_EVENTS).subquery()
        )
    ).scalar_one()
    return workers if enough >= PARTITION_MIN_EVENTS else 1


def _replay(conn: Connection, pipeline: Pipeline, community_id: int, window: dict, *, progress=None, partition=None, stamps=None) -> BacktestResult:
    """The replay loop itself. ``stamps`` (partitioned runs) receives, per action, the sort key
    that puts the actions of all partitions back into the order one process would have produced."""
    result = BacktestResult()
    outbox = SandboxOutbox()
    # store=conn: read access for modules that load what operators stored (the learned spam model); the replay writes nothing through it
    ctx = Context(community_id=community_id, timezone=pipeline.playbook.timezone, now_ms=0, state=result.state, sandbox=True, store=conn)
    ctx.people = OverlayPeople(conn, community_id)
    ctx.ledger = MemoryLedger(keep_history=0)  # balances exact; no per-member history lines (memory grows with members)
    next_tick = None
    for ev in iter_stored_events(conn, community_id, partition=partition, **window):
        at = ctx.now_ms = ev.at_ms
        if next_tick is None or at >= next_tick:
            ticked = pipeline.tick(at, ctx, outbox)
            next_tick = at - at % TICK_MS + TICK_MS
            if ticked and stamps is not None:
                stamps.extend((at, 0, 0) for _ in ticked)
        emitted = pipeline.handle(ev, ctx, outbox)
        if emitted and stamps is not None:
            stamps.extend((at, 1, ev.id) for _ in emitted)
        result.events += 1
        if progress and result.events % 10_000 == 0:
            progress(result.events)
    result.actions = outbox.actions
    result.member_fields = pipeline.member_summary(ctx)
    return result


def _run_partitioned(conn: Connection, playbook: Playbook, community_id: int, n: int, window: dict, progress) -> BacktestResult:
    """Replay member partitions ``k = 0..n-1`` in ``n`` worker processes and merge their results.

    Workers are forked where the platform can (fast to start, and no re-import of the caller's
    script as ``spawn`` does) and open the database by URL: they never touch the caller's
    connection. Progress is the sum of the workers' counts; a worker's failure is raised here with
    its traceback; the merged actions are in single-process order (time, ticks first, event id)."""
    url = conn.engine.url.render_as_string(hide_password=False)
    mp = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    inbox = mp.Queue()
    procs = [
        mp.Process(target=_partition_worker, args=(inbox, url, playbook, community_id, window, (k, n)), name=f"shequn-backtest-{k}", daemon=True)
        for k in range(n)
    ]
    for proc in procs:
        proc.start()
    counts = [0] * n
    parts: dict[int, tuple] = {}
    try:
        while len(parts) < n:
            try:
                msg = inbox.get(timeout=1.0)
            except queue.Empty:
                dead = [p for k, p in enumerate(procs) if k not in parts and not p.is_alive()]
                if dead:
                    raise RuntimeError(f"backtest worker {dead[0].name} exited with code {dead[0].exitcode} before finishing") from None
                continue
            kind, k = msg[0], msg[1]
            if kind == "progress":
                counts[k] = msg[2]
                if progress:
                    progress(sum(counts))
            elif kind == "error":
                exc, remote = msg[2], msg[3]
                if isinstance(exc, BaseException):
                    exc.add_note(f"in backtest worker {k}:\n{remote}")
                    raise exc
                raise RuntimeError(f"backtest worker {k} failed:\n{remote}")
            else:
                parts[k] = msg[2:]
    finally:
        for proc in procs:
            if proc.is_alive() and len(parts) < n:
                proc.terminate()
            proc.join(timeout=10)
    merged = BacktestResult()
    keyed = []
    for k in range(n):
        events_seen, actions, stamps, fields, state = parts[k]
        merged.events += events_seen
        keyed.extend((*stamp, k, i, action) for i, (stamp, action) in enumerate(zip(stamps, actions, strict=True)))
        merged.member_fields.update(fields)
        _merge_state(merged.state, state)
    keyed.sort(key=lambda row: row[:5])
    merged.actions = [row[5] for row in keyed]
    if progress:
        progress(merged.events)
    return merged


def _partition_worker(inbox, url: str, playbook: Playbook, community_id: int, window: dict, partition: tuple[int, int]) -> None:
    k = partition[0]
    try:
        engine = open_engine(url, migrate=False)
        try:
            with engine.connect() as conn:
                stamps: list[tuple] = []
                sent = [0]

                def report(count: int) -> None:
                    if count - sent[0] >= 100_000:  # a message per 100k events keeps the queue quiet
                        sent[0] = count
                        inbox.put(("progress", k, count))

                result = _replay(conn, Pipeline(playbook), community_id, window, progress=report, partition=partition, stamps=stamps)
        finally:
            engine.dispose()
        inbox.put(("done", k, result.events, result.actions, stamps, result.member_fields, result.state.items()))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        remote = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an unpicklable exception travels as its text
            exc = None
        inbox.put(("error", k, exc, remote))


def _merge_state(into: MemoryState, items) -> None:
    """Partition-safe modules keep per-member keys, which partitions never share; a shared key may
    only hold a list (a roster), whose parts are concatenated, or the same value in every partition."""
    for (module, key), value in items:
        have = into.get(module, key)
        if have is None:
            into.set(module, key, value)
        elif isinstance(have, list) and isinstance(value, list):
            have.extend(value)
        elif have != value:
            raise RuntimeError(f"module {module!r} is declared partition-safe but partitions disagree on its state key {key!r}")


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
