"""Which member an operator means, and how to print a member's name without letting it lie.

Shared by the growth commands (mall, lottery, referral): an operator types a member id, an account
or a display name; names come from chat platforms and may carry Rich markup, HTML, zero-width or
bidi-override characters meant to impersonate someone else in an operator's terminal.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape
from sqlalchemy import Connection, select

from shequn.store.members import MemberError, resolve_member
from shequn.store.tables import members


class MemberNotFound(LookupError):
    """No single member matches what the operator typed; the message says what to type instead."""


def find_member(conn: Connection, community_id: int, who: str) -> int:
    """Member id for an id, an account id or a display name within one community (the same
    resolution as ``shequn points`` and ``shequn members``: ``store.members.resolve_member``)."""
    try:
        return resolve_member(conn, community_id, who, show=safe_text)
    except MemberError as exc:
        raise MemberNotFound(str(exc)) from None


def member_names(conn: Connection, ids) -> dict[int, str]:
    ids = list(set(ids))
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        out.update((r[0], r[1]) for r in conn.execute(select(members.c.id, members.c.display_name).where(members.c.id.in_(chunk))))
    return out


def safe_text(text: str | None, limit: int = 80) -> str:
    """For the terminal: invisible and direction-changing characters shown as \\uXXXX, Rich markup
    escaped, very long names cut. HTML stays literal text (a terminal does not render it)."""
    if text is None:
        return ""
    out = []
    for ch in text[:limit]:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs") or (cat == "Zs" and ch != " "):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    if len(text) > limit:
        out.append("…")
    return escape("".join(out))
