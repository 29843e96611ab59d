"""Anti-farming 防刷分: what counts as "the same text" and how long a text really is.

Farmers pad messages with zero-width characters, full-width letters, look-alike Cyrillic letters,
spaces and punctuation, or HTML. Both checks work on the moderation library's normalized text
(``shequn.moderation.normalize``: invisible characters removed, NFKC, homoglyphs folded, case-folded)
with every non-word character then dropped, so "hello!!", "ＨＥＬＬＯ" and "he\u200bllo" are one text
of length 5.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from hashlib import blake2b

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_TAGS = re.compile(r"<[^>]{0,200}>")


@lru_cache(maxsize=1)
def _normalizer():
    try:
        from shequn.moderation.normalize import normalize
    except ImportError:  # the moderation library is optional here: fall back to the Unicode basics
        def normalize(text: str) -> str:
            text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
            return unicodedata.normalize("NFKC", text).casefold()
    return normalize


def squash(text: str | None) -> str:
    """The visible words of a message: tags, invisible characters, case, spaces and punctuation gone."""
    if not text:
        return ""
    text = _TAGS.sub("", text[:10_000])  # a huge message is judged by its first 10,000 characters
    return _NOT_WORD.sub("", _normalizer()(text).casefold())


def fingerprint(squashed: str) -> str:
    """Short, stable, JSON-safe: kept per member in module state for duplicate detection."""
    return blake2b(squashed.encode("utf-8"), digest_size=8).hexdigest()
