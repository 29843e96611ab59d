"""``shequn receive`` and ``shequn backtest``: run a playbook on events, live or over history."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.progress import Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import or_, select

from shequn.cli.context import console, err_console, fail, print_json, state
from shequn.domain.events import Reject, to_ms
from shequn.engine.backtest import member_report, run_backtest
from shequn.engine.live import LiveIngest
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.registry import get_importer
from shequn.playbook.errors import PlaybookError
from shequn.playbook.loader import load_playbook
from shequn.store.tables import communities, groups


def _playbook(path: Path):
    try:
        return load_playbook(path)
    except PlaybookError as exc:
        raise fail(f"invalid playbook:\n{exc}") from None


def receive(
    ctx: typer.Context,
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    files: Annotated[list[Path], typer.Argument(help="Event files to receive as if they arrived live.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Format of the files (see shequn import).")] = "jsonl",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Receive events as if live: each is stored and passes through the playbook's modules; the actions it causes are queued in the outbox in the same transaction. Events already stored are skipped."""
    pb = _playbook(playbook)
    try:
        importer = get_importer(fmt)
    except KeyError as exc:
        raise fail(str(exc.args[0]), 2) from None
    live = LiveIngest(state(ctx).engine(), pb)
    opts = ImportOptions(tz=ZoneInfo(pb.timezone))
    rejects: list[Reject] = []

    def events():
        for f in files:
            for item in importer.read(Source(f), opts):
                if isinstance(item, Reject):
                    rejects.append(item)
                else:
                    yield item

    try:
        result = live.receive(events())
    except ImportError_ as exc:
        raise fail(str(exc)) from None
    doc = {
        "received": result.received,
        "duplicates": result.duplicates,
        "rejected": len(rejects),
        "actions": [{"kind": a.kind.value, "rule": a.rule, "reason": a.reason, "payload": a.payload} for a in result.actions],
    }
    if as_json:
        print_json(doc)
        return
    console.print(f"received {result.received:,} new event(s), skipped {result.duplicates:,} already stored, rejected {len(rejects):,}")
    for r in rejects[:10]:
        err_console.print(f"  rejected {escape(str(r.source))} {escape(r.location)}: {escape(r.reason)}", highlight=False)
    for a in result.actions:
        console.print(f"  queued [bold]{a.kind.value}[/] by rule [cyan]{escape(a.rule)}[/]: {escape(a.reason)}", highlight=False)


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


def backtest(
    ctx: typer.Context,
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    group: Annotated[Optional[str], typer.Option("--group", "-g", help="Only this group (name or platform id).")] = None,
    since: Annotated[Optional[str], typer.Option(help="From this date (in the playbook's time zone).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Up to (not including) this date.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", min=1,
        help="Processes for the replay (default: one per core). A playbook whose modules only use each member's own history "
             "(points without first-answer tasks, expiry or trust levels) is split by member when the history is long; others use one.",
    )] = None,
) -> None:
    """Replay stored history through a playbook in a sandbox: what would it have done? Nothing is sent, no live state changes; every action is listed with the rule and reason that caused it."""
    pb = _playbook(playbook)
    with state(ctx).engine().connect() as conn:
        cid = conn.execute(select(communities.c.id).where(communities.c.name == pb.community)).scalar()
        if cid is None:
            raise fail(f"community {pb.community!r} (from the playbook) has no history; import some first")
        gids = None
        if group:
            gids = list(conn.execute(select(groups.c.id).where(groups.c.community_id == cid, or_(groups.c.name == group, groups.c.external_id == group))).scalars())
            if not gids:
                raise fail(f"no group {group!r} in community {pb.community!r}")
        since_ms, until_ms = _parse_day(since, pb.timezone, "--since"), _parse_day(until, pb.timezone, "--until")
        with Progress(
            TextColumn("[bold]replaying[/]"), TextColumn("{task.completed:,} events"), TimeElapsedColumn(),
            console=err_console, transient=True, disable=as_json or not err_console.is_terminal,
        ) as bar:
            task = bar.add_task("backtest", total=None)
            result = run_backtest(
                conn, pb, cid, group_ids=gids, since_ms=since_ms, until_ms=until_ms, workers=workers,
                progress=lambda done: bar.update(task, completed=done),
            )
        people = member_report(conn, cid, result)
    by_rule: dict[str, list] = {}
    for a in result.actions:
        by_rule.setdefault(a.rule, []).append(a)
    by_kind = Counter(a.kind.value for a in result.actions)
    doc = {
        "playbook": str(playbook),
        "events": result.events,
        "actions": len(result.actions),
        "rules": [
            {
                "rule": rule,
                "fired": len(fired),
                "members": len({a.member_id for a in fired if a.member_id is not None}),
                "examples": [{"kind": a.kind.value, "reason": a.reason, "event_id": a.event_id} for a in fired[:5]],
            }
            for rule, fired in sorted(by_rule.items(), key=lambda kv: -len(kv[1]))
        ],
        "actions_by_kind": dict(by_kind),
        "members": people,
    }
    if as_json:
        print_json(doc)
        return
    console.print(f"replayed {result.events:,} events; the playbook would have taken {len(result.actions):,} action(s) (nothing was sent)")
    table = Table("rule", "fired", "members", "example reason")
    for r in doc["rules"]:
        table.add_row(escape(r["rule"]), f"{r['fired']:,}", f"{r['members']:,}", escape(r["examples"][0]["reason"]) if r["examples"] else "")
    console.print(table)
    removed = [m for m in people if m["actions"].get("kick") or m["actions"].get("ban") or m["actions"].get("mute")]
    if removed:
        console.print(f"{len(removed):,} member(s) would have been muted, kicked or banned:")
        for m in removed[:20]:
            why = next((r for r in m["reasons"] if r["kind"] in ("kick", "ban", "mute")), m["reasons"][0])
            # names, rules and reasons quote what members wrote: text, never Rich markup
            console.print(f"  {escape(m['name'])} ({escape(', '.join(m['identities']))}): {why['kind']} by [cyan]{escape(why['rule'])}[/]: {escape(why['reason'])}", highlight=False)


__all__ = ["receive", "backtest"]
