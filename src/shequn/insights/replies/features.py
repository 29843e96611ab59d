"""Pairwise features of each chat message against its previous K messages in the same group.

Why this shape: a message answers (almost always) one of the few dozen messages just before it
(98% of annotated links on ubuntu-irc are within 50 chat messages), so every message gets a
fixed row of K+1 candidates — column 0 is "starts a conversation", column d is the message d
places earlier — and a model scores all of them at once. Features are computed for a whole block
of messages with numpy shifts, never per pair in Python, which is what makes 10,000+ messages/s
possible on one core.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from shequn.insights.replies import text as T

#: candidates per message (previous chat messages in the same group)
K = 50
#: addressed names kept per message
A = 4
#: seconds used for "never" (no previous message by that author in the window)
NEVER_S = 86_400.0

FEATURES = (
    "is_self", "q_i", "greet_i", "thanks_i", "url_i", "yesno_i", "has_addr_i", "has_explicit_i", "log_len_i",
    "author_new_i", "log_dt_prev_i", "log_dt_prev_own_i",
    "log_d", "d1", "d2", "d_le5", "log_dt", "same_author", "i_addr_j", "i_explicit_j", "j_addr_i", "i_addr_other",
    "j_has_addr", "j_last_of_author", "i_author_between", "j_prev_own", "prev_own_addr_j", "log_overlap",
    "cosine", "any_overlap", "q_j", "greet_j", "thanks_j", "url_j", "log_len_j", "yesno_j", "code_i", "code_j",
    "j_author_addr_i_later", "nearest_other", "nearest_addressee", "latest_addr_i", "cos_best", "cos_gap",
    "partners", "overlap_best",
)
F = len(FEATURES)
_C = {name: k for k, name in enumerate(FEATURES)}


@dataclass(slots=True)
class Msg:
    """One chat message as the features see it (the text itself is not kept)."""

    pid: str
    author: int
    t_ms: int
    addr: tuple[int, ...]  # addressed members (author keys), explicit addressee first
    explicit: bool  # addr[0] came from payload "to"/"mentions" or an @name
    flags: int
    nchar: int
    tokens: list[str]


class Vocabulary:
    """Author keys by normalised name, and document frequencies for idf-weighted overlap.

    Document frequencies are learned online from the stream itself, so a Chinese course group and
    an English IRC channel each get their own idea of which words are common; no vocabulary ships.
    """

    def __init__(self, max_terms: int = 400_000):
        self.keys: dict[str, int] = {}
        self.df: dict[str, int] = {}
        self.docs = 0
        self.max_terms = max_terms

    def key(self, name: str) -> int:
        k = self.keys.get(name)
        if k is None:
            k = self.keys[name] = len(self.keys)
        return k

    def rename(self, old: str, new: str) -> None:
        """A nick change: the new name addresses the same member as the old one (unless already known)."""
        o, n = T.norm_name(old), T.norm_name(new)
        if o and n and n not in self.keys:
            self.keys[n] = self.key(o)

    def add_docs(self, docs: Sequence[list[str]]) -> None:
        df = self.df
        for toks in docs:
            for w in toks:
                df[w] = df.get(w, 0) + 1
        self.docs += len(docs)
        if len(df) > self.max_terms:  # bounded memory: forget the rarest terms
            self.df = {w: c for w, c in df.items() if c > 2}

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        n = self.docs + 1.0
        get = self.df.get
        return np.log(n / (1.0 + np.fromiter((get(w, 0) for w in terms), dtype=np.float64, count=len(terms))))


class GroupWindow:
    """The last K chat messages of one group plus the names spoken there (for in-text mentions)."""

    __slots__ = ("recent", "names")

    def __init__(self) -> None:
        self.recent: deque[Msg] = deque(maxlen=K)
        self.names: dict[str, int] = {}


def make_msg(vocab: Vocabulary, window: GroupWindow, pid: str, author_name: str, t_ms: int, text: str,
             payload: dict) -> Msg:
    """Read one chat message: who it addresses, its cues and tokens. Registers the author's name."""
    me = T.norm_name(author_name)
    author = vocab.key(me)
    window.names[me] = author
    text = text or ""
    low = T.clean(text[:2000]).casefold()
    addr: list[int] = []
    explicit = False
    given = []
    to = payload.get("to") if payload else None
    if isinstance(to, str):
        given.append(to)
    ments = payload.get("mentions") if payload else None
    if isinstance(ments, list):
        given.extend(m for m in ments[:A] if isinstance(m, str))
    for name in given:
        n = T.norm_name(name)
        if n and n != me:
            k = window.names.get(n)
            if k is None:
                k = vocab.key(n)
            if k not in addr:
                addr.append(k)
                explicit = True
    if len(addr) < A and low:
        names = window.names
        for pos, n in enumerate(T.name_candidates(low)):
            k = names.get(n)
            if k is not None and n != me and k not in addr and len(n) > 1:
                addr.append(k)
                if pos == 0 and text.lstrip().startswith(("@", "＠")):
                    explicit = True
                if len(addr) >= A:
                    break
    first = low.split(None, 1)[0].strip(",.:!") if low.strip() else ""
    return Msg(pid, author, t_ms, tuple(addr[:A]), explicit, T.cues(low, first), len(text), T.content_tokens(low))


