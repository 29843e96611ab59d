"""The contract playbook backtested over the whole ubuntu-irc train split gives every member exactly the
points an independent computation straight from the files gives (no engine code involved)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import pytest

from support import shared_data

pytestmark = pytest.mark.slow

CONTRACT = """community: holdout
timezone: UTC
points:
  message: {award: 1, cooldown: 60s, daily_cap: 20}
"""
CLOCK = re.compile(r"^\[(\d\d):(\d\d)\] ?(?:<([^>]*)>)?")


def independent_points(files) -> dict[str, int]:
    """Per nick: walk their messages in time order; award 1 if >= 60 s after their last awarded message
    and fewer than 20 awarded that UTC day. IRC day files are UTC; a clock going backwards is midnight."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for f in files:
        day = date.fromisoformat(f.name[:10])
        last = None
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = CLOCK.match(line)
                if not m:
                    continue
                clock = (int(m.group(1)), int(m.group(2)))
                if last is not None and clock < last:
                    day += timedelta(days=1)
                last = clock
                if m.group(3) is not None:
                    times[m.group(3)].append(datetime(day.year, day.month, day.day, *clock, tzinfo=timezone.utc))
    points = {}
    for nick, stamps in times.items():
        total, last_awarded, per_day = 0, None, defaultdict(int)
        for t in sorted(stamps):
            if last_awarded is not None and (t - last_awarded).total_seconds() < 60:
                continue
            if per_day[t.date()] >= 20:
                continue
            per_day[t.date()] += 1
            last_awarded = t
            total += 1
        points[nick] = total
    return points


def test_contract_backtest_matches_independent_points(sqlite_cli, tmp_path):
    train = shared_data("chat", "ubuntu-irc", "train")
    files = sorted(train.glob("*.raw.txt"))
    imported = sqlite_cli.json("import", "irc", str(train), "--community", "holdout", "--group", "#ubuntu", "--json")
    assert imported["rejected"] == 0
    pb = tmp_path / "contract.yaml"
    pb.write_text(CONTRACT, encoding="utf-8")
    report = sqlite_cli.json("backtest", str(pb), "--json")
    got: dict[str, int] = {}
    for m in report["members"]:
        (identity,) = m["identities"]
        got[identity.removeprefix("irc:")] = m["points"]
        assert m["level"] == 0
    expected = independent_points(files)
    assert len(expected) > 1000 and sum(expected.values()) > 50_000
    assert got == expected
