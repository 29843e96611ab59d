"""What rules look at in one message, computed once and only when a condition asks for it.

Text checks go through the moderation library (``shequn.moderation``): the normalized text defeats
the evasions people use (full-width ＶＸ, 薇信, spaced letters, homoglyphs, zero-width characters),
and links, phone numbers and contact handles are found there, so the rules and
``shequn moderation check`` agree on what a link is; the spam score comes from the community's learned
model (``rules.spam``: what ``shequn moderation learn`` taught, else the shipped one). Behaviour (flood, repeats, first messages)
comes from the member's recent history, which the rules module keeps in ``ctx.state``.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from hashlib import blake2b
from typing import Any

from shequn.domain.events import StoredEvent
from shequn.engine.module import Context
from shequn.modules.rules.spam import SpamDetectors
from shequn.modules.rules.timing import local_time

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@lru_cache(maxsize=None)
def _moderation(part: str):
    """A part of the detector library (normalize, patterns, detector), imported on first use so a
    playbook without text rules never needs it."""
    try:
        return importlib.import_module(f"shequn.moderation.{part}")
    except ImportError as exc:  # pragma: no cover - only when the moderation package is missing
        raise RuntimeError(f"text rules need the moderation library (shequn.moderation.{part}): {exc}") from exc


def normalize(text: str) -> str:
    return _moderation("normalize").normalize(text)


def text_key(normalized: str) -> str:
    """A short stable fingerprint of a message's normalized text: "the same message" despite case,
    spacing, punctuation and the usual evasions, small enough to keep in state per member."""
    squashed = _NOT_WORD.sub("", normalized.lower())
    return blake2b(squashed.encode("utf-8"), digest_size=8).hexdigest()


@dataclass
class History:
    """The member's recent messages (this one included): (at_ms, group_id, text key)."""

    recent: list = field(default_factory=list)  # [at_ms, group_id, text key] lists, oldest first
    count: int = 0  # messages seen from this member since tracking began (this one included)


class Facts:
    """One message as the conditions see it. Expensive facts are computed lazily and at most once."""

    def __init__(self, event: StoredEvent, ctx: Context, history: History | None = None, spam: SpamDetectors | None = None):
        self.event = event
        self.ctx = ctx
        self.spam = spam or SpamDetectors()
        self.history = history or History()
        self.text = event.text or ""
        self.payload: dict[str, Any] = event.payload or {}

    @cached_property
    def normalized(self) -> str:
        return normalize(self.text)

    @cached_property
    def squashed(self) -> str:
        """Normalized, lower case, without spaces or punctuation: 加.微.信 -> 加微信."""
        return _NOT_WORD.sub("", self.normalized.lower())

    @cached_property
    def key(self) -> str:
        return text_key(self.normalized)

    def _found(self, finder: str) -> list[str]:
        """Matches in the canonical text (quoted in canonical form: lower case, half-width, simplified)."""
        return list(getattr(_moderation("patterns"), finder)(self.normalized, normalized=True))

    @cached_property
    def links(self) -> list[str]:
        return self._found("find_links")

    @cached_property
    def phones(self) -> list[str]:
        return self._found("find_phones")

    @cached_property
    def handles(self) -> list[str]:
        return self._found("find_contact_handles")

    @cached_property
    def local(self):
        return local_time(self.event.at_ms, self.ctx.timezone)

    @cached_property
    def roles(self) -> frozenset[str]:
        if self.ctx.people is None or self.event.member_id is None:
            return frozenset()
        return self.ctx.people.roles(self.event.member_id, self.event.group_id)

    @cached_property
    def tags(self) -> frozenset[str]:
        if self.ctx.people is None or self.event.member_id is None:
            return frozenset()
        return self.ctx.people.tags(self.event.member_id)

    @cached_property
    def verdict(self):
        context = {"message_number": self.history.count} if self.history.count else None
        return self.spam.get(self.ctx).check(self.text, member_context=context)
