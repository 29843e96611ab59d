"""Churn risk, evaluated honestly: our model against the baseline "message count alone", by ROC AUC
on a TIME split (fit on earlier windows, score later ones), on the ubuntu-irc train+dev data.

Label: a member active (>= 1 message) in a 28-day window is churned if they send nothing in the
next 28-day window. Features and model: ``shequn.insights.churn`` (exactly what ``shequn members``
runs). Baseline score: fewer messages in the window = more likely to churn.

The ubuntu-irc data is ~160 sampled days spread over 2004-2016, so calendar 28-day windows hold one
or two sampled days each: the script prints that census first. The evaluation therefore runs on
*observed-day time* (the sampled days laid end to end, so "28 days" = 28 sampled days); silence in
the next window then means silence on 28 sampled days of a channel, not a gap in the sampling.
Optionally (``--replay N``) the same evaluation on the replayed N-event community of
``bench/replay_data.py`` (the same days end to end, members turning over every 4 groups).

Figures printed: windows, members per window, examples and churn rate, AUC of both with a
bootstrap 95% interval, run time, peak memory, machine.

    python bench/churn_eval.py [--data ../shared/data/chat/ubuntu-irc] [--replay 10000000] [--step 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_mib  # noqa: E402

from shequn.insights.churn import WINDOW_DAYS, fit_churn_model, roc_auc, window_examples  # noqa: E402
from shequn.insights.frame import load_frame  # noqa: E402
from shequn.insights.interactions import interactions, member_names  # noqa: E402
from shequn.insights.presence import active_days, local_day_expr  # noqa: E402
from shequn.store.db import open_engine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("SHEQUN_SHARED_DATA", ROOT.parent / "shared" / "data")) / "chat" / "ubuntu-irc"


def import_ubuntu(data: Path, db: Path) -> str:
    url = f"sqlite:///{db}"
    for split in ("train", "dev"):
        subprocess.run([sys.executable, "-c", "from shequn.cli.app import main; main()", "--db", url, "import", "irc", str(data / split),
                        "--community", "ubuntu", "--group", "#ubuntu"], check=True, stdout=subprocess.DEVNULL)
    return url


def load(url: str, community: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Active days and replies/mentions received per day (UTC days), and the observed days."""
    from sqlalchemy import select

    from shequn.store.tables import communities

    eng = open_engine(url)
    with eng.connect() as conn:
        cid = conn.execute(select(communities.c.id).where(communities.c.name == community)).scalar_one()
        frame = load_frame(conn, cid)
        names = member_names(conn, cid)
    eng.dispose()
    inter = interactions(frame, names=names)
    ad = active_days(frame, "UTC")
    recv = (inter.select(pl.col("target_member_id").alias("member_id"), local_day_expr("UTC").alias("day"))
            .group_by("member_id", "day").agg(pl.len().alias("n")))
    observed = frame.select(local_day_expr("UTC").alias("day")).unique().sort("day")
    return ad, recv, observed


def calendar_census(ad: pl.DataFrame, observed: pl.DataFrame) -> dict:
    """How many calendar 28-day windows hold data, members per window, and windows whose next window holds data too."""
    first, last = int(observed["day"].min()), int(observed["day"].max())
    obs = set(observed["day"].to_list())
    starts = range(first, last + 1, WINDOW_DAYS)
    with_data = [s for s in starts if any(d in obs for d in range(s, s + WINDOW_DAYS))]
    pairs = [s for s in with_data if any(d in obs for d in range(s + WINDOW_DAYS, s + 2 * WINDOW_DAYS))]
    members = [ad.filter((pl.col("day") >= s) & (pl.col("day") < s + WINDOW_DAYS))["member_id"].n_unique() for s in with_data]
    days_in = [sum(1 for d in range(s, s + WINDOW_DAYS) if d in obs) for s in with_data]
    return {"windows": len(starts), "with_data": len(with_data), "next_also_observed": len(pairs),
            "median_members": float(np.median(members)) if members else 0.0,
            "median_sampled_days": float(np.median(days_in)) if days_in else 0.0}


