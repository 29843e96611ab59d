"""Captcha (入群验证): a small sum posted on join, to be answered within a time limit.

The challenge is derived from the community, member, group and join time with a hash, not from a
random generator: the same history always gets the same challenges, so a backtest is reproducible and
a live restart asks the same question again.
"""

from __future__ import annotations

import re
import unicodedata
from hashlib import blake2b

_NUMBER = re.compile(r"\d+")


def challenge(community_id: int, member_id: int, group_id: int, joined_ms: int) -> tuple[str, int]:
    """("7 + 5", 12) for this member's join."""
    digest = blake2b(f"{community_id}:{member_id}:{group_id}:{joined_ms}".encode(), digest_size=4).digest()
    a, b = 2 + digest[0] % 18, 2 + digest[1] % 18
    return f"{a} + {b}", a + b


def answers(text: str | None, expected: int) -> bool | None:
    """True if the message answers with ``expected``, False if it gives another number, None if no number."""
    numbers = _NUMBER.findall(unicodedata.normalize("NFKC", text or ""))
    if not numbers:
        return None
    return str(expected) in numbers
