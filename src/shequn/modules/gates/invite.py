"""Invite codes (邀请码): which codes open a group, how often, until when.

A code is valid if it is listed in the playbook, has uses left (counted in module state, so a backtest
counts its own) and has not expired (a date means the end of that day in the community's time zone).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from pydantic import Field

from shequn.modules.rules.timing import _zone
from shequn.playbook.schema import StrictModel


class InviteCode(StrictModel):
    code: str = Field(min_length=3, max_length=100)
    max_uses: int | None = Field(default=None, ge=1)
    expires: date | datetime | None = Field(default=None, description="A date (end of that day, community time) or a date-time.")

    def expires_ms(self, tz: str) -> int | None:
        if self.expires is None:
            return None
        if isinstance(self.expires, datetime):
            at = self.expires if self.expires.tzinfo else self.expires.replace(tzinfo=_zone(tz))
        else:
            at = datetime.combine(self.expires + timedelta(days=1), time(0), tzinfo=_zone(tz))
        return int(at.timestamp() * 1000)


def fold(text: str) -> str:
    """Codes are compared without case, width or invisible characters (ＳＰＲＩＮＧ２０２４ = spring2024)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) not in ("Cf", "Cc")).casefold()


def find_code(text: str | None, codes: list[InviteCode]) -> InviteCode | None:
    """The first listed code that appears in ``text`` as a whole word."""
    folded = fold(text or "")
    for c in codes:
        if re.search(r"(?<![0-9a-z])" + re.escape(fold(c.code)) + r"(?![0-9a-z])", folded):
            return c
    return None