def compress(ad: pl.DataFrame, recv: pl.DataFrame, observed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Re-number days so the sampled days are consecutive (observed-day time)."""
    rank = observed.with_row_index("r").select(pl.col("day"), pl.col("r").cast(pl.Int32))
    ad2 = ad.join(rank, on="day").select("member_id", pl.col("r").alias("day"), "messages")
    rc2 = recv.join(rank, on="day").select("member_id", pl.col("r").alias("day"), "n")
    return ad2, rc2, rank.height


def bootstrap(y: np.ndarray, a: np.ndarray, b: np.ndarray, n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    ra, rb, rd = [], [], []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if len(set(y[i].tolist())) < 2:
            continue
        x, z = roc_auc(y[i], a[i]), roc_auc(y[i], b[i])
        ra.append(x)
        rb.append(z)
        rd.append(x - z)
    q = lambda v: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5)))  # noqa: E731
    return q(ra), q(rb), q(rd)


def evaluate(name: str, ad: pl.DataFrame, recv: pl.DataFrame, horizon: int, step: int, train_share: float = 0.7) -> None:
    t0 = time.perf_counter()
    first = int(ad["day"].min())
    ends = list(range(first + WINDOW_DAYS, horizon - WINDOW_DAYS + 1, step))
    ex = window_examples(ad, recv, window_ends=ends, horizon=horizon).filter(pl.col("label").is_not_null())
    if ex.is_empty():
        print(f"{name}: no labelled windows")
        return
    # time split: the first train_share of examples (by window end) train; labels of train never reach past the split
    split = int(np.quantile(ex["end_day"].to_numpy(), train_share))
    train = ex.filter(pl.col("end_day") + WINDOW_DAYS <= split)
    test = ex.filter(pl.col("end_day") >= split)
    model = fit_churn_model(train)
    y = test["label"].to_numpy()
    p_model = model.predict(test)
    p_base = -test["messages"].to_numpy()
    auc_m, auc_b = roc_auc(y, p_model), roc_auc(y, p_base)
    ci_m, ci_b, ci_d = bootstrap(y, p_model, p_base)
    per_window = ex.group_by("end_day").len()["len"]
    secs = time.perf_counter() - t0
    print(f"\n== {name} ==")
    print(f"windows: {len(ends)} ending every {step} days over {horizon - first} days; members active per window: "
          f"median {per_window.median():.0f}, min {per_window.min()}, max {per_window.max()}")
    print(f"examples: {ex.height:,} labelled member-windows, churn rate {ex['label'].mean():.1%}; "
          f"time split at day {split - first}: train {train.height:,} (churn {train['label'].mean():.1%}), "
          f"test {test.height:,} (churn {test['label'].mean():.1%})")
    print(f"ROC AUC  model (logistic, {len(model.coef)} features): {auc_m:.3f}  [95% CI {ci_m[0]:.3f}-{ci_m[1]:.3f}]")
    print(f"ROC AUC  baseline (message count alone):  {auc_b:.3f}  [95% CI {ci_b[0]:.3f}-{ci_b[1]:.3f}]")
    print(f"model - baseline: {auc_m - auc_b:+.3f}  [95% CI {ci_d[0]:+.3f} to {ci_d[1]:+.3f}]")
    print(f"features + fit + score: {secs:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--step", type=int, default=7, help="days between window ends (windows overlap when < 28)")
    ap.add_argument("--replay", type=int, default=0, help="also evaluate on the replayed N-event set (bench/replay_data.py)")
    args = ap.parse_args()
    print(f"machine: {describe()}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        url = import_ubuntu(args.data, Path(tmp) / "ubuntu.db")
        print(f"imported ubuntu-irc train+dev in {time.perf_counter() - t0:.1f} s")
        ad, recv, observed = load(url, "ubuntu")
    c = calendar_census(ad, observed)
    print(f"calendar 28-day windows: {c['windows']} from first to last day, {c['with_data']} hold any data "
          f"(median {c['median_sampled_days']:.0f} sampled days, {c['median_members']:.0f} members), "
          f"{c['next_also_observed']} are followed by a window with data: too sparse for calendar windows, "
          f"so the evaluation uses observed-day time")
    ad2, rc2, n_days = compress(ad, recv, observed)
    print(f"observed days: {n_days}; members: {ad['member_id'].n_unique():,}; member-days: {ad.height:,}")
    evaluate("ubuntu-irc train+dev, observed-day time", ad2, rc2, n_days, args.step)
    if args.replay:
        from replay_data import sqlite_db

        t1 = time.perf_counter()
        rurl = sqlite_db(args.replay)
        ad, recv, observed = load(rurl, "replay")
        print(f"\nreplayed set: {args.replay:,} events loaded in {time.perf_counter() - t1:.1f} s; "
              f"members {ad['member_id'].n_unique():,}, member-days {ad.height:,}, days {observed.height}")
        horizon = int(observed["day"].max()) + 1
        evaluate(f"replayed {args.replay:,} events (calendar days)", ad, recv, horizon, args.step)
    print(f"\ntotal {time.perf_counter() - t0:.1f} s, peak memory {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
