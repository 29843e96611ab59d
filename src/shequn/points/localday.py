"""Local calendar days in the community's time zone, fast enough to call for every event.

Caps, streaks and leaderboards count *days as members live them* (Asia/Shanghai midnight, not UTC
midnight). Converting every timestamp through zoneinfo costs microseconds; a backtest over ten million
messages cannot afford that for every event.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

DAY_MS = 86_400_000
_EPOCH_DAY = date(1970, 1, 1).toordinal()


class LocalDays:
    """``day(at_ms)``: days since 1970-01-01 in the zone's local calendar (consecutive days differ by 1).

    Events arrive in time order, so the answer is almost always "the same day as last time": the UTC
    bounds of the last local day are kept and a lookup is two comparisons. A miss asks zoneinfo (the
    day's bounds are its local midnights, so days with a daylight-saving change are 23 or 25 hours).
    """

    __slots__ = ("zone", "_lo", "_hi", "_day")

    def __init__(self, zone: str):
        self.zone = ZoneInfo(zone)
        self._lo = self._hi = 0
        self._day = 0

    def day(self, at_ms: int) -> int:
        if self._lo <= at_ms < self._hi:
            return self._day
        local = datetime.fromtimestamp(at_ms // 1000, tz=timezone.utc).astimezone(self.zone)
        day = local.toordinal() - _EPOCH_DAY
        lo, hi = self.start_ms(day), self.start_ms(day + 1)
        if lo <= at_ms < hi:  # always, except inside a gap zoneinfo resolves differently: then no caching
            self._lo, self._hi, self._day = lo, hi, day
        return day

    def start_ms(self, day: int) -> int:
        """UTC ms of local midnight starting ``day`` (the first instant that belongs to it)."""
        d = date.fromordinal(day + _EPOCH_DAY)
        local = datetime(d.year, d.month, d.day, tzinfo=self.zone)
        return int(local.timestamp() * 1000)


def day_to_date(day: int) -> date:
    return date.fromordinal(day + _EPOCH_DAY)


def date_to_day(d: date) -> int:
    return d.toordinal() - _EPOCH_DAY
