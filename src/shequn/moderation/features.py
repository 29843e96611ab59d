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
#: The checking paths (:func:`dot`, :func:`strongest_many`) work through a batch this many characters at a time. Small
#: temporaries are reused by the allocator; a batch-sized one is fresh memory every time, and its page faults cost more
#: than the arithmetic (measured: about half of ``dot`` for a batch of 2,000 messages).
CHUNK_CHARS = 1 << 14

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
    for n, bucket in _buckets(codes, n_bits, ngram_max):
        m = len(bucket)
        inside = docs[:m] >= 0
        if n > 1:  # two separators n-1 apart (an empty text) are not an n-gram
            inside &= docs[:m] == docs[n - 1 :]
        yield n, inside, bucket.astype(np.int64)


def _buckets(codes: np.ndarray, n_bits: int, ngram_max: int = NGRAM_MAX):
    """For n = 1..ngram_max: (n, hash bucket of the n-gram starting at each position, as uint64), the one
    hashing both the training features and the batch scorer use. Stops when the codes are shorter than n."""
    key = codes
    shift = np.uint64(64 - n_bits)
    with np.errstate(over="ignore"):  # uint64 arrays wrap around silently: the hash wants that
        for n in range(1, ngram_max + 1):
            if len(codes) - n + 1 <= 0:
                return
            if n > 1:
                key = key[:-1] * _MUL
                key += codes[n - 1 :]
            bucket = key ^ _SALT[n]
            bucket *= _MIX
            bucket >>= shift
            yield n, bucket


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


def _chunks(texts: list[str]):
    """Index ranges [a, b) of consecutive texts holding about :data:`CHUNK_CHARS` characters (at least one text)."""
    if len(texts) <= 64 and sum(map(len, texts)) + 3 * len(texts) <= CHUNK_CHARS:
        if texts:
            yield 0, len(texts)
        return
    sizes = np.minimum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), MAX_FEATURE_CHARS) + 3
    ends = np.cumsum(sizes)
    a, n = 0, len(texts)
    while a < n:
        base = ends[a - 1] if a else 0
        b = max(a + 1, int(np.searchsorted(ends, base + CHUNK_CHARS, side="right")))
        yield a, min(b, n)
        a = b


def dot(texts: list[str], weights: np.ndarray, *, any_order: bool | None = None) -> np.ndarray:
    """``transform(texts) @ weights`` without building the matrix (the fast path for checking)."""
    return dot_marked(texts, weights, any_order=any_order)[0]


def sums_exact(weights: np.ndarray) -> bool:
    """Whether every sum of these weights is exact in float64, in any order: true of float16 values (the shipped and
    every stored model: ``SpamModel.to_bytes`` keeps float16), whose sums over a text need at most 53 bits."""
    return bool(np.array_equal(weights.astype(np.float16).astype(weights.dtype), weights))


