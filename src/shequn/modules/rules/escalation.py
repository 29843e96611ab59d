"""The escalation ladder: warnings add up, and enough of them within a window lead to a harsher step
("3rd warning in 7 days -> mute 1 day", "5th warning in 30 days -> kick"). Warnings expire, so a member
who behaved for a month starts clean.

A member's warnings are a short list of (time, rule) in ``ctx.state``; the ladder is read on each new
warning, and the harshest step whose count is reached fires, explained in words. A step that kicks or
bans clears the member's warnings: whoever comes back starts at the bottom of the ladder again.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from shequn.modules.rules.actions import ActionSpec, describe_all
from shequn.modules.rules.timing import Duration, format_duration, parse_duration
from shequn.playbook.schema import StrictModel

MAX_KEPT = 200  # warnings kept per member; more than any ladder needs to count


class Step(StrictModel):
    warnings: int = Field(ge=1, description="This many warnings ...")
    within: Duration = Field(description="... within this long ...")
    do: list[ActionSpec] = Field(min_length=1, description="... lead to these actions.")


class Escalation(StrictModel):
    expire_after: Duration = Field(default=parse_duration("30d"), description="A warning older than this no longer counts.")
    ladder: list[Step] = Field(min_length=1)

    @field_validator("ladder")
    @classmethod
    def _ascending(cls, steps: list[Step]) -> list[Step]:
        for i in range(1, len(steps)):
            if steps[i].warnings <= steps[i - 1].warnings:
                raise ValueError(f"ladder[{i}]: steps must need more warnings than the one before ({steps[i].warnings} <= {steps[i - 1].warnings})")
        return steps


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def record_warning(history: list, at_ms: int, rule: str, cfg: Escalation) -> list:
    """Add a warning, dropping the expired ones (and keeping the list bounded)."""
    kept = [w for w in history if w[0] > at_ms - cfg.expire_after]
    kept.append([at_ms, rule])
    return kept[-MAX_KEPT:]


def step_for(history: list, at_ms: int, cfg: Escalation) -> tuple[Step, str] | None:
    """The harshest step this warning reaches, with the reason a member reads; None below the first step."""
    for step in reversed(cfg.ladder):
        n = sum(1 for w in history if w[0] > at_ms - step.within)
        if n >= step.warnings:
            return step, f"{ordinal(n)} warning in {format_duration(step.within)} -> {describe_all(step.do)}"
    return None


def active_warnings(history: list, at_ms: int, cfg: Escalation | None) -> int:
    if cfg is None:
        return len(history)
    return sum(1 for w in history if w[0] > at_ms - cfg.expire_after)
