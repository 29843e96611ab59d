"""``shequn points``: leaderboards, a member's points history with reasons, operator adjustments, audit."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timezone
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection, or_, select

from shequn.cli.context import console, fail, print_json, state
from shequn.cli.who import pick_community, pick_member
from shequn.domain.events import from_ms
from shequn.points.leaderboard import leaderboard as rank, period_window
from shequn.points.ledger import DbLedger, LedgerError, check_ledger, rebuild_balances
from shequn.store.directory import now_ms
from shequn.store.tables import communities, groups, members

app = typer.Typer(help="Points 积分: leaderboards, history with reasons, adjustments, ledger audit.", no_args_is_help=True)

PERIODS = ("day", "week", "month", "all")
MEMBER_HELP = "Member id, or an account or display name (a name several members share is an error listing their ids)."


def _member(conn: Connection, who: str, community: str | None) -> tuple[int, str, int, str]:
    """(community id, its time zone, member id, display name) for MEMBER and --community."""
    cid, mid = pick_member(conn, who, community)
    row = conn.execute(
        select(members.c.display_name, communities.c.timezone).join(communities, communities.c.id == members.c.community_id).where(members.c.id == mid)
    ).one()
    return cid, row.timezone, mid, row.display_name


def _when(ms: int, tz: str) -> str:
    return from_ms(ms).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@app.command("leaderboard")
def leaderboard(
    ctx: typer.Context,
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="Community (default: the only one).")] = None,
    group: Annotated[Optional[str], typer.Option("--group", "-g", help="Only points earned in this group (name or platform id).")] = None,
    period: Annotated[str, typer.Option("--period", "-p", help="day, week (Monday first), month or all, in the community's time zone.")] = "all",
    at: Annotated[Optional[str], typer.Option("--at", help="A date (YYYY-MM-DD) inside the period; default today.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who earned the most points (排行榜) in a period, community-wide or in one group."""
    if period not in PERIODS:
        raise fail(f"--period must be one of {', '.join(PERIODS)} (got {period!r})")
    with state(ctx).engine().connect() as conn:
        cid, cname, tz = pick_community(conn, community)
        if at is None:
            moment = datetime.now(timezone.utc)
        else:
            try:
                moment = datetime.combine(datetime.strptime(at, "%Y-%m-%d").date(), time(12), tzinfo=ZoneInfo(tz))
            except ValueError:
                raise fail(f"--at must be a date like 2024-05-01 (got {at!r})") from None
        group_id = None
        if group is not None:
            group_id = conn.execute(
                select(groups.c.id).where(groups.c.community_id == cid, or_(groups.c.name == group, groups.c.external_id == group)).limit(1)
            ).scalar()
            if group_id is None:
                raise fail(f"no group {group!r} in community {cname!r}")
        window = period_window(period, tz, moment)
        rows = rank(conn, cid, window, group_id=group_id, limit=limit)
    if as_json:
        print_json({"community": cname, "group": group, "period": period, "from": window.label, "timezone": tz, "leaders": rows})
        return
    table = Table(title=Text(f"{cname}{' / ' + group if group else ''} — points, {period} ({window.label}, {tz})"))
    for col, justify in (("#", "right"), ("member", "left"), ("id", "right"), ("points", "right")):
        table.add_column(col, justify=justify)
    for r in rows:
        table.add_row(str(r["rank"]), Text(r["name"]), str(r["member_id"]), f"{r['points']:,}")  # names are data, never markup
    console.print(table if rows else "no points earned in this period")


@app.command("history")
def history(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(metavar="MEMBER", help=MEMBER_HELP)],
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="Community (default: the member's, or the only one).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A member's points, newest first: amount, rule, reason and the event behind each."""
    with state(ctx).engine().connect() as conn:
        cid, tz, member, name = _member(conn, who, community)
        ledger = DbLedger(conn, cid)
        entries, balance = ledger.history(member, limit), ledger.balance(member)
    if as_json:
        print_json({"member": member, "name": name, "balance": balance, "history": [
            {"at": from_ms(e.at_ms).isoformat(), "amount": e.amount, "counter": e.counter, "rule": e.rule, "reason": e.reason,
             "event_id": e.event_id, "key": e.key} for e in entries]})
        return
    console.print(Text.assemble((f"member {member}", "bold"), f" {name}: {balance:,} points"))
    show_history(entries, tz)


