"""Similarity to known spam: character-shingle Jaccard against the spam samples the detector knows.

Spam comes in campaigns: the same ad again with another phone number, a changed emoji or a word swapped. Exact
matching misses those; the Jaccard similarity of the two texts' sets of 4-character shingles does not. Shingles are
taken from the normalized text with spaces and punctuation removed (so 加.微.信 and 加微信 agree) and hashed into 2^20
buckets; the index is a sparse binary matrix of the known spam, so a whole batch of messages is compared with every
known sample in one sparse matrix product (intersection sizes), in C rather than in Python loops.

Known spam = the spam of the shipped training corpus plus every spam sample an operator marked with
``shequn moderation learn`` (``Detector.from_store``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from shequn.moderation.features import shingle_matrix

SHINGLE = 4
#: Only this many characters of a message are shingled (a 1 MB message must not build a 1 M-entry set).
MAX_SIMILARITY_CHARS = 2_000
_NOT_WORD = re.compile(r"[\W_]+")


def squash(normalized: str) -> str:
    """The text the shingles are taken from: no spaces, no punctuation."""
    return _NOT_WORD.sub("", normalized[:MAX_SIMILARITY_CHARS])


@dataclass(frozen=True)
class Match:
    jaccard: float
    sample: str  # the known spam text it resembles (normalized); "" when not asked for


class SpamIndex:
    """Nearest known spam by shingle Jaccard."""

    def __init__(self, normalized_spam: list[str] | tuple[str, ...] = (), *, min_shingles: int = 3):
        self.min_shingles = min_shingles
        self.samples: list[str] = []
        self._matrix_t: sp.csr_matrix | None = None  # buckets x samples
        self._sizes = np.zeros(0)
        self._pending: list[str] = list(normalized_spam)

    def __len__(self) -> int:
        self._build()
        return len(self.samples)

    def add(self, normalized: str) -> None:
        self._pending.append(normalized)

    def _build(self) -> None:
        if not self._pending:
            return
        new = self._pending
        self._pending = []
        m = shingle_matrix([squash(t) for t in new])
        sizes = np.diff(m.indptr)
        keep = np.flatnonzero(sizes >= self.min_shingles)  # a 5-character "spam" would make every short text look like it
        m = m[keep]
        old = self._matrix_t.T.tocsr() if self._matrix_t is not None else None
        full = m if old is None else sp.vstack([old, m]).tocsr()
        self.samples.extend(new[i] for i in keep)
        self._sizes = np.diff(full.indptr).astype(np.float64)
        self._matrix_t = full.T.tocsr()

    def nearest_many(self, normalized: list[str], *, quote_from: float = 0.0) -> list[Match | None]:
        """For each text, the most similar known spam (None when none shares a shingle or the text is too short).

        The sample text is looked up only for matches with Jaccard >= ``quote_from`` (the rest report the score with
        an empty ``sample``): finding the arg-max per row is the one part done in Python."""
        self._build()
        if not self.samples or not normalized:
            return [None] * len(normalized)
        q = shingle_matrix([squash(t) for t in normalized])
        qsize = np.diff(q.indptr).astype(np.float64)
        inter = (q @ self._matrix_t).tocsr()  # texts x samples: shared shingles
        out: list[Match | None] = [None] * len(normalized)
        counts = np.diff(inter.indptr)
        rows = np.repeat(np.arange(len(normalized)), counts)
        if not len(rows):
            return out
        jac = inter.data / (qsize[rows] + self._sizes[inter.indices] - inter.data)
        nonempty = np.flatnonzero(counts)
        best = np.maximum.reduceat(jac, inter.indptr[nonempty])
        for r, j in zip(nonempty.tolist(), best.tolist(), strict=True):
            if qsize[r] < self.min_shingles:
                continue
            sample = ""
            if j >= quote_from:
                a, b = inter.indptr[r], inter.indptr[r + 1]
                sample = self.samples[inter.indices[a + int(np.argmax(jac[a:b]))]]
            out[r] = Match(j, sample)
        return out

    def nearest(self, normalized: str) -> Match | None:
        return self.nearest_many([normalized])[0]
