"""The core playbook schema. Module sections (``welcome:``, later ``rules:``, ``points:`` ...) are
validated by each module's own ``Config`` model, so a third-party plugin extends the playbook the
same way the built-in modules do.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shequn.domain.community import DEFAULT_TIMEZONE, GroupKind
from shequn.store.directory import check_timezone


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in a playbook must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupSpec(StrictModel):
    name: str = Field(min_length=1, description="Group name or platform id, as imports and adapters name it.")
    platform: str | None = None
    kind: GroupKind = GroupKind.OTHER
    capacity: int | None = Field(default=None, gt=0, description="Member limit (WeChat groups: 500).")


class PlaybookCore(StrictModel):
    """Keys every playbook may have. ``modules`` holds the validated module sections."""

    community: str = Field(min_length=1)
    timezone: str = DEFAULT_TIMEZONE
    description: str | None = None
    groups: list[GroupSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)


class Playbook(BaseModel):
    """A validated playbook: the core keys plus one config object per enabled module."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    core: PlaybookCore
    modules: dict[str, Any]  # module name -> that module's validated Config instance
    source: str = "<string>"

    @property
    def community(self) -> str:
        return self.core.community

    @property
    def timezone(self) -> str:
        return self.core.timezone
