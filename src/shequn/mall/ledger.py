"""The points ledger as the growth features use it (mall prices, red packets, lottery eligibility).

The ledger belongs to the points capability (``shequn.points.ledger``); this is the one place the
growth code reaches for it, so a missing or renamed ledger gives one clear error.
"""

from __future__ import annotations

from sqlalchemy import Connection


class LedgerUnavailable(RuntimeError):
    pass


def ledger_for(conn: Connection, community_id: int):
    """A ledger writing inside ``conn``'s transaction (so points and stock commit together)."""
    try:
        from shequn.points.ledger import DbLedger
    except ImportError as exc:  # pragma: no cover - only without the points capability
        raise LedgerUnavailable(f"the points ledger (shequn.points) is not available: {exc}") from exc
    return DbLedger(conn, community_id)
