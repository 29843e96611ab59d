"""``shequn members`` with no subcommand: the member table (scores, raw counts, tier, status, risk, reasons).

Kept apart from ``members_cmd`` (look-up, merge, split, tag) so each file holds one concept; the
``members`` group registers :func:`list_members` as its callback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text  # names and reasons are shown literally, never as Rich markup
from sqlalchemy import or_, select

from shequn.cli.context import console, fail, print_json, state
from shequn.cli.who import pick_community
from shequn.domain.events import to_ms
from shequn.insights.member_table import STATUSES, load_member_table
from shequn.store.tables import groups

_TIER_ZH = {"core": "核心", "active": "活跃", "casual": "偶尔", "lurker": "潜水"}


def _as_of(value: str | None, tz: str) -> int | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--as-of {value!r} is not a date (YYYY-MM-DD or ISO 8601)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return to_ms(dt)


def list_members(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option("--status", help="Only members with this status: " + " | ".join(STATUSES) + ".")] = None,
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="Community (default: the only one).")] = None,
    group: Annotated[Optional[list[str]], typer.Option("--group", "-g", help="Only these groups (name or platform id); repeatable.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (schema in docs/metrics.md).")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N members (0 = all).", min=0)] = 50,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Judge as of this date (community time zone); default: just after the last event.")] = None,
    infer: Annotated[bool, typer.Option("--infer/--no-infer", help="Infer reply links where the platform has none (IRC, WeChat, QQ).")] = True,
) -> None:
    """The member table: activity score beside raw counts, tier, status, churn risk and the reasons."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in STATUSES:
        raise fail(f"--status {status!r} is not one of: {', '.join(STATUSES)}")
    with state(ctx).engine().connect() as conn:
        comm = pick_community(conn, community)
        group_ids = None
        if group:
            found = conn.execute(select(groups.c.id, groups.c.name, groups.c.external_id).where(
                groups.c.community_id == comm.id, or_(groups.c.name.in_(group), groups.c.external_id.in_(group)))).all()
            missing = set(group) - {g.name for g in found} - {g.external_id for g in found}
            if missing:
                raise fail(f"no group named {sorted(missing)[0]!r} in community {comm.name!r}")
            group_ids = [g.id for g in found]
        table = load_member_table(conn, comm.id, group_ids=group_ids, as_of_ms=_as_of(as_of, comm.timezone), infer=infer)
    rows = [r for r in table.rows if status is None or r["status"] == status]
    shown = rows if limit == 0 else rows[:limit]
    if as_json:
        doc = table.to_json()
        doc.update(community=comm.name, total=len(rows), members=shown)
        print_json(doc)
        return
    t = Table(title=Text(f"{comm.name}: {len(rows)} member{'s' if len(rows) != 1 else ''}"
                    + (f" ({status})" if status else "") + f", as of {table.to_json()['as_of']}"))
    t.add_column("member", no_wrap=True, max_width=22, overflow="ellipsis")
    for col in ("score", "msgs", "ans", "d30"):  # d30: active days in the last 30
        t.add_column(col, justify="right", no_wrap=True)
    t.add_column("tier 层级", no_wrap=True)
    t.add_column("status", no_wrap=True)
    t.add_column("risk", justify="right", no_wrap=True)
    t.add_column("reasons", overflow="fold")
    for r in shown:
        t.add_row(
            Text(f"{r['name']} ({r['member_id']})"), f"{r['score']:.1f}", str(r["messages"]), str(r["answers"]),
            str(r["active_days_30"]), f"{r['tier']} {_TIER_ZH[r['tier']]}", r["status"],
            "-" if r["risk"] is None else f"{r['risk']:.0%}", Text("; ".join(r["reasons"])),
        )
    console.print(t)
    for note in table.notes:
        console.print(Text(note, style="dim"))
    if table.churn.get("note"):
        console.print(f"[dim]{table.churn['note']}[/]", highlight=False)
    if len(shown) < len(rows):
        console.print(f"[dim]{len(rows) - len(shown)} more; use --limit 0 for all[/]")
