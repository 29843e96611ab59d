"""Churn risk: window features and labels by hand, the fit on a history with a known pattern, honesty when data is thin."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from member_frames import frame, ms
from shequn.insights.churn import FEATURES, NotEnoughHistory, churn_risk, fit_churn_model, roc_auc, window_examples
from shequn.insights.interactions import interactions
from shequn.insights.presence import active_days


def test_window_features_and_labels_by_hand():
    # day axis as plain integers: window [28, 56), next window [56, 84)
    days = pl.DataFrame({
        "member_id": [1, 1, 1, 1, 2, 2, 3],
        "day": [10, 30, 50, 60, 40, 41, 20],
        "messages": [1, 2, 6, 1, 3, 1, 1],
    }, schema={"member_id": pl.Int64, "day": pl.Int32, "messages": pl.Int64})
    received = pl.DataFrame({"member_id": [1, 1], "day": [50, 20], "n": [2, 5]}, schema={"member_id": pl.Int64, "day": pl.Int32, "n": pl.UInt32})
    ex = window_examples(days, received, window_ends=[56], horizon=84)
    rows = {r["member_id"]: r for r in ex.iter_rows(named=True)}
    assert set(rows) == {1, 2}  # member 3 was not active in [28, 56)
    one = rows[1]
    assert (one["active_days"], one["messages"], one["recency_days"], one["prev_active_days"]) == (2, 8, 6, 1)
    assert one["trend"] == pytest.approx((6 - 2) / 8)  # second half [42, 56): 6, first half: 2
    assert one["median_gap"] == 20 and one["gap_cv"] == pytest.approx(0.0) and one["overdue"] == pytest.approx(6 / 20)
    assert (one["replies_received"], one["tenure_days"], one["label"]) == (2, 46, 0)  # spoke again on day 60
    two = rows[2]
    assert (two["label"], two["median_gap"], two["trend"], two["recency_days"]) == (1, 1, -1.0, 15)
    # the next window is not fully observed: no label
    assert window_examples(days, received, window_ends=[56], horizon=83)["label"].null_count() == 2
    assert window_examples(days.clear(), None, window_ends=[56], horizon=84).is_empty()


def _community(n_regular: int, n_fading: int, weeks: int) -> pl.DataFrame:
    """Regular members speak every 2 days throughout; fading members speak a few times then stop, in cohorts."""
    rows = []
    base = np.datetime64("2024-01-01")
    for m in range(n_regular):
        for d in range(m % 2, weeks * 7, 2):
            rows.append({"member": 1 + m, "at": f"{base + d} 10:00"})
    for m in range(n_fading):
        start = (m * 5) % (weeks * 7 - 40)
        for d in (start, start + 3):
            rows.append({"member": 1000 + m, "at": f"{base + d} 11:00"})
    return frame(rows)


def test_churn_model_separates_fading_from_regular_members():
    f = _community(30, 80, 40)
    as_of = ms("2024-09-01 00:00")
    risk, info = churn_risk(f, as_of_ms=as_of, tz="UTC", interactions=interactions(f), history_windows=9)
    assert info["model"] == "logistic" and info["examples"] >= 50 and 0 < info["churned"] < info["examples"]
    by = {r["member_id"]: r for r in risk.iter_rows(named=True)}
    regular = [by[m]["risk"] for m in range(1, 31)]
    fading = [r["risk"] for m, r in by.items() if m >= 1000]
    assert fading and max(regular) < min(fading)
    assert all(not by[m]["at_risk"] for m in range(1, 31)) and all(r["at_risk"] for m, r in by.items() if m >= 1000)
    some = next(r for m, r in by.items() if m >= 1000)
    assert some["reasons"] and all(isinstance(s, str) for s in some["reasons"])
    # deterministic: the same history gives the same risks
    again, _ = churn_risk(f, as_of_ms=as_of, tz="UTC", interactions=interactions(f), history_windows=9)
    assert again["risk"].to_list() == risk["risk"].to_list()


def test_not_enough_history_is_said_not_guessed():
    f = frame([{"member": 1, "at": "2024-06-01 10:00"}, {"member": 2, "at": "2024-06-20 10:00"}])
    risk, info = churn_risk(f, as_of_ms=ms("2024-06-25 00:00"), tz="UTC")
    assert info["model"] is None and "a fit needs 50" in info["note"]
    assert risk["member_id"].to_list() == [1, 2] and risk["risk"].null_count() == 2 and not risk["at_risk"].any()
    with pytest.raises(NotEnoughHistory):
        fit_churn_model(window_examples(active_days(f, "UTC"), None, window_ends=[19900], horizon=20000))
    empty, info = churn_risk(frame([]), as_of_ms=ms("2024-06-25 00:00"), tz="UTC")
    assert empty.is_empty() and info["examples"] == 0


def test_roc_auc_edges():
    assert roc_auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8])) == 1.0
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))
    assert set(FEATURES) >= {"active_days", "recency_days", "replies_received", "tenure_days"}
