"""Durations (``60s``, ``10m``, ``1d``, ``1h30m``) and times of day (``12:00-13:00``) as playbooks write them.

Operators think in "mute for 1 day" and "ads allowed 12:00-13:00 Beijing time", not in milliseconds
and UTC: these types turn the playbook's words into numbers once, at load time, with an error that
says what a valid value looks like. Windows are read in the community's time zone.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator

UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
UNIT_WORDS = {"w": "week", "d": "day", "h": "hour", "m": "minute", "s": "second"}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: object) -> int:
    """``"10m"`` -> 600000 (milliseconds). Units: s, m, h, d, w; parts may be combined (``1h30m``)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"write a duration like 60s, 10m, 2h, 1d or 7d (got {value!r})")
    text = value.strip().lower()
    pos, total = 0, 0
    for m in _DURATION.finditer(text):
        if text[pos : m.start()].strip():
            break
        total += int(m.group(1)) * UNITS_MS[m.group(2)]
        pos = m.end()
    if pos == 0 or text[pos:].strip() or total <= 0:
        raise ValueError(f"write a duration like 60s, 10m, 2h, 1d or 7d (got {value!r})")
    return total


def format_duration(ms: int) -> str:
    """600000 -> ``10 minutes``; 86400000 -> ``1 day``: the words a member reads in a reason."""
    parts = []
    for unit in ("d", "h", "m", "s"):  # "7 days" reads better than "1 week"
        n, ms = divmod(ms, UNITS_MS[unit])
        if n:
            parts.append(f"{n} {UNIT_WORDS[unit]}{'s' if n != 1 else ''}")
    return " ".join(parts) or "0 seconds"


Duration = Annotated[int, BeforeValidator(parse_duration)]


def parse_window(value: object) -> tuple[int, int]:
    """``"12:00-13:00"`` -> (720, 780) minutes of the day; ``"23:00-07:00"`` crosses midnight."""
    m = _WINDOW.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"write a time window like 12:00-13:00 or 23:00-07:00 (got {value!r})")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"{value!r} is an empty window (start equals end)")
    return start, end


def window_text(window: tuple[int, int]) -> str:
    (a, b) = window
    return f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"


Window = Annotated[tuple[int, int], BeforeValidator(parse_window)]


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(at_ms: int, tz: str) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc).astimezone(_zone(tz))


def in_window(minute_of_day: int, window: tuple[int, int]) -> bool:
    start, end = window
    if start < end:
        return start <= minute_of_day < end
    return minute_of_day >= start or minute_of_day < end  # crosses midnight


def next_local_time(after_ms: int, minute_of_day: int, tz: str) -> int:
    """The first moment strictly after ``after_ms`` whose local wall clock reads ``minute_of_day``."""
    from datetime import timedelta

    local = local_time(after_ms, tz)
    candidate = local.replace(hour=minute_of_day // 60, minute=minute_of_day % 60, second=0, microsecond=0)
    while int(candidate.timestamp() * 1000) <= after_ms:
        candidate = (candidate + timedelta(days=1)).replace(hour=minute_of_day // 60, minute=minute_of_day % 60)
    return int(candidate.timestamp() * 1000)


def parse_time_of_day(value: object) -> int:
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", value) if isinstance(value, str) else None
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"write a time of day like 10:00 (got {value!r})")
    return int(m.group(1)) * 60 + int(m.group(2))


TimeOfDay = Annotated[int, BeforeValidator(parse_time_of_day)]