def show_history(entries, tz: str) -> None:
    table = Table(show_edge=False)
    for col, justify in (("when", "left"), ("points", "right"), ("rule", "left"), ("reason", "left"), ("event", "right")):
        table.add_column(col, justify=justify)
    for e in entries:
        table.add_row(_when(e.at_ms, tz), f"{e.amount:+,}", Text(e.rule), Text(e.reason), "" if e.event_id is None else str(e.event_id))
    console.print(table if entries else "  no points yet")


@app.command("adjust", context_settings={"ignore_unknown_options": True})
def adjust(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(metavar="MEMBER", help=MEMBER_HELP)],
    amount: Annotated[int, typer.Argument(help="Points to add; negative to take away (e.g. -5).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the ledger and shown to the member).")] = "",
    key: Annotated[Optional[str], typer.Option("--key", help="Idempotency key: repeating the command with it changes nothing.")] = None,
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="Community (default: the member's, or the only one).")] = None,
) -> None:
    """Operator adjustment (人工调整积分), booked against the `adjustment` counter with your reason."""
    if not reason.strip():
        raise fail("--reason is required: every adjustment says why")
    if amount == 0:
        raise fail("AMOUNT must not be 0")
    with state(ctx).engine().begin() as conn:
        cid, _, member, name = _member(conn, who, community)
        ledger = DbLedger(conn, cid)
        try:
            booked = ledger.post(
                member_id=member, amount=amount, rule="operator.adjust", reason=reason.strip(), counter="adjustment",
                key=f"adjust:{key}" if key else f"adjust:{uuid.uuid4().hex}", at_ms=now_ms(),
            )
        except LedgerError as exc:
            raise fail(str(exc)) from None
        balance = ledger.balance(member)
    if not booked:
        console.print(f"already booked (key {key!r}): nothing changed; {name} has {balance:,} points", highlight=False, markup=False)
        return
    console.print(f"{amount:+,} points for member {member} {name} ({reason.strip()}); balance {balance:,}", highlight=False, markup=False)


@app.command("check")
def check(
    ctx: typer.Context,
    community: Annotated[Optional[str], typer.Option("--community", "-c")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Recompute the stored balances from the entries first.")] = False,
) -> None:
    """Audit the ledger: every transaction has two entries summing to zero; balances equal their entries."""
    with state(ctx).engine().begin() as conn:
        cid, cname, _ = pick_community(conn, community)
        if rebuild:
            console.print(f"rebuilt {rebuild_balances(conn, cid):,} balances from the entries")
        problems = check_ledger(conn, cid)
    if problems:
        for p in problems:
            console.print(f"  {p}", highlight=False, markup=False)
        raise fail(f"ledger of {cname!r} is inconsistent ({len(problems)} problem(s) shown); `--rebuild` recomputes balances")
    console.print(f"ledger of {cname!r} is consistent", markup=False)


def show_member_points(p: dict) -> None:
    """The points part of `shequn members show` (doc from points.leaderboard.points_overview)."""
    tz = p["timezone"]
    line = f"  points: {p['balance']:,} (earned {p['earned']:,})"
    if p["level_name"] or p["level"]:
        line += f", level {p['level']} {p['level_name']}"
    if p["checkins"]:
        line += f", 打卡 {p['checkins']} (streak {p['streak']}, best {p['best_streak']})"
    console.print(line, highlight=False, markup=False)
    if p["badges"]:
        console.print("  badges: " + ", ".join(f"{n} ({b['tier']})" for n, b in p["badges"].items()), highlight=False, markup=False)
    for e in p["history"][:10]:
        console.print(f"    {_when(e['at_ms'], tz)}  {e['amount']:+,}  {e['rule']}: {e['reason']}", highlight=False, markup=False)
