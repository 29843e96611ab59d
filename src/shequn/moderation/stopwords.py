"""Stop words: phrases that almost only appear in ads and scams (代开发票, 刷单, 日赚, "claim your prize", "пассивный доход").

The shipped list is ``data/stop_words.txt`` (Chinese, English, Russian); a playbook can add its own. Phrases are
normalized like messages, so 代開發票 or ＣＬＩＣＫ ＨＥＲＥ hit too. Latin and Cyrillic phrases match whole words
("prize" hits "prize!" but not "prizes"); Chinese phrases match anywhere (there are no word boundaries to use).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import ahocorasick

from shequn.moderation.normalize import normalize


def shipped_stop_words() -> list[str]:
    text = resources.files("shequn.moderation").joinpath("data/stop_words.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class StopWords:
    """Finds the listed phrases in normalized text in one pass (an Aho-Corasick automaton, ``pyahocorasick``);
    Latin/Cyrillic phrases must also start and end on word boundaries."""

    def __init__(self, words: list[str] | tuple[str, ...]):
        normalized = sorted({normalize(w).strip() for w in words if w and w.strip()}, key=lambda w: (-len(w), w))
        self.words = tuple(w for w in normalized if w)
        self._automaton = ahocorasick.Automaton()
        for w in self.words:
            head = w[0].isalnum() and not _is_cjk(w[0])
            tail = w[-1].isalnum() and not _is_cjk(w[-1])
            self._automaton.add_word(w, (w, head, tail))
        if self.words:
            self._automaton.make_automaton()

    def find(self, normalized: str) -> list[str]:
        if not self.words:
            return []
        found: list[str] = []
        n = len(normalized)
        for end, (w, head, tail) in self._automaton.iter(normalized):
            start = end - len(w) + 1
            if head and start > 0 and _word_char(normalized[start - 1]):
                continue
            if tail and end + 1 < n and _word_char(normalized[end + 1]):
                continue
            if w not in found:
                found.append(w)
        if len(found) > 1:  # 恭喜中奖 already covers 中奖
            found = [w for w in found if not any(w != o and w in o for o in found)]
        return found

    def extended(self, extra: list[str] | tuple[str, ...]) -> StopWords:
        return StopWords(list(self.words) + list(extra)) if extra else self


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return 0x2E80 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x3FFFF


@lru_cache(maxsize=1)
def default_stop_words() -> StopWords:
    return StopWords(shipped_stop_words())
