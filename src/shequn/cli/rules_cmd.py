"""``shequn tick``: let the playbook's clock-driven rules act live (gate deadlines, lurker sweeps).

Events move the clock when they arrive; a group where nobody speaks still has deadlines that pass.
Run this from cron (e.g. every minute) or a service: it queues the due actions in the outbox, each with
its rule and reason, in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from shequn.cli.context import console, fail, print_json, state
from shequn.cli.engine_cmd import _playbook
from shequn.domain.events import to_ms
from shequn.engine.live import LiveIngest


def tick(
    ctx: typer.Context,
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    at: Annotated[Optional[str], typer.Option(help="Act as of this time (ISO 8601; without an offset, the playbook's time zone). Default: now.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Apply deadlines that have passed (captcha, introduction, invite code, payment) and the daily lurker sweep; actions are queued in the outbox with their rule and reason."""
    pb = _playbook(playbook)
    at_ms = None
    if at is not None:
        try:
            dt = datetime.fromisoformat(at)
        except ValueError:
            raise fail(f"--at {at!r} is not a time (ISO 8601, e.g. 2024-05-01T10:00)") from None
        at_ms = to_ms(dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(pb.timezone)))
    actions = LiveIngest(state(ctx).engine(), pb).tick(at_ms)
    if as_json:
        print_json({"actions": [{"kind": a.kind.value, "rule": a.rule, "reason": a.reason, "member_id": a.member_id, "payload": a.payload} for a in actions]})
        return
    console.print(f"queued {len(actions)} action(s)")
    for a in actions:
        # rule names and reasons quote what members wrote: print them as text, never as Rich markup
        console.print(f"  [bold]{a.kind.value}[/] by rule [cyan]{escape(a.rule)}[/]: {escape(a.reason)}", highlight=False)


__all__ = ["tick"]
