"""Which ISO weeks a weekly report (周报) compares, in the community's time zone.

Why a rule of its own: "this week" must be a *complete* week, or a report run on Wednesday would
compare three days against seven and show a fake collapse. And for imported history (an export that
ends years ago) "the last complete week before now" would be empty, so the clock is capped by the
data: the report ends at ``until`` (exclusive), by default the start of the local day after the last
stored event (or now, if that is earlier). This week is the last ISO week (Monday 00:00 to Monday
00:00, local time, DST-safe) that ends at or before that moment; last week is the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Week:
    start: date  # the Monday
    tz: str

    @property
    def end(self) -> date:
        """The next Monday (exclusive)."""
        return self.start + timedelta(days=7)

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def start_ms(self) -> int:
        return local_midnight_ms(self.start, self.tz)

    @property
    def end_ms(self) -> int:
        return local_midnight_ms(self.end, self.tz)

    def previous(self) -> "Week":
        return Week(self.start - timedelta(days=7), self.tz)


def local_midnight_ms(day: date, tz: str) -> int:
    """UTC epoch ms of 00:00 local time on ``day`` (zoneinfo resolves DST; a skipped midnight moves forward)."""
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))
    return int(local.astimezone(timezone.utc).timestamp() * 1000)


def local_date(ms: int, tz: str) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(ZoneInfo(tz)).date()


def default_until_ms(last_event_ms: int | None, now_ms: int, tz: str) -> int:
    """Start of the local day after the last stored event, but never later than now."""
    if last_event_ms is None:
        return now_ms
    day_after = local_midnight_ms(local_date(last_event_ms, tz) + timedelta(days=1), tz)
    return min(day_after, now_ms)


def report_week(until_ms: int, tz: str) -> Week:
    """The last complete ISO week ending at or before ``until_ms``."""
    # the local day that holds the last included instant; the week is complete only if it is a Sunday
    last = local_date(until_ms - 1, tz)
    monday = last - timedelta(days=last.weekday())
    week = Week(monday, tz)
    return week if week.end_ms <= until_ms else week.previous()
