"""Rules throughput: how fast the rules module judges real chat messages, per message latency, and
whether memory stays flat as history grows.

Messages are the ubuntu-irc lines (streamed from the files, never loaded at once), judged by the
pipeline a backtest uses (memory state, people overlay) under a realistic rule set: contact/link/phone
outside an ad window, fuzzy keywords, flood, repeats across groups, escalation. Figures per pass:
messages/s, latency p50/p95/p99/max, peak memory (RSS), and the state size at the end.

    python bench/rules_throughput.py [--data ../shared/data/chat/ubuntu-irc/train] [--limit N]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, peak_rss_mib  # noqa: E402

from shequn.domain.events import EventKind, StoredEvent  # noqa: E402
from shequn.engine.module import Context  # noqa: E402
from shequn.engine.outbox import SandboxOutbox  # noqa: E402
from shequn.engine.people import OverlayPeople  # noqa: E402
from shequn.engine.pipeline import Pipeline  # noqa: E402
from shequn.engine.state import MemoryState  # noqa: E402
from shequn.playbook.loader import parse_playbook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "chat" / "ubuntu-irc" / "train"
LINE = re.compile(r"^\[(\d\d):(\d\d)\] <([^>]*)> ?(.*)$")

PLAYBOOKS = {
    "links only": """
rules:
  rules:
    - {name: no-links, when: {link: true}, do: [warn]}
""",
    "realistic set": """
rules:
  rules:
    - name: ads
      when:
        any: [{link: true}, {phone: true}, {contact: true}]
        not: {during: "12:00-13:00"}
      do: [delete, warn]
    - name: words
      when: {keywords: {words: [free money, crypto giveaway, 稳赚不赔, 代开发票], fuzzy: 1}}
      do: [delete, warn]
    - name: flood
      when: {flood: {messages: 8, within: 30s}}
      do: [{mute: 10m}]
    - name: repeats
      when:
        any: [{repeated: {times: 3, within: 10m}}, {same_text_in_groups: {groups: 2, within: 1h}}]
      do: [delete]
  escalation:
    ladder:
      - {warnings: 3, within: 7d, do: [{mute: 1d}]}
      - {warnings: 5, within: 30d, do: [kick]}
""",
}


def messages(data: Path, limit: int | None):
    """StoredEvents from '[HH:MM] <nick> text' lines; the clock advances a minute per file day line."""
    nicks: dict[str, int] = {}
    n = 0
    files = sorted(data.glob("*.raw.txt"))
    for day, f in enumerate(files):
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = LINE.match(line)
                if not m:
                    continue
                n += 1
                at = (1_104_537_600 + day * 86_400 + int(m.group(1)) * 3600 + int(m.group(2)) * 60) * 1000
                member = nicks.setdefault(m.group(3), len(nicks) + 1)
                group = 1 + (n % 3 == 0)  # two groups, so "the same text in 2 groups" can happen
                yield StoredEvent(n, 1, group, f"g{group}", "irc", str(n), EventKind.MESSAGE, at, member, member, m.group(3), m.group(4), None, {})
                if limit and n >= limit:
                    return


def run(label: str, yaml: str, data: Path, limit: int | None) -> None:
    pb = parse_playbook(f"community: bench\ntimezone: UTC\n{yaml}")
    pipeline = Pipeline(pb)
    state = MemoryState()
    ctx = Context(community_id=1, timezone="UTC", now_ms=0, state=state, sandbox=True, people=OverlayPeople())
    outbox = SandboxOutbox()
    lat = array("d")
    count = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for ev in messages(data, limit):
        ctx.now_ms = ev.at_ms
        t = time.thread_time()  # CPU time: on a shared machine, wall time also counts other people's work
        pipeline.handle(ev, ctx, outbox)
        lat.append(time.thread_time() - t)
        count += 1
        if len(outbox.actions) > 100_000:
            outbox.actions.clear()  # a real backtest keeps them; here they are not what is measured
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    ordered = sorted(lat)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e6

    print(f"{label}: {count:,} messages, {cpu:.2f} s CPU = {count / cpu:,.0f} messages/s per core "
          f"({total:.2f} s wall = {count / total:,.0f}/s); CPU latency per message p50 {pct(0.50):.0f} µs, p95 {pct(0.95):.0f} µs, "
          f"p99 {pct(0.99):.0f} µs, max {ordered[-1] * 1e6:,.0f} µs; "
          f"state entries {len(state._data):,}; peak RSS {peak_rss_mib():.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="Stop after this many messages.")
    args = ap.parse_args()
    print(f"machine: {describe()}")
    print(f"data: {args.data} ({len(list(args.data.glob('*.raw.txt')))} day files)")
    for label, yaml in PLAYBOOKS.items():
        run(label, yaml, args.data, args.limit)


if __name__ == "__main__":
    main()
