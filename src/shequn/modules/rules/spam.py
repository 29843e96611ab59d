"""Which ad/spam detector the rules' ``spam_score`` uses: what the operator taught, else the shipped one.

``shequn moderation learn`` stores marked samples and a retrained model in the database; a rule on
``spam_score`` must score with that model, live and in a backtest alike, or teaching the detector would
never change what the playbook does. Loading a model is slow (about a second), so each run (one
``LiveIngest`` or one backtest: one rules module) loads it once per community, on the first message a
``spam_score`` condition looks at, and keeps it. A live process picks up a newer model when it restarts.

The database is reached through ``ctx.store``: live, the event's transaction; in a backtest, its read
connection. With no database at all (unit tests, what-if runs) the shipped model is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shequn.engine.module import Context

if TYPE_CHECKING:
    from shequn.moderation.detector import Detector
    from shequn.moderation.settings import SpamSection


class SpamDetectors:
    """One detector per community for the lifetime of a rules module, tuned by the playbook's ``spam:`` section."""

    def __init__(self, section: SpamSection | None = None):
        self.section = section
        self._by_community: dict[int, Detector] = {}

    def get(self, ctx: Context) -> Detector:
        detector = self._by_community.get(ctx.community_id)
        if detector is None:
            detector = self._load(ctx)
            self._by_community[ctx.community_id] = detector
        return detector

    def _load(self, ctx: Context) -> Detector:
        from shequn.moderation.detector import Detector

        conn = ctx.store
        detector = Detector.from_store(conn) if conn is not None else Detector.default()
        return detector.with_settings(self.section.to_settings()) if self.section is not None else detector
