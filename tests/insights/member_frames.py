"""Hand-made frames in the exact shape of ``shequn.insights.frame.load_frame`` for member-metric tests."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import polars as pl

from shequn.insights.frame import SCHEMA as FRAME_SCHEMA

#: the loader's schema (kind is its Enum); ``to`` may hold a member id (int) or, as load_frame gives it, a name
SCHEMA = {**FRAME_SCHEMA, "to": pl.Int64, "text": pl.Utf8}


def ms(when: str, tz: str = "UTC") -> int:
    """'2024-05-01 10:00' in ``tz`` -> UTC epoch ms."""
    dt = datetime.fromisoformat(when)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz) if tz != "UTC" else timezone.utc)
    return int(dt.timestamp() * 1000)


def frame(rows: list[dict], tz: str = "UTC") -> pl.DataFrame:
    """Rows: ``member`` and ``at`` ('YYYY-MM-DD HH:MM' in ``tz``), optional kind, text, reply_to (row id), to, group, bot, id.

    ``to`` given as a string makes the column a string column (names), as ``load_frame`` returns it.
    """
    return _frame(rows, tz)


def _frame(rows: list[dict], tz: str) -> pl.DataFrame:
    out = []
    for n, r in enumerate(rows, start=1):
        rid = r.get("id", n)
        out.append({
            "id": rid, "group_id": r.get("group", 1), "member_id": r.get("member"), "is_bot": r.get("bot", False),
            "kind": r.get("kind", "message"), "at_ms": ms(r["at"], tz), "platform_id": str(rid),
            "reply_to": str(r["reply_to"]) if r.get("reply_to") is not None else None, "to": r.get("to"), "text": r.get("text"),
        })
    schema = dict(SCHEMA)
    if any(isinstance(r.get("to"), str) for r in rows):
        schema["to"] = pl.Utf8
    return pl.DataFrame(out, schema=schema)


def daily(member: int, days: list[str], hour: str = "10:00", **extra) -> list[dict]:
    return [{"member": member, "at": f"{d} {hour}", **extra} for d in days]
