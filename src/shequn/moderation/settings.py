"""The playbook section that tunes the detector, for a module to embed (the rules module's ``spam:``).

    rules:
      spam:
        threshold: 0.7                # score at or above which a message is spam (default 0.5)
        stop_words: [团购接龙, 代购]   # phrases added to the shipped stop-word list
        allow_domains: [python.org]   # links to these domains (and subdomains) are never evidence
      rules: [...]

``SpamSection.to_settings()`` gives the :class:`~shequn.moderation.detector.Settings` for
``Detector.with_settings``; the rules module applies it to the detector behind ``spam_score`` conditions, and
``shequn moderation check --playbook`` reads the same section. ``threshold`` decides ``spam`` in a verdict (what
``check`` prints); a ``spam_score: X`` condition names its own threshold.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from shequn.playbook.schema import StrictModel

if TYPE_CHECKING:
    from shequn.moderation.detector import Settings

_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SpamSection(StrictModel):
    threshold: float = Field(default=0.5, gt=0.0, le=1.0, description="Spam when the score is at least this.")
    stop_words: list[str] = Field(default_factory=list, description="Extra stop words (matched on normalized text).")
    allow_domains: list[str] = Field(default_factory=list, description="Domains whose links are not spam evidence.")

    @field_validator("allow_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        out = []
        for i, d in enumerate(domains):
            d2 = d.strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
            if not _DOMAIN.match(d2):
                raise ValueError(f"allow_domains[{i}]: {d!r} is not a domain name like example.com")
            out.append(d2)
        return out

    @field_validator("stop_words")
    @classmethod
    def _words(cls, words: list[str]) -> list[str]:
        for i, w in enumerate(words):
            if not w.strip():
                raise ValueError(f"stop_words[{i}] is blank")
        return words

    def to_settings(self) -> Settings:
        from shequn.moderation.detector import Settings  # numpy and the model code load only when a detector is built

        return Settings(threshold=self.threshold, stop_words=tuple(self.stop_words), allow_domains=tuple(self.allow_domains))
