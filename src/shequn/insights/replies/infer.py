"""Streaming reply inference over stored events (see the package docstring for the API).

Events are taken in chunks; inside a chunk each group's chat messages are featurised as one block
against that group's window of the last K messages, scored in one pass, and the events are yielded
back in their input order. Memory is the chunk plus K messages per group, however long the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from shequn.domain.events import CHAT_KINDS, EventKind, StoredEvent
from shequn.insights.replies.features import GroupWindow, Msg, Vocabulary, block_features, make_msg
from shequn.insights.replies.model import ReplyModel, load_model

CHUNK = 2048


@dataclass(slots=True)
class Block:
    """The chat messages of one chunk (all groups), with their features.

    ``seq`` holds, group after group, each group's window followed by its new messages; row r of
    ``X`` is the message ``seq[pos[r]]`` (event ``index[r]`` of the chunk), and its candidate in
    column d is ``seq[pos[r] - d]``.
    """

    index: list[int]
    seq: list[Msg]
    pos: np.ndarray
    X: np.ndarray
    valid: np.ndarray


def _author_name(ev: StoredEvent) -> str:
    if ev.member_name:
        return ev.member_name
    return f"#identity-{ev.identity_id}" if ev.identity_id is not None else "#unknown"


class ReplyStream:
    """Keeps the per-group windows and word statistics between chunks."""

    def __init__(self, model: ReplyModel | None = None):
        self.model = model
        self.vocab = Vocabulary()
        self.windows: dict[int, GroupWindow] = {}

    def blocks(self, chunk: list[StoredEvent]) -> list[Block]:
        """Featurise one chunk; advances the windows."""
        per_group: dict[int, tuple[list[int], list[Msg]]] = {}
        vocab = self.vocab
        for idx, ev in enumerate(chunk):
            kind = ev.kind
            if kind not in CHAT_KINDS:
                if kind == EventKind.RENAME and ev.payload:
                    old, new = ev.payload.get("old"), ev.payload.get("new")
                    if isinstance(old, str) and isinstance(new, str):
                        vocab.rename(old, new)
                continue
            win = self.windows.get(ev.group_id)
            if win is None:
                win = self.windows[ev.group_id] = GroupWindow()
            msg = make_msg(vocab, win, ev.platform_id, _author_name(ev), ev.at_ms, ev.text or "", ev.payload)
            entry = per_group.get(ev.group_id)
            if entry is None:
                entry = per_group[ev.group_id] = ([], [])
            entry[0].append(idx)
            entry[1].append(msg)
        vocab.add_docs([m.tokens for _, msgs in per_group.values() for m in msgs])
        if not per_group:
            return []
        seq: list[Msg] = []
        seg: list[int] = []
        pos: list[int] = []
        index: list[int] = []
        for gid, (idx, msgs) in per_group.items():
            win = self.windows[gid]
            first = len(seq)
            seq.extend(win.recent)
            pos.extend(range(len(seq), len(seq) + len(msgs)))
            seq.extend(msgs)
            seg.extend([first] * (len(seq) - first))
            index.extend(idx)
            win.recent.extend(msgs)
        pos_a = np.asarray(pos, dtype=np.int64)
        X, valid = block_features(vocab, seq, pos_a, np.asarray(seg, dtype=np.int64))
        return [Block(index, seq, pos_a, X, valid)]

    def decide(self, chunk: list[StoredEvent]) -> list[list[str]]:
        """Parents (platform ids) of every event in the chunk; [] = starts a conversation / not chat."""
        model = self.model or load_model()
        result: list[list[str]] = [[] for _ in chunk]
        for b in self.blocks(chunk):
            p = model.scores(b.X, b.valid)
            best = p.argmax(axis=1)
            seq = b.seq
            second_ok = model.second_parent <= 1.0
            if second_ok:
                q = p.copy()
                q[np.arange(len(best)), best] = -1.0
                q[:, 0] = -1.0
                second = q.argmax(axis=1)
                second_p = q[np.arange(len(best)), second]
            for r, idx in enumerate(b.index):
                ev = chunk[idx]
                if ev.reply_to:
                    result[idx] = [ev.reply_to]  # the platform said so: explicit links win
                    continue
                d = int(best[r])
                if d == 0:
                    continue
                at = int(b.pos[r])
                parents = [seq[at - d].pid]
                if second_ok and second_p[r] >= model.second_parent:
                    parents.append(seq[at - int(second[r])].pid)
                result[idx] = parents
        return result


def infer_replies(events: Iterable[StoredEvent], *, model: ReplyModel | None = None,
                  chunk: int = CHUNK) -> Iterator[tuple[StoredEvent, list[str]]]:
    """Yield ``(event, parent platform ids)`` for every event, in input order (see package docs)."""
    stream = ReplyStream(model or load_model())
    buf: list[StoredEvent] = []
    for ev in events:
        buf.append(ev)
        if len(buf) >= chunk:
            yield from zip(buf, stream.decide(buf))
            buf = []
    if buf:
        yield from zip(buf, stream.decide(buf))
