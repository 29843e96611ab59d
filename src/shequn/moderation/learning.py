"""The learning loop: operators mark messages as spam or ham, the model retrains on the shipped corpus plus their samples.

- ``add_samples`` stores marked messages in ``moderation_samples`` (one row per sample; the same normalized text twice
  is a duplicate and ignored; the same text with the other label is relabeled — the operator's latest word counts);
- ``retrain`` fits a new model on the shipped corpus (``data/corpus.tsv.gz``) plus every stored sample, operator
  samples weighing :data:`OPERATOR_WEIGHT` times a corpus sample, cross-validates the full detector on that set, and
  stores the model as a blob in ``moderation_models`` (the newest row wins);
- ``load_store`` is what ``Detector.from_store`` reads: the newest model (or None) and the operator's spam texts,
  which join the known spam of the similarity check.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from shequn.moderation.model import SpamModel
from shequn.moderation.normalize import normalize
from shequn.store.tables import moderation_models, moderation_samples

#: How much one operator sample weighs against one corpus sample when training: a handful of marked messages must be
#: able to move a model trained on ~11,000.
OPERATOR_WEIGHT = 10.0


def _hash(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


@dataclass
class Added:
    added: int = 0
    duplicates: int = 0
    relabeled: int = 0


def add_samples(conn: Connection, texts: list[str], *, spam: bool, source: str) -> Added:
    """Store marked messages; returns how many were new, already there, or relabeled."""
    out = Added()
    now = int(time.time() * 1000)
    seen: set[str] = set()
    for text in texts:
        if not text.strip():
            continue
        h = _hash(text)
        if h in seen:
            out.duplicates += 1
            continue
        seen.add(h)
        row = conn.execute(select(moderation_samples.c.id, moderation_samples.c.spam)
                           .where(moderation_samples.c.text_hash == h)).first()
        if row is None:
            conn.execute(insert(moderation_samples).values(text_hash=h, text=text.replace("\x00", ""), spam=spam,
                                                           source=source[:500], created_ms=now))
            out.added += 1
        elif bool(row.spam) != spam:
            conn.execute(update(moderation_samples).where(moderation_samples.c.id == row.id)
                         .values(spam=spam, source=source[:500], created_ms=now))
            out.relabeled += 1
        else:
            out.duplicates += 1
    return out


def stored_samples(conn: Connection) -> list[tuple[str, bool]]:
    rows = conn.execute(select(moderation_samples.c.text, moderation_samples.c.spam).order_by(moderation_samples.c.id))
    return [(r.text, bool(r.spam)) for r in rows]


def sample_counts(conn: Connection) -> tuple[int, int]:
    rows = conn.execute(select(moderation_samples.c.spam, func.count()).group_by(moderation_samples.c.spam)).all()
    counts = {bool(spam): n for spam, n in rows}
    return counts.get(True, 0), counts.get(False, 0)


def retrain(conn: Connection, *, folds: int = 5) -> tuple[SpamModel, dict]:
    """Fit and store a model on the shipped corpus plus the stored samples; returns it with its CV figures."""
    from shequn.moderation.detector import Detector, shipped_corpus
    from shequn.moderation.train import DEFAULT_LEARNER, cross_validate, fit, prepare

    platt = Detector.default().model.info.get("platt")
    platt = tuple(platt) if platt else None
    corpus = prepare(shipped_corpus(), already_normalized=True)
    samples = stored_samples(conn)
    data = prepare(samples, weight=OPERATOR_WEIGHT, base=corpus)
    metrics: dict = {}
    if folds >= 2:
        metrics, _ = cross_validate(data, folds=folds, platt=platt)
    model = fit(data, DEFAULT_LEARNER, platt=platt)
    n_spam = sum(1 for _, s in samples if s)
    model.info.update({"operator_spam": n_spam, "operator_ham": len(samples) - n_spam, "cv": metrics})
    conn.execute(insert(moderation_models).values(created_ms=int(time.time() * 1000), model=model.to_bytes(),
                                                  spam_samples=n_spam, ham_samples=len(samples) - n_spam, metrics=metrics))
    return model, metrics


def load_store(conn: Connection | Engine) -> tuple[SpamModel | None, list[str]]:
    """The newest stored model (None when ``learn`` never ran) and the operator's spam texts."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return load_store(c)
    row = conn.execute(select(moderation_models.c.model).order_by(moderation_models.c.id.desc()).limit(1)).first()
    model = SpamModel.from_bytes(bytes(row.model)) if row is not None else None
    spam = [r.text for r in conn.execute(select(moderation_samples.c.text).where(moderation_samples.c.spam.is_(True))
                                         .order_by(moderation_samples.c.id))]
    return model, spam
