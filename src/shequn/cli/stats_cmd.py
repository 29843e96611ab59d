"""``shequn stats``: the first numbers about each community and group."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from shequn.cli.context import console, fail, print_json, state
from shequn.insights.stats import UnknownGroup, community_stats
from shequn.store.db import DatabaseError

HELP = "Show messages, members, speakers, joins and leaves per community and group (--json for scripts; schema in docs/stats.md)."


def stats(
    ctx: typer.Context,
    group: Annotated[Optional[str], typer.Option("--group", "-g", help="Only this group (name or platform id).")] = None,
    community: Annotated[Optional[str], typer.Option("--community", "-c", help="Only this community.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (schema in docs/stats.md).")] = False,
) -> None:
    try:
        engine = state(ctx).engine()
        with engine.connect() as conn:
            doc = community_stats(conn, group=group, community=community)
    except (DatabaseError, UnknownGroup) as exc:
        raise fail(str(exc.args[0])) from None
    if as_json:
        print_json(doc)
        return
    if not doc["communities"]:
        console.print("No data yet. Import some history first, e.g. [bold]shequn import irc path/to/logs[/].")
        return
    for comm in doc["communities"]:
        table = Table(title=f"{comm['name']}  ({comm['first_at'] or '—'} → {comm['last_at'] or '—'}, {comm['timezone']})")
        for col in ("group", "messages", "members", "speakers", "joins", "leaves"):
            table.add_column(col, justify="left" if col == "group" else "right")
        for g in comm["groups"]:
            table.add_row(g["name"], *(f"{g[k]:,}" for k in ("messages", "members", "speakers", "joins", "leaves")))
        table.add_section()
        table.add_row("[bold]all groups[/]", *(f"[bold]{comm[k]:,}[/]" for k in ("messages", "members", "speakers", "joins", "leaves")))
        console.print(table)
