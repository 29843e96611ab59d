"""``shequn insights``: how the community and each group are doing, as a summary or as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import or_, select

from shequn.cli.context import console, fail, print_json, state
from shequn.cli.who import pick_community
from shequn.domain.events import to_ms
from shequn.insights.frame import FrameError
from shequn.insights.summary import build_insights
from shequn.store.db import DatabaseError
from shequn.store.tables import groups

HELP = (
    "How the community is doing: actives (DAU/WAU/MAU), joins and leaves, each group's lifecycle stage and health, "
    "cohort retention, activity heatmap, weekly keywords, and the member picture (pyramid, recall list, churn risk, "
    "response time, key members). The period defaults to the last 28 days of history. --json schema: docs/insights.md."
)


def _parse_day(value: str | None, tz: str, option: str) -> int | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD or ISO 8601)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return to_ms(dt)


def insights(
    ctx: typer.Context,
    group: Annotated[Optional[list[str]], typer.Option("--group", "-g", help="Only this group (name or platform id); repeat for several.")] = None,
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="The community (needed when there are several).")] = None,
    since: Annotated[Optional[str], typer.Option(help="Period start, YYYY-MM-DD or ISO 8601 (community time zone). Default: 28 days before --until.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Period end, not included. Default: just after the last stored event.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (schema in docs/insights.md).")] = False,
) -> None:
    try:
        engine = state(ctx).engine()
        with engine.connect() as conn:
            comm = pick_community(conn, community)
            gids = None
            if group:
                gids = []
                for g in group:
                    found = list(conn.execute(select(groups.c.id).where(
                        groups.c.community_id == comm.id, or_(groups.c.name == g, groups.c.external_id == g))).scalars())
                    if not found:
                        raise fail(f"no group {g!r} in community {comm.name!r}")
                    gids.extend(found)
            since_ms = _parse_day(since, comm.timezone, "--since")
            until_ms = _parse_day(until, comm.timezone, "--until")
            if since_ms is not None and until_ms is not None and since_ms >= until_ms:
                raise fail("--since must be before --until")
            doc = build_insights(conn, comm.id, group_ids=gids, since_ms=since_ms, until_ms=until_ms)
    except (DatabaseError, FrameError, ValueError, LookupError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(doc)
        return
    _render(doc)


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _render(doc: dict) -> None:
    p = doc["period"]
    a = doc["actives"]
    console.print(f"[bold]{escape(doc['community'])}[/]  {p['since']} → {p['until']}  ({p['days']:g} days, {doc['timezone']})  "
                  f"{doc['messages']:,} messages in the period")
    t = Table(title="Actives (last day of the period)")
    for col in ("DAU", "WAU", "MAU", "stickiness", "avg DAU", "joins", "leaves", "net", "speakers / present"):
        t.add_column(col, justify="right")
    s = a["speakers_share"]
    t.add_row(f"{a['dau']:,}", f"{a['wau']:,}", f"{a['mau']:,}", _pct(a["stickiness"]), f"{a['average_dau']:g}",
              f"{a['joins']:,}", f"{a['leaves']:,}", f"{a['net_growth']:+,}", f"{s['speakers']:,} / {s['present']:,} ({_pct(s['share'])})")
    console.print(t)

    t = Table(title="Groups: lifecycle and health")
    for col in ("group", "stage", "speakers/wk before → now", "msgs/day", "retention", "net 4w", "answered 24h", "absence"):
        t.add_column(col, justify="left" if col in ("group", "stage") else "right")
    colour = {"growing": "green", "stable": "cyan", "declining": "yellow", "dead": "red"}
    for g in doc["groups"]:
        life, h = g["lifecycle"], g["health"]
        trend = ("—" if life["earlier_speakers_median"] is None
                 else f"{life['earlier_speakers_median']:g} → {life['recent_speakers_median']:g}")
        t.add_row(escape(g["name"]), f"[{colour[life['stage']]}]{life['stage']}[/]", trend, f"{h['activity']['messages_per_day']:g}",
                  _pct(h["retention"]), f"{h['growth']['net_4w']:+,}",
                  _pct(h["response_rate"]), str(h["absence_factor"] or "—"))
    console.print(t)
    for g in doc["groups"]:
        life = g["lifecycle"]
        console.print(f"  {escape(g['name'])}: [{colour[life['stage']]}]{life['stage']}[/], {escape(life['reason'])}", highlight=False)

    m = doc["members"]
    py = m["pyramid"]
    console.print(f"[bold]Members[/]  pyramid: core {py['core']:,} · active {py['active']:,} · casual {py['casual']:,} · lurker {py['lurker']:,}"
                  f"   newcomers {m['newcomers']:,} · inactive {m['inactive']:,} · left {m['left']:,}")
    rt = m["response_time"]
    med = "—" if rt["median_s"] is None else f"{rt['median_s'] / 60:.1f} min"
    console.print(f"[bold]Questions[/]  {rt['questions']:,} asked, {rt['answered']:,} answered, median first response {med}, "
                  f"answered within 24 h {_pct(rt['answered_24h_share'])}, unanswered {rt['unanswered_count']:,}")
    af = m["absence_factor"]
    console.print(f"[bold]Absence factor[/]  {af['absence_factor']} member(s) sent half of the period's {af['messages']:,} messages")
    if m["key_members"]:
        console.print("[bold]Key members[/]  " + ", ".join(f"{escape(str(k['name']))} ({k['repliers']} repliers)" for k in m["key_members"][:8]))
    if m["recall"]:
        t = Table(title=f"Recall list (top {min(10, len(m['recall']))} of {m['recall_count']:,})")
        t.add_column("member")
        t.add_column("why")
        for r in m["recall"][:10]:
            t.add_row(escape(str(r["name"])), escape(r["reason"]))
        console.print(t)
    cr = m.get("churn_risk")
    if cr and cr.get("top"):
        console.print(f"[bold]Churn risk[/]  {cr['at_risk']:,} member(s) at risk; highest: "
                      + "; ".join(f"{escape(str(r['name']))} {r['risk']:.2f}" for r in cr["top"][:5]))
    for k in doc["keywords"]:
        words = escape(", ".join(w["term"] for w in k["keywords"])) or "—"
        console.print(f"[bold]Keywords[/] {k['start']} → {k['end']} ({k['messages']:,} messages): {words}")
    peak = doc["heatmap"]["peak"]
    if peak:
        console.print(f"[bold]Busiest hour[/]  {peak['weekday']} {peak['hour']:02d}:00 ({peak['messages']:,} messages in the period)")
