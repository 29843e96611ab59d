"""A `shequn receive` killed with SIGKILL in the middle of a batch leaves the ledger consistent: every
transaction has both entries, balances equal their entries, and every stored event carries exactly the
points a replay of the stored events gives (no event half-processed). Receiving the file again finishes
the job without paying anything twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from shequn.engine.backtest import run_backtest
from shequn.playbook.loader import parse_playbook
from shequn.points.ledger import check_ledger
from shequn.store.db import open_engine
from shequn.store.tables import communities, events, points_balances

PLAYBOOK = """community: crash
timezone: Asia/Shanghai
points:
  message: {award: 3, cooldown: 30s, daily_cap: 30}
  checkin: {award: 5, streak_bonus: {2: 7}}
  levels: {curve: mee6}
"""
N = 600


def _write(tmp_path):
    with (tmp_path / "big.jsonl").open("w", encoding="utf-8") as f:
        for n in range(N):
            who = f"m{n % 37}"
            text = "打卡" if n % 50 == 7 else f"message {n} " + "字" * (n % 13)
            at = 1_714_500_000 + n * 11  # seconds: ~7.6 hours of traffic, crosses local midnight
            f.write(json.dumps({"id": f"e{n}", "at": at, "kind": "message", "member": who, "text": text}, ensure_ascii=False) + "\n")
    (tmp_path / "pb.yaml").write_text(PLAYBOOK, encoding="utf-8")
    return tmp_path / "pb.yaml", tmp_path / "big.jsonl"


def _stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def _assert_consistent(engine):
    with engine.connect() as conn:
        cid = conn.execute(select(communities.c.id).where(communities.c.name == "crash")).scalar_one()
        assert check_ledger(conn, cid) == []
        live = {r.member_id: int(r.balance) for r in conn.execute(select(points_balances.c.member_id, points_balances.c.balance))}
        replay = run_backtest(conn, parse_playbook(PLAYBOOK), cid)
        assert {m: f["points"] for m, f in replay.member_fields.items() if f["points"]} == live
        return replay.events, sum(live.values())


def test_killed_receive_leaves_the_ledger_consistent(db_url, tmp_path):
    pb, big = _write(tmp_path)
    engine = open_engine(db_url)  # migrate before the child starts
    cmd = [sys.executable, "-c", "from shequn.cli.app import main; main()", "--db", db_url, "receive", str(pb), str(big)]
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _stored(engine) < 150:
        assert child.poll() is None, f"receive ended early: {child.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "receive did not store 150 events in 120 s"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    stored, _ = _assert_consistent(engine)
    assert 150 <= stored < N, "the kill must land mid-batch"
    # finish the job: already stored events are skipped, nothing is paid twice
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    stored, total = _assert_consistent(engine)
    assert stored == N and total > 0
    engine.dispose()
