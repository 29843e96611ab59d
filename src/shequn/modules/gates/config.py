"""The ``gates:`` playbook section (入群门槛): which gates guard which groups, and what happens on failure."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from shequn.modules.gates.intro import DEFAULT_SEPARATORS, split_pattern, template_parts, visible_pattern
from shequn.modules.gates.invite import InviteCode, fold
from shequn.modules.rules.actions import ActionSpec, check_template
from shequn.modules.rules.timing import Duration
from shequn.playbook.schema import StrictModel


def _kick() -> list[ActionSpec]:
    return [ActionSpec(kick=True)]


class GateBase(StrictModel):
    groups: list[str] = Field(default_factory=list, description="Only these groups (names); empty = all.")
    on_fail: list[ActionSpec] = Field(default_factory=_kick, min_length=1, description="What happens to a member who fails or times out.")


class IntroGate(GateBase):
    template: str = Field(default="名字-地区-职业", min_length=1)
    separators: list[str] = Field(default_factory=lambda: list(DEFAULT_SEPARATORS), min_length=1)
    within: Duration
    tags: list[str] | None = Field(default=None, description="Which parts become tags (part:value); default all.")
    prompt: str | None = Field(default=None, description="Posted on join; {name}, {group}, {template}, {within}.")
    hint: str | None = Field(default=None, description="Posted once when a message is not in the template.")

    @field_validator("separators")
    @classmethod
    def _non_empty(cls, seps: list[str]) -> list[str]:
        if any(s == "" for s in seps):
            raise ValueError("a separator cannot be empty")
        return seps

    @field_validator("prompt", "hint")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(name="", group="", template="", within="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"may only use {{name}}, {{group}}, {{template}} and {{within}} ({exc})") from None
        return value

    @model_validator(mode="after")
    def _parts(self) -> IntroGate:
        parts = template_parts(self.template, self.separators)
        if len(parts) < 2:
            raise ValueError(f"template {self.template!r} needs at least two parts joined by a separator, e.g. 名字-地区-职业")
        if len(set(parts)) != len(parts):
            raise ValueError(f"template {self.template!r} names a part twice")
        unknown = set(self.tags or []) - set(parts)
        if unknown:
            raise ValueError(f"tags {sorted(unknown)} are not parts of the template {parts}")
        return self

    @property
    def parts(self) -> list[str]:
        return template_parts(self.template, self.separators)

    @property
    def pattern(self):
        return split_pattern(self.separators)

    @property
    def visible_pattern(self):
        return visible_pattern(self.separators)


class CaptchaGate(GateBase):
    within: Duration
    attempts: int = Field(default=3, ge=1, description="Wrong answers allowed before on_fail.")
    hold_messages: bool = Field(default=True, description="Delete other messages until the captcha is answered.")
    prompt: str = Field(default="{name}，请在 {within} 内回复答案 / please answer within {within}: {question} = ?")

    @field_validator("prompt")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            value.format(name="", group="", within="", question="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"may only use {{name}}, {{group}}, {{within}} and {{question}} ({exc})") from None
        if "{question}" not in value:
            raise ValueError("the prompt must show the {question}")
        return value


class InviteGate(GateBase):
    codes: list[InviteCode] = Field(min_length=1)
    within: Duration | None = Field(default=None, description="Time to post the code as a message; none = the join must carry it.")

    @field_validator("codes")
    @classmethod
    def _unique(cls, codes: list[InviteCode]) -> list[InviteCode]:
        seen = set()
        for i, c in enumerate(codes):
            if fold(c.code) in seen:
                raise ValueError(f"codes[{i}]: {c.code!r} is listed twice")
            seen.add(fold(c.code))
        return codes


class PaidGate(GateBase):
    within: Duration = Field(description="Time after joining to place the order (an order before joining counts too).")
    products: list[str] = Field(default_factory=list, description="Order payload 'product' must be one of these; empty = any.")
    min_amount: float | None = Field(default=None, ge=0, description="Order payload 'amount' at least this.")


class Tier(StrictModel):
    group: str = Field(min_length=1)
    min_level: int | None = Field(default=None, ge=0)
    min_points: int | None = Field(default=None, ge=0)
    tags: list[str] = Field(default_factory=list, description="Any one of these tags is enough.")
    on_fail: list[ActionSpec] = Field(default_factory=_kick, min_length=1)
    reply: str | None = Field(default=None, description="Posted when a member is turned away; {name}, {group}, {reason}.")

    @field_validator("reply")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)

    @model_validator(mode="after")
    def _something(self) -> Tier:
        if self.min_level is None and self.min_points is None and not self.tags:
            raise ValueError(f"tier for {self.group!r} needs min_level, min_points or tags")
        return self


class GatesConfig(StrictModel):
    captcha: CaptchaGate | None = None
    invite: InviteGate | None = None
    paid: PaidGate | None = None
    intro: IntroGate | None = None
    tiered: list[Tier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> GatesConfig:
        if not (self.captcha or self.invite or self.paid or self.intro or self.tiered):
            raise ValueError("no gate configured: add captcha, invite, paid, intro or tiered")
        return self
