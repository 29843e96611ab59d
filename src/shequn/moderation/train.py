"""Reproducible training of the shipped spam model: ``python -m shequn.moderation.train``.

Reads ONLY ``../shared/data/spam/{zh-sms,tg-spam,sms-en}/labeled.tsv`` (or ``--spam-dir``), normalizes every message,
drops exact duplicates (after normalization) and texts labeled both ways, optionally compares the candidate learners
with stratified k-fold cross-validation of the FULL detector (``--compare``), fits the chosen learner on everything
and writes into the package (``src/shequn/moderation/data``):

A fixed 10% of the messages (:func:`held_out`, by a hash of the text) is never trained on, so tests can measure the
shipped detector on messages it has not seen.

- ``model.npz``     the weights (float16, non-zero buckets only) and how they were made;
- ``corpus.tsv.gz`` the normalized, de-duplicated training texts with labels: ``shequn moderation learn`` retrains from
  it plus the operator's samples (so retraining works on a machine without ../shared/data), and its spam is the
  default "known spam" of the similarity check.

Everything is seeded; the same data gives the same files.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shequn.moderation import features
from shequn.moderation.corpus import CORPORA, default_spam_dir, load_corpus
from shequn.moderation.model import SpamModel
from shequn.moderation.normalize import normalize

SEED = 20261122
#: The learner the shipped model uses (see ``--compare`` and docs/moderation.md for the comparison).
DEFAULT_LEARNER = "svm"
LEARNERS = ("svm", "logreg", "sgd-log")
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass
class Dataset:
    texts: list[str]  # normalized
    labels: np.ndarray  # bool, True = spam
    weights: np.ndarray  # per-sample training weight (operator samples count more)
    dropped_duplicates: int = 0
    dropped_conflicts: int = 0

    @property
    def spam(self) -> int:
        return int(self.labels.sum())

    def __len__(self) -> int:
        return len(self.texts)


def prepare(samples: Iterable[tuple[str, bool]], *, weight: float = 1.0, already_normalized: bool = False,
            base: Dataset | None = None) -> Dataset:
    """Normalize and de-duplicate. A text labeled both ways is dropped, except that later samples (the operator's,
    passed with ``base`` = the corpus) override the base label: the operator has the last word."""
    labels: dict[str, bool] = {}
    weights: dict[str, float] = {}
    conflicts: set[str] = set()
    dups = 0
    if base is not None:
        for t, y, w in zip(base.texts, base.labels, base.weights, strict=True):
            labels[t], weights[t] = bool(y), float(w)
    fresh: set[str] = set()
    for text, spam in samples:
        t = text if already_normalized else normalize(text)
        if not t.strip():
            continue
        if t in fresh:
            if labels[t] != spam:
                conflicts.add(t)
            dups += 1
            continue
        fresh.add(t)
        labels[t], weights[t] = spam, weight
    for t in conflicts:
        del labels[t]
    texts = list(labels)
    return Dataset(texts, np.array([labels[t] for t in texts], dtype=bool),
                   np.array([weights[t] for t in texts], dtype=np.float64), dups, len(conflicts))


def fit(data: Dataset, learner: str = DEFAULT_LEARNER, x=None, platt: tuple[float, float] | None = None) -> SpamModel:
    """Fit one linear model on the dataset's features; returns weights in log-odds units.

    For the SVM, ``platt`` = (a, c) reuses a known margin -> log-odds scaling instead of fitting it with an inner
    cross-validation (retraining with a few operator samples barely moves it, and it saves three fits)."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    x = features.transform(data.texts) if x is None else x
    y = data.labels
    if y.all() or not y.any():
        raise ValueError("training needs both spam and ham samples")
    if learner == "svm":
        # a linear SVM separates best here (see --compare), but its margins are not probabilities: Platt scaling maps
        # margin m to log-odds a*m + b, with a and b fitted on out-of-fold margins, so weights stay one linear model
        w, b, platt = _platt_svm(x, y, data.weights, platt)
    elif learner == "logreg":
        clf = LogisticRegression(C=30.0, solver="liblinear", random_state=SEED)
        clf.fit(x, y, sample_weight=data.weights)
        w, b = clf.coef_[0], float(clf.intercept_[0])
    elif learner == "sgd-log":
        clf = SGDClassifier(loss="log_loss", alpha=2e-6, max_iter=30, tol=None, random_state=SEED)
        clf.fit(x, y, sample_weight=data.weights)
        w, b = clf.coef_[0], float(clf.intercept_[0])
    else:
        raise ValueError(f"unknown learner {learner!r}; choose one of {', '.join(LEARNERS)}")
    info = {"learner": learner, "samples": len(data), "spam": data.spam, "seed": SEED}
    if learner == "svm":
        info["platt"] = list(platt)
    return SpamModel(np.asarray(w, dtype=np.float32), b, info)


