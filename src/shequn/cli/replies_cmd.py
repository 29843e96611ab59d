"""``shequn replies``: which earlier message each chat message answers (reply inference)."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import orjson
import typer
from rich.markup import escape
from sqlalchemy import or_, select

from shequn.cli.context import console, fail, state
from shequn.domain.events import CHAT_KINDS, to_ms
from shequn.store.db import DatabaseError
from shequn.store.directory import community_timezone
from shequn.store.event_reader import iter_stored_events
from shequn.store.tables import communities, groups

HELP = ("Infer which earlier message(s) each chat message answers, for exports without reply links (IRC, WeChat, QQ). "
        "--json prints one line per message: {\"id\": platform id, \"reply_to\": [platform ids]} ([] = starts a "
        "conversation). See docs/replies.md.")


def _day(value: str | None, tz: str, option: str) -> int | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD or ISO 8601)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return to_ms(dt)


def replies(
    ctx: typer.Context,
    group: Annotated[Optional[str], typer.Option("--group", "-g", help="Only this group (name or platform id).")] = None,
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="Only this community.")] = None,
    since: Annotated[Optional[str], typer.Option(help="From this date (in the community's time zone).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Up to (not including) this date.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per chat message (JSON Lines).")] = False,
    model_path: Annotated[Optional[str], typer.Option("--model", help="A model.json from the trainer instead of the shipped one.")] = None,
) -> None:
    from shequn.insights.replies import (
        infer_replies,  # imported here: the model pulls in SciPy
    )
    from shequn.insights.replies.model import ModelError, load_model

    try:
        model = load_model(model_path)
    except (OSError, ValueError, ModelError) as exc:
        raise fail(f"cannot load reply model {model_path!r}: {exc}") from None
    totals: Counter = Counter()
    per_group: dict[str, Counter] = {}
    out = sys.stdout.buffer
    try:
        engine = state(ctx).engine()
        with engine.connect() as conn:
            q = select(communities.c.id, communities.c.name).order_by(communities.c.id)
            if community:
                q = q.where(communities.c.name == community)
            comms = conn.execute(q).all()
            if community and not comms:
                raise fail(f"no community named {community!r}")
            matched = False
            for comm in comms:
                gids = None
                if group:
                    gids = list(conn.execute(select(groups.c.id).where(
                        groups.c.community_id == comm.id, or_(groups.c.name == group, groups.c.external_id == group))).scalars())
                    if not gids:
                        continue
                matched = True
                tz = community_timezone(conn, comm.id)
                stream = iter_stored_events(conn, comm.id, group_ids=gids, since_ms=_day(since, tz, "--since"),
                                            until_ms=_day(until, tz, "--until"))
                for ev, parents in infer_replies(stream, model=model):
                    if ev.kind not in CHAT_KINDS:
                        continue
                    if as_json:
                        out.write(orjson.dumps({"id": ev.platform_id, "reply_to": parents}) + b"\n")
                        continue
                    c = per_group.setdefault(f"{comm.name} / {ev.group_name}", Counter())
                    how = "explicit" if ev.reply_to else ("inferred" if parents else "starts")
                    c[how] += 1
                    c["messages"] += 1
                    totals[how] += 1
                    totals["messages"] += 1
            if group and not matched:
                raise fail(f"no group named {group!r}")
    except DatabaseError as exc:
        raise fail(str(exc.args[0])) from None
    if as_json:
        out.flush()
        return
    if not totals:
        console.print("No chat messages found. Import some history first, e.g. [bold]shequn import irc path/to/logs[/].")
        return
    console.print("[bold]Reply inference[/] (per group: messages; answers inferred / explicit; start a conversation)")
    for name, c in per_group.items():
        console.print(f"  {escape(name)}: {c['messages']:,} messages; {c['inferred']:,} / {c['explicit']:,} answers; "
                      f"{c['starts']:,} start a conversation", highlight=False, soft_wrap=True)
    console.print("Use --json for one line per message: {\"id\": ..., \"reply_to\": [...]}.")
