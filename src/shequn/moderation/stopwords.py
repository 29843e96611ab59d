"""Stop words: phrases that almost only appear in ads and scams (代开发票, 刷单, 日赚, "claim your prize", "пассивный доход").

The shipped list is ``data/stop_words.txt`` (Chinese, English, Russian); a playbook can add its own. Phrases are
normalized like messages, so 代開發票 or ＣＬＩＣＫ ＨＥＲＥ hit too. Latin and Cyrillic phrases match whole words
("prize" hits "prize!" but not "prizes"); Chinese phrases match anywhere (there are no word boundaries to use).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import ahocorasick
import numpy as np

from shequn.moderation import features
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
        self._marks: dict[int, np.ndarray] = {}
        self._shortest = min(min((len(w) for w in self.words), default=1), features.NGRAM_MAX)

    def first_ngram_marks(self, n_bits: int = features.N_BITS) -> tuple[np.ndarray | None, int]:
        """The feature buckets of each word's first 4 characters (the whole word if shorter), and the shortest such
        n: a text none of whose n-grams falls in one holds no word (:meth:`find_many`'s ``maybe``)."""
        if not self.words:
            return None, 1
        if n_bits not in self._marks:
            marks = np.zeros(1 << n_bits, dtype=bool)
            for w in self.words:
                marks[features.bucket_of(w[: features.NGRAM_MAX], n_bits)] = True
            self._marks[n_bits] = marks
        return self._marks[n_bits], self._shortest

    def find_many(self, normalized_texts: list[str], maybe: list[bool] | None = None) -> list[list[str]]:
        """``[self.find(t) for t in normalized_texts]``; ``maybe`` (from :func:`features.dot_marked` with
        :meth:`first_ngram_marks`) skips the texts that cannot hold a word: the automaton costs ~100 ns a character
        (about 6 in 7 texts hold none of the words' first n-grams). Texts longer than the features read are always
        scanned."""
        if not self.words:
            return [[] for _ in normalized_texts]
        if maybe is None:
            return [self.find(t) for t in normalized_texts]
        find, cap = self.find, features.MAX_FEATURE_CHARS
        return [find(t) if m or len(t) > cap else [] for t, m in zip(normalized_texts, maybe, strict=True)]

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