def _platt_svm(x, y: np.ndarray, sample_weight: np.ndarray, platt: tuple[float, float] | None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    if platt is not None:
        a, c = platt
        svm = LinearSVC(C=1.0, random_state=SEED).fit(x, y, sample_weight=sample_weight)
        return svm.coef_[0] * a, float(svm.intercept_[0]) * a + c, (a, c)
    margins = np.zeros(len(y))
    folds = max(2, min(3, int(y.sum()), int((~y).sum())))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y):
        svm = LinearSVC(C=1.0, random_state=SEED).fit(x[tr], y[tr], sample_weight=sample_weight[tr])
        margins[te] = svm.decision_function(x[te])
    platt = LogisticRegression(C=1e4).fit(margins.reshape(-1, 1), y, sample_weight=sample_weight)
    a, c = float(platt.coef_[0][0]), float(platt.intercept_[0])
    svm = LinearSVC(C=1.0, random_state=SEED).fit(x, y, sample_weight=sample_weight)
    return svm.coef_[0] * a, float(svm.intercept_[0]) * a + c, (a, c)


def scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float | int]:
    tp = int((pred & y).sum())
    fp = int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    tn = int((~pred & ~y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(y), "spam": int(y.sum()), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "fpr": round(fp / (fp + tn), 4) if fp + tn else 0.0, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def cross_validate(data: Dataset, *, folds: int = 5, learner: str = DEFAULT_LEARNER, always: Dataset | None = None,
                   seed: int = SEED, platt: tuple[float, float] | None = None) -> tuple[dict, np.ndarray]:
    """Stratified k-fold cross-validation of the FULL detector (classifier + every check, no member context).

    Each fold trains the classifier, and builds the known-spam index, from the other folds plus ``always`` (e.g. the
    other corpora), then checks the held-out texts with :class:`~shequn.moderation.detector.Detector`. Returns the
    figures and the out-of-fold verdict scores."""
    from sklearn.model_selection import StratifiedKFold

    from shequn.moderation.detector import Detector
    from shequn.moderation.similarity import SpamIndex

    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    n_spam = data.spam
    folds = min(folds, n_spam, len(data) - n_spam)
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 spam and 2 ham samples")
    x = features.transform(data.texts)
    x_always = features.transform(always.texts) if always is not None and len(always) else None
    pred = np.zeros(len(data), dtype=bool)
    score = np.zeros(len(data))
    import scipy.sparse as sp

    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(data)), data.labels):
        part = Dataset([data.texts[i] for i in train_idx], data.labels[train_idx], data.weights[train_idx])
        xt = x[train_idx]
        if x_always is not None:
            part = Dataset(part.texts + always.texts, np.concatenate([part.labels, always.labels]),
                           np.concatenate([part.weights, always.weights]))
            xt = sp.vstack([xt, x_always]).tocsr()
        model = fit(part, learner, x=xt, platt=platt)
        index = SpamIndex([t for t, y in zip(part.texts, part.labels, strict=True) if y])
        detector = Detector(model, index)
        verdicts = detector.check_many([data.texts[i] for i in test_idx])
        for i, v in zip(test_idx, verdicts, strict=True):
            pred[i], score[i] = v.spam, v.score
    figures = scores(data.labels, pred)
    figures["folds"] = folds
    return figures, score


