"""Referral codes: one per member, readable aloud, decodable without a database lookup.

Why decodable: the referral module runs in a backtest too, where it sees only events and its own
state; a code that carries the member id (plus a keyed check) attributes a join the same way live
and in a replay. The check (30 bits of HMAC over community and member) makes a mistyped or made-up
code attribute nothing. It is an identifier, not a secret: the rewards are protected by the fraud
guards (the invitee must stay and speak), not by hiding codes.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_VALUE = {c: i for i, c in enumerate(ALPHABET)} | {"I": 1, "L": 1, "O": 0}  # what people mistype
CHECK_CHARS = 6


def _b32(n: int, width: int = 1) -> str:
    out = ""
    while n or len(out) < width:
        n, r = divmod(n, 32)
        out = ALPHABET[r] + out
    return out


def _check(community_id: int, member_id: int) -> str:
    mac = hmac.new(b"shequn referral v1", f"{community_id}:{member_id}".encode(), hashlib.sha256).digest()
    return _b32(int.from_bytes(mac[:4], "big") >> 2, CHECK_CHARS)


def referral_code(community_id: int, member_id: int) -> str:
    """``R`` + the member id in base32 + ``-`` + a 6-character check, e.g. ``R1B-7QX2KD``."""
    return f"R{_b32(member_id)}-{_check(community_id, member_id)}"


def parse_code(community_id: int, text: str) -> int | None:
    """The member id a code stands for in this community, or None if it is not a valid code."""
    raw = "".join(ch for ch in unicodedata.normalize("NFKC", str(text)).upper() if ch.isascii() and ch.isalnum())
    if len(raw) < 2 + CHECK_CHARS or raw[0] != "R":
        return None
    body, check = raw[1:-CHECK_CHARS], raw[-CHECK_CHARS:]
    try:
        member_id = 0
        for ch in body:
            member_id = member_id * 32 + _VALUE[ch]
        check = "".join(ALPHABET[_VALUE[ch]] for ch in check)
    except KeyError:
        return None
    if member_id <= 0 or member_id > 2**53 or not hmac.compare_digest(check, _check(community_id, member_id)):
        return None
    return member_id


def invite_link(base: str, code: str) -> str:
    """The code as a link parameter, for landing pages and QR codes (活码) that pass it on at join."""
    return f"{base}{'&' if '?' in base else '?'}ref={code}"
