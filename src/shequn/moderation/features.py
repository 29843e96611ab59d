"""Hashed character n-grams (1..4) for a whole batch of messages at once, in numpy.

Why not scikit-learn's ``HashingVectorizer(analyzer="char_wb")``: its analyzer builds every n-gram as a Python string,
about 280 µs for one 60-character message here, which alone would cap the detector far below 20,000 messages/s. This
module computes the same kind of feature — each n-gram of the text (padded with a space on both ends) hashed into
2^20 buckets — with array arithmetic over the concatenated batch, in a few µs per message. Training
(``shequn.moderation.train``) and checking both use it, so the features always agree.

A document's feature vector is its n-gram counts divided by sqrt(number of n-grams); the score of a linear model is
then ``sum(weights[bucket] for each n-gram) / sqrt(n)``, which :func:`dot` computes without building a matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

N_BITS = 20
N_FEATURES = 1 << N_BITS
NGRAM_MAX = 4
#: Only this many characters of a message are featurized (a megabyte must not cost a megabyte of n-grams).
MAX_FEATURE_CHARS = 2_000

_MUL = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of (key * golden ratio) are well spread
_SALT = [np.uint64((0x632BE59BD9B4E019 * n) & 0xFFFFFFFFFFFFFFFF) for n in range(NGRAM_MAX + 1)]


def _codes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all texts, each padded with spaces and followed by a separator; and the doc of each position
    (-1 on separators)."""
    padded = [" " + t[:MAX_FEATURE_CHARS] + " " for t in texts]
    joined = "\x00".join(padded) + "\x00"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(p) + 1 for p in padded), dtype=np.int64, count=len(padded))
    docs = np.repeat(np.arange(len(padded), dtype=np.int32), lengths)
    docs[np.cumsum(lengths) - 1] = -1
    return codes, docs


def _ngrams(codes: np.ndarray, docs: np.ndarray, n_bits: int, ngram_max: int = NGRAM_MAX):
    """For n = 1..ngram_max: (n, mask of start positions whose n-gram lies inside one document, bucket per position).

    The n-gram key is built incrementally (key_n = key_{n-1} * P + next code), salted by n, and bucketed by its top
    ``n_bits`` bits after one multiply (Fibonacci hashing)."""
    key = codes
    shift = np.uint64(64 - n_bits)
    with np.errstate(over="ignore"):
        for n in range(1, ngram_max + 1):
            m = len(codes) - n + 1
            if m <= 0:
                return
            if n > 1:
                key = key[:-1] * _MUL
                key += codes[n - 1 :]
            bucket = key ^ _SALT[n]
            bucket *= _MIX
            bucket >>= shift
            inside = docs[:m] >= 0
            if n > 1:  # two separators n-1 apart (an empty text) are not an n-gram
                inside &= docs[:m] == docs[n - 1 :]
            yield n, inside, bucket.astype(np.int64)


def _hash_ngrams(codes: np.ndarray, docs: np.ndarray, n_bits: int = N_BITS):
    """(doc index, bucket) of every n-gram (n = 1..4) that lies inside one document."""
    rows, cols = [], []
    for n, inside, bucket in _ngrams(codes, docs, n_bits):
        rows.append(docs[: len(inside)][inside])
        cols.append(bucket[inside])
    return np.concatenate(rows), np.concatenate(cols)


def shingle_matrix(texts: list[str], n: int = 4, n_bits: int = N_BITS) -> sp.csr_matrix:
    """Binary matrix of the texts' hashed n-grams of one length only (the similarity check's shingles)."""
    if not texts:
        return sp.csr_matrix((0, 1 << n_bits), dtype=np.float32)
    codes, docs = _codes(texts)
    for k, inside, bucket in _ngrams(codes, docs, n_bits, ngram_max=n):
        if k == n:
            rows, cols = docs[: len(inside)][inside], bucket[inside]
            break
    else:  # the batch is shorter than n characters in all
        rows, cols = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), 1 << n_bits))
    x.sum_duplicates()
    x.data[:] = 1.0
    return x