def block_features(vocab: Vocabulary, msgs: Sequence[Msg], start: int | np.ndarray,
                   seg_start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features of the messages at positions ``start`` (an int: ``msgs[start:]``; or an array of
    positions) against their K predecessors in ``msgs``; the others are context.

    ``msgs`` may hold several groups one after another: ``seg_start[p]`` is the first position of
    p's group, and no candidate reaches before it. One call then serves every group of a chunk, so
    many small interleaved groups cost no more than one big one.

    Returns X of shape (n, K+1, F) float32 and a validity mask (n, K+1): column 0 is "starts a
    conversation", column d the message d places back (invalid where the history is shorter).
    All pairs are computed at once on (n, K) index grids.
    """
    S = len(msgs)
    ii = np.arange(start, S) if isinstance(start, (int, np.integer)) else np.asarray(start, dtype=np.int64)
    n = len(ii)
    if n <= 0:
        return np.zeros((0, K + 1, F), dtype=np.float32), np.zeros((0, K + 1), dtype=bool)
    if seg_start is None:
        seg_start = np.zeros(S, dtype=np.int64)
    author = np.fromiter((m.author for m in msgs), dtype=np.int64, count=S)
    t = np.fromiter((m.t_ms for m in msgs), dtype=np.int64, count=S) / 1000.0
    flags = np.fromiter((m.flags for m in msgs), dtype=np.int64, count=S)
    loglen = np.log1p(np.fromiter((m.nchar for m in msgs), dtype=np.float64, count=S))
    explicit = np.fromiter((m.explicit for m in msgs), dtype=bool, count=S)
    addr = np.full((S, A), -1, dtype=np.int64)
    for r, m in enumerate(msgs):
        if m.addr:
            addr[r, :len(m.addr)] = m.addr[:A]
    has_addr = addr[:, 0] >= 0

    # previous / next message by the same author inside the block
    prev_own = np.full(S, -1, dtype=np.int64)
    next_own = np.full(S, S + K + 1, dtype=np.int64)
    last: dict[tuple[int, int], int] = {}
    for r, a in enumerate(zip(seg_start.tolist(), author.tolist())):
        p = last.get(a)
        if p is not None:
            prev_own[r] = p
            next_own[p] = r
        last[a] = r

    Xt = np.zeros((F, n, K + 1), dtype=np.float32)  # feature-major: each feature is one contiguous write
    dist = np.arange(1, K + 1)
    J = ii[:, None] - dist[None, :]  # (n, K) candidate positions
    first = seg_start[ii]
    ok = J >= first[:, None]
    valid = np.ones((n, K + 1), dtype=bool)
    valid[:, 1:] = ok
    J = np.maximum(J, 0)

    # word overlap for every pair within distance K, via sparse products of the block's token sets
    overlap = np.zeros((n, K + 1), dtype=np.float32)
    cosine = np.zeros((n, K + 1), dtype=np.float32)
    col: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    for m in msgs:
        for w in m.tokens:
            indices.append(col.setdefault(w, len(col)))
        indptr.append(len(indices))
    if indices:
        B = sparse.csr_matrix((np.ones(len(indices), dtype=np.float64), np.asarray(indices), np.asarray(indptr)),
                              shape=(S, len(col)))
        idf = vocab.idf(list(col))
        W = B.multiply(idf[None, :]).tocsr()
        norms = np.sqrt(np.asarray(W.multiply(W).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        W = sparse.diags(1.0 / norms) @ W
        cnt = (B[ii] @ B.T).tocoo()
        cos = (W[ii] @ W.T).tocoo()
        for mat, out in ((cnt, overlap), (cos, cosine)):
            d = ii[mat.row] - mat.col
            keep = (d >= 1) & (d <= K) & (mat.col >= first[mat.row])
            out[mat.row[keep], d[keep]] = mat.data[keep]

    def put(name: str, values, pair: bool = True) -> None:
        if pair:
            Xt[_C[name], :, 1:] = values
        else:
            Xt[_C[name]] = np.asarray(values)[:, None]

    # i-side features: the same in every column of a row (the self column included)
    fi = flags[ii]
    put("q_i", (fi & T.Q) > 0, False)
    put("greet_i", (fi & T.GREET) > 0, False)
    put("thanks_i", (fi & T.THANKS) > 0, False)
    put("url_i", (fi & T.URL) > 0, False)
    put("yesno_i", (fi & T.YESNO) > 0, False)
    put("code_i", (fi & T.CODEISH) > 0, False)
    put("has_addr_i", has_addr[ii], False)
    put("has_explicit_i", explicit[ii], False)
    put("log_len_i", loglen[ii], False)
    po = prev_own[ii]
    put("author_new_i", po < 0, False)
    prev_t = np.where(ii > first, t[np.maximum(ii - 1, 0)], t[ii] - NEVER_S)
    put("log_dt_prev_i", np.log1p(np.clip(t[ii] - prev_t, 0, NEVER_S)), False)
    own_t = np.where(po >= 0, t[np.maximum(po, 0)], t[ii] - NEVER_S)
    put("log_dt_prev_own_i", np.log1p(np.clip(t[ii] - own_t, 0, NEVER_S)), False)
    Xt[_C["is_self"], :, 0] = 1.0

    # pair features on the (n, K) grid
    ai = author[ii][:, None]
    aj = author[J]
    addr_i = addr[ii]  # (n, A)
    i_addr_j = _member_of(addr_i, aj)
    fj = flags[J]
    put("log_d", np.log(dist)[None, :])
    put("d1", (dist == 1)[None, :])
    put("d2", (dist == 2)[None, :])
    put("d_le5", (dist <= 5)[None, :])
    put("log_dt", np.log1p(np.clip(t[ii][:, None] - t[J], 0, NEVER_S)))
    put("same_author", aj == ai)
    put("i_addr_j", i_addr_j)
    put("i_explicit_j", (explicit[ii] & has_addr[ii])[:, None] & (addr_i[:, :1] == aj))
    addr_j = addr[J]  # (n, K, A)
    j_addr_i = np.zeros(aj.shape, dtype=bool)
    for a in range(A):
        j_addr_i |= addr_j[:, :, a] == ai
    put("j_addr_i", j_addr_i)
    put("i_addr_other", has_addr[ii][:, None] & ~i_addr_j)
    put("j_has_addr", has_addr[J])
    nj = next_own[J]
    put("j_last_of_author", nj >= ii[:, None])
    put("i_author_between", po[:, None] > J)
    put("j_prev_own", po[:, None] == J)
    po_addr = np.where((po >= 0)[:, None], addr[np.maximum(po, 0)], -1)  # (n, A)
    put("prev_own_addr_j", _member_of(po_addr, aj))
    put("log_overlap", np.log1p(overlap[:, 1:]))
    put("cosine", cosine[:, 1:])
    put("any_overlap", overlap[:, 1:] > 0)
    put("q_j", (fj & T.Q) > 0)
    put("greet_j", (fj & T.GREET) > 0)
    put("thanks_j", (fj & T.THANKS) > 0)
    put("url_j", (fj & T.URL) > 0)
    put("yesno_j", (fj & T.YESNO) > 0)
    put("code_j", (fj & T.CODEISH) > 0)
    put("log_len_j", loglen[J])
    # j's author spoke to i's author again after j: the thread between them moved on
    later = nj < ii[:, None]
    nxt = addr[np.minimum(nj, S - 1)]
    spoke_to_i = np.zeros(aj.shape, dtype=bool)
    for a in range(A):
        spoke_to_i |= nxt[:, :, a] == ai
    put("j_author_addr_i_later", later & spoke_to_i)

    # relative features: is j the first of its kind looking back from i?
    def first_true(grid: np.ndarray) -> np.ndarray:
        g = grid & ok
        return g & (np.cumsum(g, axis=1) == 1)

    put("nearest_other", first_true(aj != ai))
    put("nearest_addressee", first_true(i_addr_j))
    put("latest_addr_i", first_true(j_addr_i))
    cos = np.where(ok, cosine[:, 1:], 0.0)
    best = cos.max(axis=1, keepdims=True)
    put("cos_best", (cos == best) & (best > 0))
    put("cos_gap", best - cos)
    ov = np.where(ok, overlap[:, 1:], 0.0)
    put("overlap_best", (ov == ov.max(axis=1, keepdims=True)) & (ov > 0))
    put("partners", _partners(author, addr, ii, aj, ai, first))
    Xt[:, :, 1:][:, ~ok] = 0.0
    return Xt.transpose(1, 2, 0), valid


def _member_of(rows: np.ndarray, who: np.ndarray) -> np.ndarray:
    """(n, K): is who[r, k] among rows[r, :] (the A addressees of row r)? -1 never matches."""
    hit = np.zeros(who.shape, dtype=bool)
    for a in range(rows.shape[1]):
        col = rows[:, a]
        if (col >= 0).any():
            hit |= col[:, None] == who
    return hit


def _partners(author: np.ndarray, addr: np.ndarray, ii: np.ndarray, aj: np.ndarray, ai: np.ndarray,
              first: np.ndarray) -> np.ndarray:
    """(n, K): did i's and j's authors address each other (either way) in the K messages before i?

    Each addressing is a (pair, position) code in one sorted array; a pair's talk inside the
    window is two binary searches, so this stays vectorised however chatty the group is.
    """
    S = len(author)
    src, pos = np.nonzero(addr >= 0)
    if len(src) == 0:
        return np.zeros(aj.shape, dtype=bool)
    a, b = author[src], addr[src, pos]
    keep = a != b
    a, b, src = a[keep], b[keep], src[keep]
    if len(src) == 0:
        return np.zeros(aj.shape, dtype=bool)
    big = np.int64(1) << 31
    pair = np.minimum(a, b) * big + np.maximum(a, b)
    uniq, dense = np.unique(pair, return_inverse=True)
    codes = np.sort(dense.astype(np.int64) * (S + 1) + src)
    q = np.minimum(aj, ai) * big + np.maximum(aj, ai)  # (n, K)
    qi = np.searchsorted(uniq, q)
    qi_c = np.minimum(qi, len(uniq) - 1)
    known = uniq[qi_c] == q
    out = np.zeros(aj.shape, dtype=bool)
    r, k = np.nonzero(known)
    if len(r):
        base = qi_c[r, k].astype(np.int64) * (S + 1)
        lo = base + np.maximum(ii[r] - K, first[r])
        hi = base + ii[r]
        out[r, k] = np.searchsorted(codes, hi) > np.searchsorted(codes, lo)
    return out