def dot_marked(texts: list[str], weights: np.ndarray, marks: np.ndarray | None = None, n_min: int = 1, *,
               any_order: bool | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`dot`, and (with ``marks``, one bool per bucket) for each text whether one of its n-grams with
    n >= ``n_min`` falls in a marked bucket: the n-grams are hashed anyway, and a lookup more tells whether a text
    may contain one of a few strings (mark the buckets of their first 4 characters, :func:`bucket_of`; a text with
    no marked n-gram holds none of them). Only the first MAX_FEATURE_CHARS characters of a text are read.

    The weights are summed chunk by chunk, per position and then per text; ``any_order`` (default: ask
    :func:`sums_exact`) says that this gives the very sums the reference order does (:func:`_dot_in_order`, n-gram
    length first, as ``transform`` lays them out), which is then only used for weights it does not hold for (a model
    just fitted, in cross-validation)."""
    out = np.empty(len(texts))
    marked = np.zeros(len(texts), dtype=bool) if marks is not None else None
    for a, b in _chunks(texts):
        out[a:b] = _dot_chunk(texts[a:b], weights, marks, n_min, None if marked is None else marked[a:b])
    if texts and not (sums_exact(weights) if any_order is None else any_order):
        out = _dot_in_order(texts, weights)
    return out, marked


def _dot_in_order(texts: list[str], weights: np.ndarray) -> np.ndarray:
    n_bits = len(weights).bit_length() - 1
    codes, docs = _codes(texts)
    rows, cols = _hash_ngrams(codes, docs, n_bits)
    sums = np.bincount(rows, weights=weights[cols], minlength=len(texts))
    per_doc = np.bincount(rows, minlength=len(texts))
    return sums / np.sqrt(np.maximum(per_doc, 1))


def _dot_chunk(texts: list[str], weights: np.ndarray, marks: np.ndarray | None = None, n_min: int = 1,
               marked: np.ndarray | None = None) -> np.ndarray:
    """Per text: the sum of its n-grams' weights / sqrt(number of n-grams). The sum is gathered per start position (an
    n-gram that runs past its text's end weighs 0) and added up per text; the count follows from the length. Marked
    n-grams are noted per start position too (one running past its text only ever adds a text to ``marked``)."""
    n_bits = len(weights).bit_length() - 1
    if max(map(len, texts)) > MAX_FEATURE_CHARS:
        texts = [t[:MAX_FEATURE_CHARS] for t in texts]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 2  # padded with a space on both ends
    codes = np.frombuffer((" " + " \x00 ".join(texts) + " \x00").encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    seps = np.cumsum(lengths + 1) - 1
    left = np.repeat(seps, lengths + 1) - np.arange(len(codes))  # characters left in the text from here (0 on a separator)
    acc = np.zeros(len(codes))
    hit = np.zeros(len(codes), dtype=bool) if marks is not None else None
    for n, bucket in _buckets(codes, n_bits):
        m = len(bucket)
        at = bucket.view(np.int64)
        w = weights[at]
        w[left[:m] < n] = 0.0
        acc[:m] += w
        if hit is not None and n >= n_min:
            hit[:m] |= marks[at]
    count = sum(np.maximum(lengths - (n - 1), 0) for n in range(1, NGRAM_MAX + 1))  # n-grams per padded text
    starts = seps - lengths
    if marked is not None:
        marked |= np.logical_or.reduceat(hit, starts)
    sums = np.add.reduceat(acc, starts)
    return sums / np.sqrt(np.maximum(count, 1))


def bucket_of(gram: str, n_bits: int = N_BITS) -> int:
    """The bucket :func:`transform` hashes this n-gram to (n = its length, 1..NGRAM_MAX)."""
    n = len(gram)
    key = 0
    for ch in gram:
        key = (key * int(_MUL) + ord(ch)) & 0xFFFFFFFFFFFFFFFF
    return (((key ^ int(_SALT[n])) * int(_MIX)) & 0xFFFFFFFFFFFFFFFF) >> (64 - n_bits)


def strongest_many(texts: list[str], weights: np.ndarray, k: int = 3) -> list[list[tuple[str, float]]]:
    """For each text, the k n-grams with the largest positive weights (for explanations), computed for the whole
    batch at once. Only 3- and 4-grams and 2-grams of non-ASCII characters are considered: shorter ones are too
    common to tell a reader anything."""
    out: list[list[tuple[str, float]]] = []
    for a, b in _chunks(texts):
        out += _strongest_chunk(texts[a:b], weights, k)
    return out


def _strongest_chunk(texts: list[str], weights: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
    n_bits = int(len(weights)).bit_length() - 1
    codes, docs = _codes(texts)
    joined = "\x00".join(" " + t[:MAX_FEATURE_CHARS] + " " for t in texts)
    pos_l, n_l, w_l = [], [], []
    for n, inside, bucket in _ngrams(codes, docs, n_bits):
        if n < 2:
            continue
        ok = inside
        if n == 2:
            ok = inside & (codes[: len(inside)] > 127) & (codes[1 : 1 + len(inside)] > 127)
        pos = np.flatnonzero(ok)
        w = weights[bucket[pos]]
        positive = w > 0
        pos_l.append(pos[positive])
        w_l.append(w[positive])
        n_l.append(np.full(len(pos_l[-1]), n, dtype=np.int8))
    pos, w, ns = (np.concatenate(x) for x in (pos_l, w_l, n_l))
    doc = docs[pos].astype(np.int64)
    # Sort by (text, weight descending, then candidate order) with one int64 sort: the text in the top bits, then the
    # weight (the bits of a positive float32 order like its value), then the candidate's index (a chunk has fewer than
    # 2^18 candidates and 2^14 texts), which also makes ties come out in candidate order.
    inv_w = np.int64(0x7FFFFFFF) - w.astype(np.float32).view(np.int32).astype(np.int64)
    order = np.sort((doc << 49) | (inv_w << 18) | np.arange(len(pos), dtype=np.int64)) & ((1 << 18) - 1)
    d_sorted = doc[order]
    new_text = np.flatnonzero(np.diff(d_sorted, prepend=-1))  # where each text's candidates begin
    rank = np.arange(len(order)) - np.repeat(new_text, np.diff(new_text, append=len(order)))
    best = order[rank < 4 * k]  # the best few candidates of each text, best first
    out: list[list[tuple[str, float]]] = [[] for _ in texts]
    for d, p, n, wi in zip(doc[best].tolist(), pos[best].tolist(), ns[best].tolist(), w[best].tolist(), strict=True):
        found = out[d]
        if len(found) >= k:
            continue
        g = joined[p : p + n].strip()
        if len(g) < 2 or (len(g) == 2 and g.isascii()):
            continue
        for o, _ in found:  # not part of (nor containing) an n-gram already named
            if g in o or o in g:
                break
        else:
            found.append((g, wi))
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
