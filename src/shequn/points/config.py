"""The playbook's ``points:`` section. Every source and feature is off unless written down, so

    points:
      message: {award: 1, cooldown: 60s, daily_cap: 20}

means exactly "1 point per message, at least 60 s after the member's last awarded message, at most 20
a day" and nothing else (no check-ins, no expiry, no anti-farming, no levels).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from shequn.modules.rules.timing import Duration
from shequn.playbook.schema import StrictModel

TIERS = ("bronze", "silver", "gold")


class MessageSource(StrictModel):
    """Points for chat messages (kind ``message`` only)."""

    award: int = Field(ge=1, description="Points per awarded message.")
    cooldown: Duration | None = Field(default=None, description="Minimum time after the member's last AWARDED message, e.g. 60s.")
    daily_cap: int | None = Field(default=None, ge=1, description="At most this many message points per member per local day.")
    min_length: int = Field(default=0, ge=0, description="Anti-farming: shorter text (visible characters, after normalizing) earns nothing.")
    duplicate_window: int = Field(
        default=0, ge=0, le=50,
        description="Anti-farming: text equal (after normalizing) to one of the member's last N awarded messages earns nothing.",
    )
    groups: list[str] = Field(default_factory=list, description="Only messages in these groups; empty means all.")


class MakeupCards(StrictModel):
    """补签卡: fills exactly one missed day so the streak survives."""

    earn_every: int | None = Field(default=None, ge=1, description="Earn one card every N consecutive days (7 → at day 7, 14 ...).")
    initial: int = Field(default=0, ge=0, description="Cards every member starts with.")
    max: int = Field(default=3, ge=0, description="A member holds at most this many cards.")


class CheckinSource(StrictModel):
    """打卡: once per local day, by a check-in event or a message that is one of the keywords."""

    award: int = Field(default=1, ge=0)
    keywords: list[str] = Field(default_factory=lambda: ["打卡", "/checkin"], description="Messages that count as a check-in.")
    prefix: bool = Field(default=False, description="Also count messages that START with a keyword (打卡 第3天 ...).")
    streak_bonus: dict[int, int] = Field(default_factory=dict, description="Bonus points when the streak reaches N days: {7: 10, 30: 50}.")
    makeup_cards: MakeupCards | None = None

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip().casefold() for k in value]
        if not cleaned or any(not k for k in cleaned):
            raise ValueError("keywords must be non-empty strings, e.g. [打卡, /checkin]")
        return cleaned

    @field_validator("streak_bonus")
    @classmethod
    def _bonus(cls, value: dict[int, int]) -> dict[int, int]:
        for days, pts in value.items():
            if days < 1 or pts < 0:
                raise ValueError(f"streak_bonus maps days >= 1 to points >= 0 (got {days}: {pts})")
        return value


class IntroductionTask(StrictModel):
    """Self-introduction (自我介绍): once per member."""

    award: int = Field(ge=1)
    pattern: str = Field(
        default=r"自我介绍|^\s*[^\s\-－—]+\s*[-－—]\s*[^\s\-－—]+\s*[-－—]\s*[^\s\-－—]+",
        description="Regular expression a message must match (default: contains 自我介绍, or 名字-地区-职业).",
    )
    min_length: int = Field(default=0, ge=0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return value


class FirstAnswerTask(StrictModel):
    """The first reply by someone else to a root question message."""

    award: int = Field(ge=1)
    question_marks: list[str] = Field(
        default_factory=lambda: ["?", "？", "吗", "请问", "怎么", "如何", "为什么"],
        description="A root message (not a reply) that contains one of these is a question.",
    )
    within: Duration = Field(default="7d", validate_default=True, description="Answers later than this after the question earn nothing.")


class Tasks(StrictModel):
    introduction: IntroductionTask | None = None
    first_answer: FirstAnswerTask | None = None


class Expiry(StrictModel):
    days: int = Field(ge=1, description="Points earned more than this many days ago expire (dated counter-entry).")


class TrustLevel(StrictModel):
    """A Discourse-style trust level: reached while the requirements hold over the window."""

    name: str = Field(min_length=1)
    days_visited: int = Field(default=0, ge=0, description="Days with at least one message, within the window.")
    posts: int = Field(default=0, ge=0, description="Messages within the window.")
    points: int = Field(default=0, ge=0, description="Lifetime earned points.")


class LevelReward(StrictModel):
    tag: str | None = None
    role: str | None = None

    @model_validator(mode="after")
    def _something(self) -> LevelReward:
        if not self.tag and not self.role:
            raise ValueError("a level reward grants a tag or a role")
        return self


class Levels(StrictModel):
    """等级. ``linear``: a level every ``step`` points; ``mee6``: 5l²+50l+100 points from level l to l+1;
    ``table``: the points each level starts at; ``trust``: requirements over a window (promotion and demotion)."""

    curve: Literal["linear", "mee6", "table", "trust"]
    step: int | None = Field(default=None, ge=1)
    table: list[int] = Field(default_factory=list, description="Points at which level 1, 2, 3 ... start (ascending).")
    trust: list[TrustLevel] = Field(default_factory=list, description="Trust levels 1, 2, ... (level 0 has no requirements).")
    window: Duration = Field(default="100d", validate_default=True, description="trust: the window requirements are counted over.")
    grace: Duration = Field(default="14d", validate_default=True, description="trust: no demotion this soon after a promotion.")
    names: list[str] = Field(default_factory=list, description="Level names from level 0: [新手, 学徒, 达人].")
    max_level: int = Field(default=100, ge=1, le=10_000)
    rewards: dict[int, LevelReward] = Field(default_factory=dict, description="Level -> tag or role granted on reaching it.")

    @model_validator(mode="after")
    def _curve_needs(self) -> Levels:
        if self.curve == "linear" and self.step is None:
            raise ValueError("curve linear needs step (points per level)")
        if self.curve == "table" and (not self.table or any(b <= a for a, b in zip(self.table, self.table[1:])) or self.table[0] <= 0):
            raise ValueError("curve table needs table: positive, strictly ascending points, e.g. [50, 200, 500]")
        if self.curve == "trust" and not self.trust:
            raise ValueError("curve trust needs trust: a list of levels with their requirements")
        return self


class Badge(StrictModel):
    """A badge from a declarative rule: the member's metric reaching a tier's threshold."""

    name: str = Field(min_length=1)
    metric: Literal["checkins", "streak", "answers", "messages", "points", "introduced"]
    tiers: dict[Literal["bronze", "silver", "gold"], int] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, value: dict[str, int]) -> dict[str, int]:
        ordered = [value[t] for t in TIERS if t in value]
        if any(v < 1 for v in ordered) or any(b <= a for a, b in zip(ordered, ordered[1:])):
            raise ValueError("tier thresholds must be >= 1 and rise bronze < silver < gold")
        return value


class PointsConfig(StrictModel):
    message: MessageSource | None = None
    checkin: CheckinSource | None = None
    tasks: Tasks | None = None
    custom: dict[str, int] = Field(default_factory=dict, description="Custom event name (payload.name) -> points.")
    expiry: Expiry | None = None
    levels: Levels | None = None
    badges: list[Badge] = Field(default_factory=list)

    @field_validator("badges")
    @classmethod
    def _unique_badges(cls, value: list[Badge]) -> list[Badge]:
        names = [b.name for b in value]
        if len(set(names)) != len(names):
            raise ValueError("badge names must be unique")
        return value
