"""Benchmark of the built-in ad/spam detector (shequn.moderation): quality and speed.

Quality — for each shared spam set (zh-sms, tg-spam, sms-en): stratified 5-fold cross-validation of the FULL detector
(classifier + links + phones + contact handles + stop words + similarity to known spam; no member context, so the
behaviour check never fires). Each fold trains the classifier and the known-spam index on the other folds plus the
other two sets entirely (the shipped model is trained on all three), and checks the held-out fold. Texts are
normalized and exact duplicates dropped first, so no message is both trained on and tested.

Speed — throughput per core of ``Detector.check_many`` with the shipped model, single process, batches of 2,000,
over every message of the three sets repeated to --messages (default 100,000); latency percentiles of single
``check`` calls; peak memory. Both wall-clock and CPU time are printed: on a shared machine CPU time is the fairer
"per core" figure.

    python bench/spam_detector.py [--folds 5] [--messages 100000] [--skip-quality]

Targets (issue 4): F1 >= 0.95 on zh-sms with a false-positive rate <= 1%, and >= 20,000 messages/s per core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_mib  # noqa: E402

from shequn.moderation.corpus import CORPORA, load_corpus  # noqa: E402
from shequn.moderation.detector import Detector  # noqa: E402
from shequn.moderation.train import DEFAULT_LEARNER, cross_validate, load_training, prepare  # noqa: E402


def quality(folds: int) -> None:
    per, _ = load_training()
    print(f"quality: {folds}-fold stratified cross-validation of the full detector (learner {DEFAULT_LEARNER}, "
          "threshold 0.5, no member context)")
    print(f"{'set':<8} {'messages':>8} {'spam':>5} {'precision':>9} {'recall':>7} {'F1':>6} {'FPR':>7} "
          f"{'tp':>5} {'fp':>4} {'fn':>4} {'tn':>6}")
    for name in CORPORA:
        data = per[name]
        others = prepare(((t, bool(y)) for o, d in per.items() if o != name for t, y in zip(d.texts, d.labels, strict=True)),
                         already_normalized=True)
        fig, _ = cross_validate(data, folds=folds, always=others)
        print(f"{name:<8} {fig['n']:>8} {fig['spam']:>5} {fig['precision']:>9.4f} {fig['recall']:>7.4f} {fig['f1']:>6.4f} "
              f"{fig['fpr']:>7.4f} {fig['tp']:>5} {fig['fp']:>4} {fig['fn']:>4} {fig['tn']:>6}", flush=True)


def speed(n_messages: int) -> None:
    texts = [s.text for name in CORPORA for s in load_corpus(name)]
    corpus_chars = sum(len(t) for t in texts) / len(texts)
    stream = (texts * (n_messages // len(texts) + 1))[:n_messages]
    t0 = time.perf_counter()
    detector = Detector.default()
    load_s = time.perf_counter() - t0
    detector.check_many(texts[:200])  # warm up

    batch = 2_000
    wall0, cpu0 = time.perf_counter(), time.process_time()
    spam = 0
    for i in range(0, len(stream), batch):
        spam += sum(v.spam for v in detector.check_many(stream[i : i + batch]))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    lat = []
    for t in texts[:3000]:
        a = time.perf_counter()
        detector.check(t)
        lat.append((time.perf_counter() - a) * 1e6)
    q = statistics.quantiles(lat, n=100)
    print(f"\nspeed: {len(stream):,} messages (the three sets, mean {corpus_chars:.0f} characters, repeated), batches of "
          f"{batch:,}, one process; model load {load_s:.2f} s")
    print(f"  throughput: {len(stream) / cpu:,.0f} messages/s per core (CPU time {cpu:.2f} s); "
          f"{len(stream) / wall:,.0f} messages/s wall-clock ({wall:.2f} s); {spam:,} flagged")
    print(f"  latency of a single check() (3,000 messages): p50 {q[49]:.0f} µs, p90 {q[89]:.0f} µs, "
          f"p99 {q[98]:.0f} µs, max {max(lat):.0f} µs")
    print(f"  peak memory: {peak_rss_mib():.0f} MiB RSS")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args()
    print(f"machine: {describe()}")
    if not args.skip_quality:
        quality(args.folds)
    speed(args.messages)


if __name__ == "__main__":
    main()