def transform(texts: list[str], n_bits: int = N_BITS) -> sp.csr_matrix:
    """The feature matrix (one row per text) used for training: counts / sqrt(number of n-grams)."""
    if not texts:
        return sp.csr_matrix((0, 1 << n_bits), dtype=np.float32)
    codes, docs = _codes(texts)
    rows, cols = _hash_ngrams(codes, docs, n_bits)
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), 1 << n_bits))
    x.sum_duplicates()
    per_doc = np.bincount(rows, minlength=len(texts)).astype(np.float32)
    scale = 1.0 / np.sqrt(np.maximum(per_doc, 1.0))
    return sp.diags(scale).dot(x).tocsr()


def dot(texts: list[str], weights: np.ndarray) -> np.ndarray:
    """``transform(texts) @ weights`` without building the matrix (the fast path for checking)."""
    if not texts:
        return np.zeros(0)
    n_bits = int(len(weights)).bit_length() - 1
    codes, docs = _codes(texts)
    rows, cols = _hash_ngrams(codes, docs, n_bits)
    sums = np.bincount(rows, weights=weights[cols], minlength=len(texts))
    per_doc = np.bincount(rows, minlength=len(texts))
    return sums / np.sqrt(np.maximum(per_doc, 1))


def strongest_many(texts: list[str], weights: np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
    """For each text, the k n-grams with the largest positive weights (for explanations), computed for the whole
    batch at once. Only 3- and 4-grams and 2-grams of non-ASCII characters are considered: shorter ones are too
    common to tell a reader anything."""
    if not texts:
        return []
    n_bits = int(len(weights)).bit_length() - 1
    codes, docs = _codes(texts)
    joined = "\x00".join(" " + t[:MAX_FEATURE_CHARS] + " " for t in texts)
    doc_l, w_l, pos_l, n_l = [], [], [], []
    for n, inside, bucket in _ngrams(codes, docs, n_bits):
        if n < 2:
            continue
        ok = inside
        if n == 2:
            ok = inside & (codes[: len(inside)] > 127) & (codes[1 : 1 + len(inside)] > 127)
        pos = np.flatnonzero(ok)
        w = weights[bucket[pos]]
        pos_w = w > 0
        doc_l.append(docs[pos][pos_w])
        w_l.append(w[pos_w])
        pos_l.append(pos[pos_w])
        n_l.append(np.full(int(pos_w.sum()), n))
    doc, w, pos, ns = (np.concatenate(x) for x in (doc_l, w_l, pos_l, n_l))
    order = np.lexsort((-w, doc))
    d_sorted = doc[order]
    rank = np.arange(len(order)) - np.searchsorted(d_sorted, d_sorted, side="left")
    out: list[list[tuple[str, float]]] = [[] for _ in texts]
    for i in order[rank < 4 * k].tolist():  # the best few candidates of each text, best first
        d = int(doc[i])
        if len(out[d]) >= k:
            continue
        g = joined[pos[i] : pos[i] + ns[i]].strip()
        if (len(g) >= 3 or (len(g) == 2 and not g.isascii())) and all(g not in o and o not in g for o, _ in out[d]):
            out[d].append((g, float(w[i])))
    return out


def strongest(text: str, weights: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
    """:func:`strongest_many` for one text."""
    return strongest_many([text], weights, k)[0]


def ngram_columns(text: str, n_bits: int = N_BITS) -> list[tuple[str, int]]:
    """Each n-gram of one text with its bucket (to inspect or test the hashing)."""
    padded = " " + text[:MAX_FEATURE_CHARS] + " "
    codes, docs = _codes([text])
    return [(padded[i : i + n], int(bucket[i])) for n, inside, bucket in _ngrams(codes, docs, n_bits)
            for i in np.flatnonzero(inside)]
