"""``shequn report``: the HTML report, or with ``--weekly`` the weekly report (周报), in one offline file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from sqlalchemy import or_, select

from shequn.cli.context import console, fail, state
from shequn.cli.who import pick_community
from shequn.domain.events import to_ms
from shequn.store.db import DatabaseError
from shequn.store.tables import groups

LANGS = ("both", "zh", "en")
HELP = (
    "Write a self-contained HTML report with charts (opens offline, makes no network request), in Chinese and English. "
    "--weekly: the weekly report (周报), this ISO week against last week. See docs/report.md."
)


def _day(value: str | None, tz: str, option: str) -> int | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise fail(escape(f"{option} {value!r}") + " is not a date (YYYY-MM-DD or ISO 8601)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return to_ms(dt)


def _groups(conn, community_id: int, wanted: list[str]) -> tuple[list[int] | None, list[str] | None]:
    if not wanted:
        return None, None
    ids, names = [], []
    for g in wanted:
        row = conn.execute(
            select(groups.c.id, groups.c.name).where(groups.c.community_id == community_id)
            .where(or_(groups.c.name == g, groups.c.external_id == g)).order_by(groups.c.id)
        ).first()
        if row is None:
            raise fail(escape(f"no group named {g!r} in this community"))
        ids.append(row.id)
        names.append(row.name)
    return ids, names


def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML file.", dir_okay=False, writable=True)],
    weekly: Annotated[bool, typer.Option("--weekly", help="The weekly report (周报): this ISO week against last week.")] = False,
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="Community (needed when there are several).")] = None,
    group: Annotated[Optional[list[str]], typer.Option("--group", "-g", help="Only this group (name or platform id); repeat for several.")] = None,
    since: Annotated[Optional[str], typer.Option(help="From this date (community time zone). Default: 28 days before --until.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Up to (not including) this date. Default: the day after the last event. "
                                                  "With --weekly: the report is the last complete ISO week before it.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh, en, or both (one file with a language switch).")] = "both",
) -> None:
    if lang not in LANGS:
        raise fail(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    if weekly and since is not None:
        raise fail("--weekly compares whole ISO weeks: pick the week with --until (the report covers the last complete week before it), not --since")
    # imported here, not at the top: matplotlib and the insights stack load only when a report is made
    from shequn.insights.report import build_report
    from shequn.insights.report.render import write_html

    try:
        engine = state(ctx).engine()
        with engine.connect() as conn:
            comm = pick_community(conn, community)
            group_ids, group_names = _groups(conn, comm.id, group or [])
            since_ms, until_ms = _day(since, comm.timezone, "--since"), _day(until, comm.timezone, "--until")
            if since_ms is not None and until_ms is not None and since_ms >= until_ms:
                raise fail("--since must be before --until")
            with console.status("building the report…"):
                html = build_report(conn, comm.id, weekly=weekly, group_ids=group_ids, group_names=group_names,
                                    since_ms=since_ms, until_ms=until_ms, lang=lang)
    except (DatabaseError, LookupError) as exc:
        raise fail(escape(str(exc.args[0]))) from None
    try:
        path = write_html(out, html)
    except OSError as exc:
        raise fail(escape(f"cannot write {out}: {exc.strerror or exc}")) from None
    kind = "weekly report" if weekly else "report"
    size = len(html.encode()) / 1024
    console.print(f"wrote {kind} [bold]{escape(str(path))}[/] ({size:,.0f} KiB) for {escape(repr(comm.name))}; open it in any browser, offline.",
                  highlight=False)
