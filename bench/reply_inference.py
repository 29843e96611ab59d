"""Reply inference: link precision / recall / F on the ubuntu-irc dev split, and speed on one core.

    python bench/reply_inference.py [--data ../shared/data/chat/ubuntu-irc] [--train] [--model PATH]

Quality is scored as in Kummerfeld et al. (2019): over the annotated lines of dev, a link is a
(parent, child) pair and a conversation start is the self-link (child, child). The shipped model is
used unless --train (retrain on the train split first, ~10 min) or --model is given. Speed: every
event of the train split (all kinds) streamed through ``infer_replies`` in one process limited to
one core (BLAS threads = 1); latency is per scoring batch (one chunk of events), p50 / p99, wall clock. Throughput is given
per CPU second of this process and per wall-clock second (the two differ when the machine is shared).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: set before numpy loads

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_mib  # noqa: E402

from shequn.domain.events import CHAT_KINDS, EventKind  # noqa: E402
from shequn.insights.replies.corpus import iter_days, score_links  # noqa: E402
from shequn.insights.replies.infer import CHUNK, ReplyStream  # noqa: E402
from shequn.insights.replies.model import load_model  # noqa: E402
from shequn.insights.replies.train import evaluate  # noqa: E402
from shequn.insights.replies.train import main as train_main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "chat" / "ubuntu-irc"
PUBLISHED = {"precision": 74.2, "recall": 71.2, "f": 72.6}


def previous_message(days) -> dict[str, list[str]]:
    pred: dict[str, list[str]] = {}
    prev = None
    for day in days:
        for ev in day.events:
            if ev.kind == EventKind.MESSAGE:
                pred[ev.platform_id] = [prev] if prev else []
                prev = ev.platform_id
    return pred


def speed(model, data: Path, groups: int = 1) -> dict:
    """Stream the train split; with ``groups`` > 1 the messages are dealt round-robin into that many
    interleaved groups (conversations are torn apart, but the cost is what is measured)."""
    stream = ReplyStream(model)
    n_events = n_chat = 0
    batch_ms: list[float] = []
    per_msg_us: list[float] = []
    busy = cpu = 0.0
    k = 0
    for day in iter_days(data / "train", group_id=1):
        evs = day.events
        if groups > 1:
            evs = [dataclasses.replace(ev, group_id=(k + i) % groups) for i, ev in enumerate(evs)]
            k += len(evs)
        for s in range(0, len(evs), CHUNK):
            chunk = evs[s:s + CHUNK]
            chat = sum(1 for ev in chunk if ev.kind in CHAT_KINDS)
            t, c = time.perf_counter(), time.process_time()
            stream.decide(chunk)
            dt = time.perf_counter() - t
            cpu += time.process_time() - c
            busy += dt
            batch_ms.append(dt * 1000)
            if chat:
                per_msg_us.append(dt * 1e6 / chat)
            n_events += len(chunk)
            n_chat += chat
    return {"events": n_events, "chat": n_chat, "seconds": busy, "cpu": cpu, "batch_ms": np.array(batch_ms),
            "per_msg_us": np.array(per_msg_us)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--train", action="store_true", help="retrain on the train split first (writes a temporary model)")
    ap.add_argument("--model", type=Path, help="a model.json to evaluate instead of the shipped one")
    args = ap.parse_args()

    print(f"machine: {describe()}")
    model_path = args.model
    if args.train:
        model_path = Path(tempfile.mkdtemp()) / "model.json"
        t = time.perf_counter()
        train_main(["--data", str(args.data), "--out", str(model_path)])
        print(f"trained in {time.perf_counter() - t:.0f}s")
    model = load_model(model_path)
    print(f"model: {model_path or 'shipped (src/shequn/insights/replies/model.json)'}, "
          f"layers {[W.shape for W, _ in model.layers]}, second parent at p >= {model.second_parent}")

    dev = list(iter_days(args.data / "dev", group_id=1))
    gold = {k: v for d in dev for k, v in d.gold.items()}
    ours = evaluate(model, dev)
    base = score_links(gold, previous_message(dev))
    print(f"\ndev split: {ours['children']:,} annotated messages, {ours['links_gold']:,} gold links")
    print(f"{'':34}{'precision':>10}{'recall':>9}{'F':>7}")
    print(f"{'shequn (this model)':34}{ours['precision']:>10.1f}{ours['recall']:>9.1f}{ours['f']:>7.1f}")
    print(f"{'published feed-forward (ACL 2019)':34}{PUBLISHED['precision']:>10.1f}{PUBLISHED['recall']:>9.1f}{PUBLISHED['f']:>7.1f}")
    print(f"{'baseline: previous message':34}{base['precision']:>10.1f}{base['recall']:>9.1f}{base['f']:>7.1f}")

    sp = speed(model, args.data)
    print(f"\nspeed, one core, train split streamed ({sp['events']:,} events, {sp['chat']:,} chat messages, "
          f"batches of {CHUNK} events):")
    print(f"  throughput (CPU time of this single-threaded process): {sp['chat'] / sp['cpu']:,.0f} chat messages/s "
          f"({sp['events'] / sp['cpu']:,.0f} events/s)")
    print(f"  throughput (wall clock; lower when other work shares the core, load average now "
          f"{os.getloadavg()[0]:.1f}): {sp['chat'] / sp['seconds']:,.0f} chat messages/s")
    print(f"  latency per batch: p50 {np.percentile(sp['batch_ms'], 50):.1f} ms, p99 {np.percentile(sp['batch_ms'], 99):.1f} ms")
    print(f"  latency per message within a batch: p50 {np.percentile(sp['per_msg_us'], 50):.1f} us, "
          f"p99 {np.percentile(sp['per_msg_us'], 99):.1f} us")
    print(f"  peak memory (whole process, incl. one day file of events): {peak_rss_mib():.0f} MiB")

    many = speed(model, args.data, groups=100)
    print(f"  100 interleaved groups: {many['chat'] / many['cpu']:,.0f} chat messages/s per CPU second")

    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        subprocess.run(["shequn", "--db", db, "import", "irc", str(args.data / "dev"), "-c", "ubuntu", "-g", "#ubuntu"],
                       check=True, capture_output=True)
        # the CLI in a child that reports its own CPU time and peak memory on exit
        probe = ("import atexit, resource, sys\n"
                 "def report():\n"
                 "    r = resource.getrusage(resource.RUSAGE_SELF)\n"
                 "    sys.stderr.write(f'PROBE {r.ru_utime + r.ru_stime} {r.ru_maxrss}\\n')\n"
                 "atexit.register(report)\n"
                 f"sys.argv = ['shequn', '--db', {db!r}, 'replies', '--json']\n"
                 "from shequn.cli.app import main\n"
                 "main()\n")
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True)
        wall = time.perf_counter() - t
        lines = proc.stdout.count(b"\n")
        cpu_s, rss_kib = proc.stderr.decode().rsplit("PROBE ", 1)[1].split()
        print(f"\nend to end, `shequn replies --json` on SQLite (dev split imported, {lines:,} lines out): "
              f"{wall:.1f} s wall, {float(cpu_s):.1f} s CPU incl. start-up, peak memory {int(rss_kib) / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
