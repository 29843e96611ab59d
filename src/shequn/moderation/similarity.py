"""Similarity to known spam: character-shingle Jaccard against the spam samples the detector knows.

Spam comes in campaigns: the same ad again with another phone number, a changed emoji or a word swapped. Exact
matching misses those; the Jaccard similarity of the two texts' sets of 4-character shingles does not. Shingles are
taken from the normalized text with spaces and punctuation removed (so 加.微.信 and 加微信 agree) and hashed into 2^20
buckets; the index is a sparse binary matrix of the known spam, so a whole batch of messages is compared with every
known sample in one sparse matrix product (intersection sizes), in C rather than in Python loops. A batch of queries is
squashed and shingled in numpy (a per-character "is a word character" table instead of one regex call per message),
a few hundred messages at a time so that temporaries stay small.

Known spam = the spam of the shipped training corpus plus every spam sample an operator marked with
``shequn moderation learn`` (``Detector.from_store``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from shequn.moderation import features
from shequn.moderation.features import shingle_matrix

SHINGLE = 4
#: Up to this many texts are compared without scipy (see SpamIndex._nearest_small).
_SMALL_BATCH = 16
#: Only this many characters of a message are shingled (a 1 MB message must not build a 1 M-entry set).
MAX_SIMILARITY_CHARS = 2_000
_NOT_WORD = re.compile(r"[\W_]+")


def squash(normalized: str) -> str:
    """The text the shingles are taken from: no spaces, no punctuation."""
    return _NOT_WORD.sub("", normalized[:MAX_SIMILARITY_CHARS])


@lru_cache(maxsize=1)
def _bmp_kept_by_squash() -> np.ndarray:
    """For every code point below U+10000, whether :func:`squash` keeps it (read off the regex itself, so the two
    agree); the rarer code points above are asked one by one (:func:`_astral_kept_by_squash`)."""
    every = "".join(map(chr, range(0x10000)))
    table = np.zeros(0x10000, dtype=bool)
    for m in re.finditer(r"[^\W_]+", every):
        table[m.start() : m.end()] = True
    return table


@lru_cache(maxsize=4096)
def _astral_kept_by_squash(cp: int) -> bool:
    return _NOT_WORD.match(chr(cp)) is None


def _query_pairs(normalized: list[str], n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(text, bucket) of every shingle of ``[squash(t) for t in normalized]`` (repeats included), as
    :func:`~shequn.moderation.features.shingle_matrix` hashes them, computed from the code points: the characters
    squash drops are dropped with a table lookup, then the 4-grams of each (space-padded) text are hashed."""
    if max(map(len, normalized)) > MAX_SIMILARITY_CHARS:
        normalized = [t[:MAX_SIMILARITY_CHARS] for t in normalized]
    lengths = np.fromiter(map(len, normalized), dtype=np.int64, count=len(normalized)) + 2
    codes = np.frombuffer((" " + " \x00 ".join(normalized) + " \x00").encode("utf-32-le"), dtype=np.uint32)
    keep = _bmp_kept_by_squash()[np.minimum(codes, 0xFFFF)]
    astral = np.flatnonzero(codes > 0xFFFF)
    if len(astral):
        keep[astral] = [_astral_kept_by_squash(cp) for cp in codes[astral].tolist()]
    seps = np.cumsum(lengths + 1) - 1
    keep[seps - lengths] = keep[seps - 1] = keep[seps] = True  # the padding spaces and the separators stay
    codes = codes[keep].astype(np.uint64)
    sizes = np.add.reduceat(keep, seps - lengths).astype(np.int64)  # per text: squashed length + 2 pads + separator
    seps = np.cumsum(sizes) - 1
    rows_all = np.repeat(np.arange(len(normalized), dtype=np.int32), sizes)
    key = codes[:-3] * features._MUL  # (uint64 arrays wrap around silently: the hash wants that)
    key += codes[1:-2]
    key *= features._MUL
    key += codes[2:-1]
    key *= features._MUL
    key += codes[3:]
    key ^= features._SALT[SHINGLE]
    key *= features._MIX
    key >>= np.uint64(64 - n_bits)
    inside = (np.repeat(seps, sizes)[:-3] - np.arange(len(key))) >= SHINGLE  # the shingle ends before the separator
    # int32 indices, as the index matrix has: mixed index types would make scipy copy the index (2^20 rows) per product
    return rows_all[:-3][inside], key[inside].astype(np.int32)


