"""Levels 等级: from earned points (linear, MEE6-style or a table) or from recent activity (trust levels).

Points curves never demote: levels are made of *earned* points, which spending and expiry do not lower.
Trust levels are Discourse-style: a level holds while its requirements hold over the window (days
visited, posts), so an inactive member is demoted — but not within ``grace`` of a promotion.
"""

from __future__ import annotations

from bisect import bisect_right

from shequn.points.config import Levels, TrustLevel


def mee6_thresholds(max_level: int) -> list[int]:
    """Points at which level 1, 2, ... start: going from level l to l+1 takes 5l²+50l+100 points."""
    out, total = [], 0
    for lvl in range(max_level):
        total += 5 * lvl * lvl + 50 * lvl + 100
        out.append(total)
    return out


class LevelCurve:
    """Turns a member's earned points (or activity) into a level number and name."""

    def __init__(self, cfg: Levels):
        self.cfg = cfg
        if cfg.curve == "linear":
            self.thresholds = [cfg.step * n for n in range(1, cfg.max_level + 1)]
        elif cfg.curve == "mee6":
            self.thresholds = mee6_thresholds(cfg.max_level)
        elif cfg.curve == "table":
            self.thresholds = list(cfg.table[: cfg.max_level])
        else:
            self.thresholds = []
        self._names: dict[int, str] = {}
        self._reasons: dict[int, str] = {}

    def for_points(self, earned: int) -> int:
        return bisect_right(self.thresholds, earned)

    def for_activity(self, earned: int, days_visited: int, posts: int) -> int:
        level = 0
        for n, req in enumerate(self.cfg.trust, start=1):
            if _meets(req, earned, days_visited, posts):
                level = n
            else:
                break
        return level

    def name(self, level: int) -> str:
        """Cached: one string object per level, however many members hold it."""
        cached = self._names.get(level)
        if cached is None:
            cached = self._names[level] = self._name(level)
        return cached

    def requirement(self, level: int) -> str:
        """Why a member is at ``level``: the words a reason carries (cached like names)."""
        cached = self._reasons.get(level)
        if cached is None:
            cached = self._reasons[level] = self._requirement(level)
        return cached

    def _name(self, level: int) -> str:
        names = self.cfg.names
        if level < len(names):
            return names[level]
        if self.cfg.curve == "trust" and 1 <= level <= len(self.cfg.trust):
            return self.cfg.trust[level - 1].name
        return names[-1] if names else f"Lv{level}"

    def _requirement(self, level: int) -> str:
        if self.cfg.curve == "trust":
            if level == 0:
                return "no trust-level requirements met"
            r = self.cfg.trust[level - 1]
            return f"{r.days_visited}+ days visited and {r.posts}+ posts in the window, {r.points}+ points"
        if level == 0:
            return f"below {self.thresholds[0] if self.thresholds else 0} points"
        return f"{self.thresholds[level - 1]}+ earned points ({self.cfg.curve} curve)"


def _meets(req: TrustLevel, earned: int, days_visited: int, posts: int) -> bool:
    return earned >= req.points and days_visited >= req.days_visited and posts >= req.posts
