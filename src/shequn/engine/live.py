"""Live ingestion: store a new event and run it through the pipeline in ONE transaction, so the
event, the module state it changed and the actions it caused commit together (or not at all).

An event already stored (same group + platform id) is skipped before any module sees it, so a
redelivered webhook or a re-fed file never awards, warns or welcomes twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from shequn.domain.actions import Action
from shequn.domain.events import Event, StoredEvent
from shequn.engine.module import Context
from shequn.engine.outbox import DbOutbox
from shequn.engine.pipeline import Pipeline
from shequn.engine.people import StorePeople
from shequn.engine.state import DbState
from shequn.playbook.schema import Playbook
from shequn.points.ledger import DbLedger
from shequn.store.directory import GroupDirectory, community_timezone, ensure_community, now_ms
from shequn.store.members import IdentityResolver
from shequn.store.tables import events, groups, identities, members


@dataclass
class LiveResult:
    received: int = 0
    duplicates: int = 0
    actions: list[Action] = field(default_factory=list)


class LiveIngest:
    def __init__(self, engine: Engine, playbook: Playbook):
        self.engine = engine
        self.playbook = playbook
        self.pipeline = Pipeline(playbook)
        self._next_tick: int | None = None

    def receive(self, items: Iterable[Event]) -> LiveResult:
        result = LiveResult()
        with self.engine.connect() as conn:
            community_id = ensure_community(conn, self.playbook.community, self.playbook.timezone)
            tz = community_timezone(conn, community_id)
            conn.commit()
            directory = GroupDirectory(conn, community_id)
            people = IdentityResolver(conn, community_id)
            insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(events)
            group_names: dict[int, str] = {}
            stmt = insert.on_conflict_do_nothing(index_elements=["group_id", "platform_id"]).returning(events.c.id)
            for ev in items:
                with conn.begin():
                    group_id = directory.resolve(ev.group)
                    identity_id = member_id = member_name = None
                    if ev.author is not None:
                        people.resolve_many(ev.group.platform, [ev.author])
                        identity_id = people.get(ev.group.platform, ev.author.external_id)
                        row = conn.execute(
                            select(members.c.id, members.c.display_name)
                            .join(identities, identities.c.member_id == members.c.id)
                            .where(identities.c.id == identity_id)
                        ).one()
                        member_id, member_name = row.id, row.display_name
                    new_id = conn.execute(
                        stmt,
                        dict(
                            community_id=community_id, group_id=group_id, identity_id=identity_id, kind=ev.kind.value,
                            at_ms=ev.at_ms, platform_id=ev.platform_id, reply_to=ev.reply_to, text=ev.text,
                            payload=ev.payload or None,
                        ),
                    ).scalar()
                    if new_id is None:
                        result.duplicates += 1
                        continue
                    result.received += 1
                    stored = StoredEvent(
                        id=new_id, community_id=community_id, group_id=group_id,
                        group_name=group_names.get(group_id)
                        or group_names.setdefault(group_id, conn.execute(select(groups.c.name).where(groups.c.id == group_id)).scalar_one()),
                        platform=ev.group.platform, platform_id=ev.platform_id, kind=ev.kind, at_ms=ev.at_ms,
                        identity_id=identity_id, member_id=member_id, member_name=member_name, text=ev.text,
                        reply_to=ev.reply_to, payload=ev.payload,
                    )
                    ctx = Context(community_id=community_id, timezone=tz, now_ms=now_ms(), state=DbState(conn, community_id), sandbox=False, store=conn)
                    ctx.people = StorePeople(conn)
                    ctx.ledger = DbLedger(conn, community_id)
                    if self._next_tick is None or ev.at_ms >= self._next_tick:
                        # time-driven modules (gate timeouts, lurkers) catch up to this event's time first, as in a backtest
                        result.actions += self.pipeline.tick(ev.at_ms, ctx, DbOutbox(conn))
                        self._next_tick = ev.at_ms - ev.at_ms % 60_000 + 60_000
                    result.actions += self.pipeline.handle(stored, ctx, DbOutbox(conn))
        return result

    def tick(self, at_ms: int | None = None) -> list[Action]:
        """Wake the time-driven modules (gate deadlines, lurker sweeps) as of ``at_ms`` (default: now),
        in one transaction: a quiet group has no events to move its clock, so cron or a service calls this."""
        at = now_ms() if at_ms is None else at_ms
        with self.engine.connect() as conn:
            community_id = ensure_community(conn, self.playbook.community, self.playbook.timezone)
            tz = community_timezone(conn, community_id)
            conn.commit()
            with conn.begin():
                ctx = Context(community_id=community_id, timezone=tz, now_ms=at, state=DbState(conn, community_id), sandbox=False, store=conn)
                ctx.people = StorePeople(conn)
                ctx.ledger = DbLedger(conn, community_id)
                return self.pipeline.tick(at, ctx, DbOutbox(conn))