def _query_shingles(normalized: list[str], n_bits: int) -> sp.csr_matrix:
    """``shingle_matrix([squash(t) for t in normalized], SHINGLE)``, from :func:`_query_pairs`."""
    rows, cols = _query_pairs(normalized, n_bits)
    counts = np.bincount(rows, minlength=len(normalized))
    indptr = np.zeros(len(normalized) + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    q = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), cols, indptr), shape=(len(normalized), 1 << n_bits))
    q.sum_duplicates()
    q.data[:] = 1.0
    return q


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
        jaccards, samples = self.nearest_scores(normalized, quote_from=quote_from)
        return [None if j is None else Match(j, s) for j, s in zip(jaccards, samples, strict=True)]

    def nearest_scores(self, normalized: list[str], *, quote_from: float = 0.0) -> tuple[list[float | None], list[str]]:
        """:meth:`nearest_many` as two lists, the best Jaccard (None: no match) and the quoted sample ("" when below
        ``quote_from``): what the detector reads, without a Match object per message."""
        self._build()
        jaccards: list[float | None] = [None] * len(normalized)
        samples = [""] * len(normalized)
        if not self.samples or not normalized:
            return jaccards, samples
        if len(normalized) <= _SMALL_BATCH:
            self._nearest_small(normalized, quote_from, jaccards, samples)
            return jaccards, samples
        for a, b in features._chunks(normalized):
            self._nearest_chunk(normalized[a:b], a, quote_from, jaccards, samples)
        return jaccards, samples

    def _nearest_small(self, normalized: list[str], quote_from: float, jaccards: list[float | None],
                       samples: list[str]) -> None:
        """_nearest_chunk for a few texts (one message checked live) without scipy, whose fixed costs per product
        (checking the 2^20-row index's arrays) are most of a single check. The same sums, so the same Jaccard; when
        samples tie, the one quoted is the one the sparse product lists first (it lists a row's samples in the
        reverse of the order it first reaches them in), so that both ways quote the same sample."""
        mt = self._matrix_t
        n_samples = mt.shape[1]
        rows, cols = _query_pairs(normalized, int(mt.shape[0]).bit_length() - 1)
        if not len(rows):
            return
        pairs = np.unique((rows.astype(np.int64) << 32) | cols.astype(np.int64))  # by text, then bucket; no repeats
        rows, cols = pairs >> 32, pairs & 0xFFFFFFFF
        qsize = np.bincount(rows, minlength=len(normalized)).astype(np.float64)
        lo, lens = mt.indptr[cols], mt.indptr[cols + 1] - mt.indptr[cols]
        total = int(lens.sum())
        if not total:
            return
        at = np.repeat(lo - (np.cumsum(lens) - lens), lens) + np.arange(total)  # the index entries, in product order
        key = np.repeat(rows, lens) * n_samples + mt.indices[at]
        uniq, first, shared = np.unique(key, return_index=True, return_counts=True)
        r, k = uniq // n_samples, uniq % n_samples
        jac = shared / (qsize[r] + self._sizes[k] - shared)
        starts = np.flatnonzero(np.diff(r, prepend=-1))
        best = np.maximum.reduceat(jac, starts)
        for row, start, end, j in zip(r[starts].tolist(), starts.tolist(), np.append(starts[1:], len(r)).tolist(),
                                      best.tolist(), strict=True):
            if qsize[row] < self.min_shingles:
                continue
            jaccards[row] = j
            if j >= quote_from:
                tied = np.flatnonzero(jac[start:end] == j) + start
                samples[row] = self.samples[int(k[tied[np.argmax(first[tied])]])]

    def _nearest_chunk(self, normalized: list[str], offset: int, quote_from: float,
                       jaccards: list[float | None], samples: list[str]) -> None:
        n_bits = int(self._matrix_t.shape[0]).bit_length() - 1
        q = _query_shingles(normalized, n_bits)
        qsize = np.diff(q.indptr).astype(np.float64)
        inter = (q @ self._matrix_t).tocsr()  # texts x samples: shared shingles
        counts = np.diff(inter.indptr)
        rows = np.repeat(np.arange(len(normalized)), counts)
        if not len(rows):
            return
        jac = inter.data / (qsize[rows] + self._sizes[inter.indices] - inter.data)
        nonempty = np.flatnonzero(counts)
        best = np.maximum.reduceat(jac, inter.indptr[nonempty])
        big_enough = qsize[nonempty] >= self.min_shingles
        nonempty, best = nonempty[big_enough], best[big_enough]
        for r, j in zip(nonempty.tolist(), best.tolist(), strict=True):
            jaccards[offset + r] = j
        for r in nonempty[best >= quote_from].tolist():
            a, b = inter.indptr[r], inter.indptr[r + 1]
            samples[offset + r] = self.samples[inter.indices[a + int(np.argmax(jac[a:b]))]]

    def nearest(self, normalized: str) -> Match | None:
        return self.nearest_many([normalized])[0]