def held_out(normalized: str) -> bool:
    """The fixed 10% slice the shipped model never trains on (chosen by a hash of the text, so it is reproducible
    without storing ids); tests check the shipped detector's quality on it."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=4).digest()[0] % 10 == 0


def split_held_out(data: Dataset) -> tuple[Dataset, Dataset]:
    keep = np.array([not held_out(t) for t in data.texts], dtype=bool)
    pick = lambda mask: Dataset([t for t, k in zip(data.texts, mask, strict=True) if k], data.labels[mask],  # noqa: E731
                                data.weights[mask])
    return pick(keep), pick(~keep)


def load_training(spam_dir: Path | None = None) -> tuple[dict[str, Dataset], Dataset]:
    """Each shared corpus prepared on its own, and all of them together (the shipped model's training set)."""
    per = {name: prepare((s.text, s.spam) for s in load_corpus(name, spam_dir)) for name in CORPORA}
    everything = prepare(((t, bool(y)) for d in per.values() for t, y in zip(d.texts, d.labels, strict=True)),
                         already_normalized=True)
    return per, everything


def write_corpus(data: Dataset, path: Path) -> None:
    lines = [f"{'spam' if y else 'ham'}\t{t.replace(chr(9), chr(92) + 't').replace(chr(10), chr(92) + 'n')}"
             for t, y in zip(data.texts, data.labels, strict=True)]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m shequn.moderation.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--spam-dir", type=Path, default=None, help="directory holding zh-sms/, tg-spam/, sms-en/ "
                    "(default ../shared/data/spam)")
    ap.add_argument("--out", type=Path, default=DATA_DIR, help="where model.npz and corpus.tsv.gz are written")
    ap.add_argument("--learner", choices=LEARNERS, default=DEFAULT_LEARNER)
    ap.add_argument("--compare", action="store_true", help="cross-validate every learner on every corpus first")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)

    spam_dir = args.spam_dir or default_spam_dir()
    per, everything = load_training(spam_dir)
    for name, d in per.items():
        print(f"{name}: {len(d)} messages after normalization ({d.spam} spam; {d.dropped_duplicates} duplicates, "
              f"{d.dropped_conflicts} conflicting labels dropped)")
    if args.compare:
        print(f"\n{args.folds}-fold cross-validation of the full detector (each fold also trains on the other corpora):")
        print(f"{'learner':<14} {'corpus':<8} {'P':>6} {'R':>6} {'F1':>6} {'FPR':>7} {'s/fold':>7}")
        for learner in LEARNERS:
            for name, d in per.items():
                others = prepare(((t, bool(y)) for o, od in per.items() if o != name
                                  for t, y in zip(od.texts, od.labels, strict=True)), already_normalized=True)
                t0 = time.perf_counter()
                fig, _ = cross_validate(d, folds=args.folds, learner=learner, always=others)
                dt = (time.perf_counter() - t0) / args.folds
                print(f"{learner:<14} {name:<8} {fig['precision']:>6.3f} {fig['recall']:>6.3f} {fig['f1']:>6.3f} "
                      f"{fig['fpr']:>7.4f} {dt:>7.1f}", flush=True)
    train_set, held = split_held_out(everything)
    model = fit(train_set, args.learner)
    model.info.update({"corpora": list(CORPORA), "trained_with": "python -m shequn.moderation.train",
                       "held_out": len(held)})
    args.out.mkdir(parents=True, exist_ok=True)
    blob = model.to_bytes()
    (args.out / "model.npz").write_bytes(blob)
    write_corpus(train_set, args.out / "corpus.tsv.gz")
    print(f"\nwrote {args.out / 'model.npz'} ({len(blob) / 1024:.0f} KiB, learner {args.learner}, "
          f"{len(train_set)} messages, {train_set.spam} spam) and {args.out / 'corpus.tsv.gz'} "
          f"({(args.out / 'corpus.tsv.gz').stat().st_size / 1024:.0f} KiB)")
    from shequn.moderation.detector import Detector
    from shequn.moderation.similarity import SpamIndex

    detector = Detector(model, SpamIndex([t for t, y in zip(train_set.texts, train_set.labels, strict=True) if y]))
    pred = np.array([v.spam for v in detector.check_many(held.texts)], dtype=bool)
    fig = scores(held.labels, pred)
    print(f"held-out 10% ({fig['n']} messages, {fig['spam']} spam), full detector: precision {fig['precision']:.4f}, "
          f"recall {fig['recall']:.4f}, F1 {fig['f1']:.4f}, FPR {fig['fpr']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
