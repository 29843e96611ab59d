"""The faster paths of insights give exactly what the plain ones did: names normalised in Polars, mention
edges without the final unique/sort, and the numpy churn fit against scikit-learn's solver run to convergence."""

from __future__ import annotations

import numpy as np
import polars as pl
from member_frames import frame

from shequn.insights.churn import _fit_logistic
from shequn.insights.interactions import interactions, normalise_names
from shequn.insights.replies.text import norm_name


def test_names_normalised_in_polars_match_norm_name():
    raw = ["  @Bob: ", "ＡＢＣ", "x\u200by", "\ufeffvova_kubba", "\x1cA\x1d", "@@a!!", "Straße", "İ", "\tfoo~", " ",
           "a\x85", "\x7fa", "ǅ", "Ｂｏｂ", "bob", "x\u200by"]
    got = normalise_names(pl.DataFrame({"raw": raw}))
    assert got["raw"].to_list() == raw  # rows keep their order
    assert got["name"].to_list() == [norm_name(n) for n in raw]


def _plain(f: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Interactions the general way: every edge, then unique per (message, target), sorted."""
    return interactions(f, names=names).unique(["id", "target_member_id"], keep="first").sort("at_ms", "id")


def test_mentions_only_skip_unique_and_sort_with_the_same_edges():
    rows = [
        {"id": 1, "member": 1, "at": "2024-06-01 10:00"},
        {"id": 2, "member": 2, "at": "2024-06-01 10:01", "to": "@Alice:"},
        {"id": 3, "member": 3, "at": "2024-06-01 10:01", "to": "bob"},
        {"id": 9, "member": 1, "at": "2024-06-01 10:01", "to": "ＣＡＲＯＬ"},
        {"id": 5, "member": 1, "at": "2024-06-01 10:02", "to": "alice"},  # self mention: dropped
        {"id": 6, "member": 2, "at": "2024-06-01 10:03", "to": "bot"},    # bot: dropped
        {"id": 7, "member": 4, "at": "2024-06-01 10:04", "bot": True},
        {"id": 8, "member": 3, "at": "2024-06-01 10:05", "to": "Bob", "group": 2},  # bob never speaks in group 2
    ]
    names = pl.DataFrame({"name": ["alice", "bob", "carol", "bot"], "member_id": [1, 2, 3, 4]})
    f = frame(rows)
    got = interactions(f, names=names)
    assert got.select("id", "target_member_id").rows() == [(2, 1), (3, 2), (9, 3)]
    assert got.equals(_plain(f, names))
    # with a reply among the mentions the general path runs, and a reply wins over a mention of the same member
    f2 = frame([*rows[:2], {"id": 10, "member": 1, "at": "2024-06-01 10:06", "reply_to": 2, "to": "alice"},
                {"id": 11, "member": 1, "at": "2024-06-01 10:07", "reply_to": 2, "to": "bob"}])
    both = interactions(f2, names=names)
    assert both.select("id", "target_member_id", "via").rows() == [(2, 1, "mention"), (10, 2, "reply"), (11, 2, "reply")]
    assert both.equals(_plain(f2, names))


def test_numpy_logistic_fit_is_the_scikit_learn_optimum():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    z = rng.normal(size=(2000, 5))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(z @ [1.5, -2.0, 0.0, 0.5, 3.0] + 0.3)))).astype(float)
    coef, intercept = _fit_logistic(z, y, 1.0)
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(z, y)
    assert np.allclose(coef, ref.coef_[0], atol=1e-5) and abs(intercept - ref.intercept_[0]) < 1e-5


def test_local_days_by_quarter_hour_equal_converting_every_instant():
    """``with_local_day`` converts distinct UTC quarter-hours only; it must agree with the per-event
    conversion everywhere: around DST changes (New York, Lord Howe's half-hour shift), 45-minute
    offsets (Kathmandu) and Liberia's -0:44:30 of 1971, whose local midnight falls inside a quarter-hour
    (that quarter-hour is converted event by event)."""
    from datetime import datetime, timezone

    from shequn.insights.presence import day_column, local_day_expr, with_local_day

    starts = ["2024-03-10 06:30", "2024-11-03 05:45", "2024-04-06 14:45", "2024-06-01 18:00", "1971-06-01 00:30"]
    at = []
    for s in starts:
        base = int(datetime.fromisoformat(s).replace(tzinfo=timezone.utc).timestamp() * 1000)
        at += [base + k * 37_000 for k in range(-400, 400)]  # ±4 hours in 37-second steps
    f = pl.DataFrame({"at_ms": at, "id": range(len(at))})
    for tz in ("America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Africa/Monrovia", "Asia/Shanghai"):
        got = with_local_day(f, tz)
        want = f.select(local_day_expr(tz).alias("d"))["d"]
        assert got.columns == ["at_ms", "id", day_column(tz)]
        assert got["id"].to_list() == f["id"].to_list()  # row order kept
        assert (got[day_column(tz)] == want).all(), tz
    empty = with_local_day(f.clear(), "UTC")
    assert empty.height == 0 and day_column("UTC") in empty.columns
