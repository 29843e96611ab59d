"""Churn risk (流失风险) per member: will a member who spoke in the last 28 days be silent in the next 28?

Label (for evaluation and fitting): a member *active* (at least one human message) in a 28-day
window who sends *no* message in the following 28-day window churned (1), else stayed (0).

Features, computed from the window and the history before its end only (``FEATURES``):
``active_days`` and ``messages`` in the window; ``trend`` (messages in its second half minus the
first half, over all its messages, -1..1); ``recency_days`` (days from the last active day to the
window end); ``prev_active_days`` (active days in the 28 days before the window); ``median_gap``
and ``gap_cv`` (median and coefficient of variation of the gaps between active days in the last
``LOOKBACK`` = 6 windows: how regular the member is lately); ``overdue`` (recency / median gap); ``replies_received`` (replies and
mentions from others in the window); ``tenure_days`` (days since the first active day).

The model is an L2-regularised logistic regression (scikit-learn's ``LogisticRegression(C=1)``
objective, solved exactly by Newton's method in numpy: ten features need no solver library, and
importing scikit-learn alone took longer than the fit) on log-scaled, standardised features, **fitted at
run time on the operator's own history** (every earlier 28-day window whose next window is known):
communities differ too much (a course cohort vs. a support channel) for one shipped model to
transfer, a fit on a year of windows takes well under a second, and a fixed solver makes it
reproducible (same history -> same risks). ``bench/churn_eval.py`` measures it against the
baseline "message count alone" by ROC AUC on a time split. Each risk comes with its reasons: the
features that pushed it up most, in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

WINDOW_DAYS = 28
FEATURES = ("active_days", "messages", "trend", "recency_days", "prev_active_days", "median_gap", "gap_cv", "overdue",
            "replies_received", "tenure_days")
#: features that may take any sign are not log-scaled
_SIGNED = {"trend"}
MIN_EXAMPLES = 50
MAX_TRAIN = 100_000  # labelled member-windows a fit uses at most (``_sample``)
#: windows of history (before the window end) the rhythm features (median gap, regularity) look at
LOOKBACK = 6
AT_RISK = 0.5


class NotEnoughHistory(ValueError):
    """Too few labelled windows (or only one outcome) to fit a model honestly."""


def _received_days(interactions: pl.DataFrame | None, tz: str) -> pl.DataFrame:
    """``member_id, day, n``: replies and mentions each member received per local day."""
    from shequn.insights.presence import day_column, with_local_day

    if interactions is None or interactions.is_empty():
        return pl.DataFrame(schema={"member_id": pl.Int64, "day": pl.Int32, "n": pl.UInt32})
    edges = with_local_day(interactions.select(pl.col("target_member_id").alias("member_id"), "at_ms"), tz)
    return edges.group_by("member_id", pl.col(day_column(tz)).alias("day")).agg(pl.len().alias("n"))


def window_examples(
    days: pl.DataFrame,
    received: pl.DataFrame | None,
    *,
    window_ends: list[int],
    horizon: int,
    window: int = WINDOW_DAYS,
) -> pl.DataFrame:
    """Feature rows ``member_id, end_day, *FEATURES, label`` for each window ``[end - window, end)``.

    ``days``: ``member_id, day, messages`` (``presence.active_days``; any integer day axis);
    ``received``: ``member_id, day, n`` replies/mentions received per day; ``horizon``: the first
    day not observed — a window's label is null unless ``end + window <= horizon``.
    """
    days = days.sort("member_id", "day").with_columns(
        (pl.col("day") - pl.col("day").shift(1).over("member_id")).alias("gap")
    )
    received = received if received is not None else pl.DataFrame(schema={"member_id": pl.Int64, "day": pl.Int32, "n": pl.UInt32})
    first_day = days.group_by("member_id").agg(pl.col("day").min().alias("_first"))
    out = []
    for end in window_ends:
        start, half = end - window, end - window // 2
        # rhythm is read from the last LOOKBACK windows: recent habits, and bounded work per window
        hist = days.filter((pl.col("day") < end) & (pl.col("day") >= end - LOOKBACK * window))
        feats = hist.group_by("member_id").agg(
            pl.col("day").filter(pl.col("day") >= start).len().alias("active_days"),
            pl.col("messages").filter(pl.col("day") >= start).sum().alias("messages"),
            pl.col("messages").filter(pl.col("day") >= half).sum().alias("_late"),
            (end - pl.col("day").max()).alias("recency_days"),
            pl.col("day").filter((pl.col("day") >= start - window) & (pl.col("day") < start)).len().alias("prev_active_days"),
            pl.col("gap").drop_nulls().median().alias("median_gap"),
            (pl.col("gap").drop_nulls().std(ddof=0) / pl.col("gap").drop_nulls().mean()).alias("gap_cv"),
        ).filter(pl.col("active_days") > 0).join(first_day, on="member_id").with_columns(
            (end - pl.col("_first")).alias("tenure_days"))
        if feats.is_empty():
            continue
        rec = received.filter((pl.col("day") >= start) & (pl.col("day") < end)).group_by("member_id").agg(
            pl.col("n").sum().alias("replies_received"))
        nxt = days.filter((pl.col("day") >= end) & (pl.col("day") < end + window)).select("member_id").unique().with_columns(
            pl.lit(0).alias("label"))
        f = feats.join(rec, on="member_id", how="left").join(nxt, on="member_id", how="left").with_columns(
            pl.lit(end).alias("end_day"),
            ((2 * pl.col("_late") - pl.col("messages")) / pl.col("messages")).alias("trend"),
            pl.col("median_gap").fill_null(float(window)),
            pl.col("gap_cv").fill_null(0.0).fill_nan(0.0),
            pl.col("replies_received").fill_null(0),
            pl.when(end + window <= horizon).then(pl.col("label").fill_null(1)).otherwise(None).alias("label"),
        ).with_columns((pl.col("recency_days") / pl.col("median_gap")).alias("overdue"))
        out.append(f.select(
            pl.col("member_id").cast(pl.Int64), pl.col("end_day").cast(pl.Int64),
            *(pl.col(c).cast(pl.Float64) for c in FEATURES), pl.col("label").cast(pl.Int8),
        ))
    if not out:
        return pl.DataFrame(schema={"member_id": pl.Int64, "end_day": pl.Int64, **{c: pl.Float64 for c in FEATURES}, "label": pl.Int8})
    return pl.concat(out).sort("end_day", "member_id")


def _matrix(ex: pl.DataFrame) -> np.ndarray:
    cols = [ex[c].to_numpy().astype(float) if c in _SIGNED else np.log1p(np.clip(ex[c].to_numpy().astype(float), 0, None))
            for c in FEATURES]
    return np.column_stack(cols) if cols else np.empty((0, 0))


@dataclass
class ChurnModel:
    """A fitted churn model: ``predict`` gives probabilities, ``reasons`` the top pushes in words."""

    intercept: float
    examples: int
    positives: int
    coef: np.ndarray = field(repr=False)
    mean: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)

    def predict(self, ex: pl.DataFrame) -> np.ndarray:
        if ex.is_empty():
            return np.empty(0)
        return _sigmoid((_matrix(ex) - self.mean) / self.scale @ self.coef + self.intercept)

    def reasons(self, ex: pl.DataFrame, top: int = 2) -> list[list[str]]:
        """Per row, the ``top`` features pushing the risk *up* most (positive contributions), in words."""
        if ex.is_empty():
            return []
        z = (_matrix(ex) - self.mean) / self.scale
        contrib = z * self.coef
        out = []
        for i, row in enumerate(ex.select(FEATURES).iter_rows(named=True)):
            order = np.argsort(-contrib[i])
            out.append([_say(FEATURES[j], row) for j in order[:top] if contrib[i, j] > 0])
        return out


def _say(feature: str, row: dict) -> str:
    v = row[feature]
    return {
        "active_days": f"active on {v:.0f} of the last 28 days",
        "messages": f"{v:.0f} messages in the last 28 days",
        "trend": "speaking less in the last two weeks" if v < 0 else "activity concentrated in the last two weeks",
        "recency_days": f"silent for {v:.0f} days",
        "prev_active_days": f"active on {v:.0f} days in the 28 days before",
        "median_gap": f"usually speaks every {v:.1f} days",
        "gap_cv": "irregular rhythm" if v > 1 else "regular rhythm",
        "overdue": f"{v:.1f}x their usual gap since the last message",
        "replies_received": f"{v:.0f} replies from others in the last 28 days",
        "tenure_days": f"first spoke {v:.0f} days ago",
    }[feature]


def fit_churn_model(examples: pl.DataFrame, *, min_examples: int = MIN_EXAMPLES, c: float = 1.0) -> ChurnModel:
    """Fit on labelled rows of ``window_examples``; raises :class:`NotEnoughHistory` when it cannot be honest."""
    lab = examples.filter(pl.col("label").is_not_null())
    pos = int(lab["label"].sum() or 0) if lab.height else 0
    if lab.height < min_examples or pos == 0 or pos == lab.height:
        raise NotEnoughHistory(
            f"{lab.height} labelled member-windows ({pos} churned); a fit needs {min_examples} with both outcomes"
        )
    x = _matrix(lab)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale == 0, 1.0, scale)  # a constant feature stays 0 after scaling (as StandardScaler does)
    coef, intercept = _fit_logistic((x - mean) / scale, lab["label"].to_numpy().astype(float), c)
    return ChurnModel(intercept, lab.height, pos, coef, mean, scale)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * t))  # = 1 / (1 + exp(-t)), without overflow for large |t|


def _fit_logistic(z: np.ndarray, y: np.ndarray, c: float, *, tol: float = 1e-10, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """Minimise ``c * sum(log loss) + ||w||^2 / 2`` (intercept not penalised) by Newton's method.

    The objective is strictly convex, so this is the one optimum any solver (scikit-learn's lbfgs
    too) approaches; Newton reaches it to machine precision in a handful of steps on ten features.
    Halving steps keep every step a descent even from a poor start.
    """
    n, k = z.shape
    a = np.column_stack([z, np.ones(n)])
    reg = np.full(k + 1, 1.0 / c)
    reg[-1] = 0.0
    theta = np.zeros(k + 1)

    def loss(th: np.ndarray) -> float:
        t = a @ th
        return float(np.sum(np.logaddexp(0.0, t) - y * t) + 0.5 * np.sum(reg * th * th))

    current = loss(theta)
    for _ in range(max_iter):
        p = _sigmoid(a @ theta)
        grad = a.T @ (p - y) + reg * theta
        if np.max(np.abs(grad)) <= tol * max(1.0, n):
            break
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg)
        step = np.linalg.solve(hess + 1e-12 * np.eye(k + 1), grad)
        t = 1.0
        while t > 1e-8:
            cand = theta - t * step
            new = loss(cand)
            if new <= current:
                break
            t *= 0.5
        theta, current = cand, new
    return theta[:-1], float(theta[-1])


def churn_risk(
    frame: pl.DataFrame,
    *,
    as_of_ms: int,
    tz: str,
    interactions: pl.DataFrame | None = None,
    history_windows: int = 13,
    min_examples: int = MIN_EXAMPLES,
    days: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, dict]:
    """Risk for every member active in the 28 days before ``as_of``, fitted on up to ``history_windows`` earlier windows.

    Returns ``(rows, info)``: rows ``member_id, risk (0..1, null when no model), at_risk, reasons
    (list of str), *FEATURES``; info ``{"model": "logistic" | None, "examples", "churned", "note"}``.
    ``days``: ``active_days(frame, tz, until_ms=as_of_ms)`` when the caller already has it (it is shared).
    """
    from shequn.insights.presence import active_days, local_day

    ad = active_days(frame, tz, until_ms=as_of_ms) if days is None else days
    today = local_day(as_of_ms - 1, tz) if as_of_ms > 0 else 0
    end = today + 1
    recv = _received_days(interactions.filter(pl.col("at_ms") < as_of_ms) if interactions is not None else None, tz)
    ends = [end - WINDOW_DAYS * k for k in range(history_windows, 0, -1)]
    # one call for the training windows and the current one: windows are independent, and the member-day
    # table is sorted and its gaps taken once instead of twice
    both = window_examples(ad, recv, window_ends=[*ends, end], horizon=end)
    train, current = both.filter(pl.col("end_day") != end), both.filter(pl.col("end_day") == end)
    info = {"model": None, "examples": int(train["label"].is_not_null().sum()), "churned": int(train["label"].sum() or 0),
            "note": None}
    try:
        model = fit_churn_model(_sample(train, MAX_TRAIN), min_examples=min_examples)
    except NotEnoughHistory as exc:
        info["note"] = f"no churn model: {exc}"
        return current.select("member_id", pl.lit(None, pl.Float64).alias("risk"), pl.lit(False).alias("at_risk"),
                              pl.lit([], pl.List(pl.Utf8)).alias("reasons"), *FEATURES), info
    info["model"] = "logistic"
    risk = model.predict(current)
    return current.select("member_id", *FEATURES).with_columns(
        pl.Series("risk", np.round(risk, 4), dtype=pl.Float64),
        pl.Series("at_risk", risk >= AT_RISK, dtype=pl.Boolean),
        pl.Series("reasons", model.reasons(current), dtype=pl.List(pl.Utf8)),
    ).select("member_id", "risk", "at_risk", "reasons", *FEATURES), info


def _sample(examples: pl.DataFrame, limit: int) -> pl.DataFrame:
    """At most about ``limit`` labelled rows, chosen by a fixed hash of (member, window end).

    Why: ten features need nowhere near the 300k+ member-windows of a 10-million-event history (the
    fit's cost grows with rows, its accuracy stops growing long before); a fixed integer hash, not a
    random draw, keeps the same history giving the same model on every run and every Polars version.
    """
    lab = examples.filter(pl.col("label").is_not_null())
    if lab.height <= limit:
        return lab
    keep = limit / lab.height
    mixed = (pl.col("member_id").cast(pl.UInt64) * 2_654_435_761 + pl.col("end_day").cast(pl.UInt64) * 40_503) % (1 << 32)
    return lab.filter(mixed < int(keep * (1 << 32)))


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (sklearn), NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels.tolist())) < 2:
        return math.nan
    return float(roc_auc_score(labels, scores))
