"""The ubuntu-irc reply-annotated corpus (Kummerfeld et al., 2019), read for training and evaluation.

Raw day files go through the real IRC importer (the same platform ids ``shequn import irc`` stores),
so a model trained here sees exactly what it will see on imported history. Annotation lines
``A B -`` say line B answers line A (A == B: B starts a conversation); only lines >= 1000 are
annotated, earlier lines are context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

from shequn.domain.events import Event, StoredEvent
from shequn.importers.base import ImportOptions, Source
from shequn.importers.irc import read as read_irc


@dataclass
class Day:
    """One annotated file: its events and, per annotated platform id, the set of parent ids."""

    name: str
    events: list[StoredEvent]
    gold: dict[str, frozenset[str]]


def _stored(ev: Event, group_id: int, seq: int) -> StoredEvent:
    name = ev.author.external_id if ev.author else None
    return StoredEvent(
        id=seq, community_id=0, group_id=group_id, group_name=ev.group.name or "", platform=ev.group.platform,
        platform_id=ev.platform_id, kind=ev.kind, at_ms=ev.at_ms, identity_id=None, member_id=None,
        member_name=name, text=ev.text, reply_to=ev.reply_to, payload=ev.payload,
    )


def read_annotations(path: Path, prefix: str) -> dict[str, frozenset[str]]:
    parents: dict[str, set[str]] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
                raise ValueError(f"{path}:{lineno}: expected 'A B -' with line numbers, got {line.strip()[:80]!r}")
            a, b = int(parts[0]), int(parts[1])
            parents.setdefault(prefix + str(b), set()).add(prefix + str(a))
    return {k: frozenset(v) for k, v in parents.items()}


def iter_days(split_dir: Path | str, *, group_id: int | None = None) -> Iterator[Day]:
    """Every annotated day file of a split, in name order; each file is its own group unless ``group_id``."""
    split_dir = Path(split_dir)
    raws = sorted(split_dir.glob("*.raw.txt"))
    if not raws:
        raise FileNotFoundError(f"no *.raw.txt files in {split_dir}")
    opts = ImportOptions(tz=timezone.utc, group="#ubuntu")
    for k, raw in enumerate(raws):
        ann = raw.with_name(raw.name.replace(".raw.txt", ".annotation.txt"))
        prefix = raw.name.rsplit(".", 1)[0] + ":"
        gid = k if group_id is None else group_id
        events = [_stored(ev, gid, i) for i, ev in enumerate(read_irc(Source(raw), opts)) if isinstance(ev, Event)]
        gold = read_annotations(ann, prefix) if ann.exists() else {}
        yield Day(raw.name, events, gold)


def score_links(gold: dict[str, frozenset[str]], predicted: dict[str, list[str]]) -> dict[str, float]:
    """Link precision / recall / F over annotated messages, as the paper counts them.

    A link is a (parent, child) pair; a conversation start is the self-link (child, child). Only
    children that are annotated count, on both sides.
    """
    tp = n_pred = n_gold = 0
    for child, parents in gold.items():
        pred = predicted.get(child)
        pred_set = {child} if not pred else set(pred)
        n_gold += len(parents)
        n_pred += len(pred_set)
        tp += len(parents & pred_set)
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": 100 * p, "recall": 100 * r, "f": 100 * f, "links_gold": n_gold, "links_predicted": n_pred,
            "children": len(gold)}
