"""What an operator teaches the detector (`shequn moderation learn`) changes what playbook rules do.

A restaurant ad the shipped model calls ham is marked as spam; afterwards a rule on ``spam_score`` fires on
a variant of it in ``shequn backtest`` and live, and still leaves ordinary talk alone.
"""

from __future__ import annotations

import json

from shequn.moderation.detector import Detector

MARKED = [
    "楼下新开的火锅店今天五折，报我名字再送一盘毛肚",
    "楼下新开的火锅店今天五折，报我名字再送一份毛肚",
    "楼下新开的火锅店本周五折，报我名字再送一盘毛肚",
]
VARIANT = "楼下新开的火锅店今天五折，报我名字再送一盘肥牛"  # never marked: caught because it resembles what was
ORDINARY = "今天的作业我交了，老师辛苦了"

PLAYBOOK = """community: 开源学习营
timezone: Asia/Shanghai
rules:
  spam:
    allow_domains: [python.org]
  rules:
    - name: 疑似广告
      reason: 疑似广告 / looks like an ad
      when: {spam_score: 0.7}
      do: [delete, warn]
"""


def _history(tmp_path):
    lines = [
        {"id": "e1", "at": "2024-05-06T10:00:00+08:00", "group": "闲聊群", "kind": "message", "platform": "wechat", "member": "老王", "text": VARIANT},
        {"id": "e2", "at": "2024-05-06T10:05:00+08:00", "group": "闲聊群", "kind": "message", "platform": "wechat", "member": "小李", "text": ORDINARY},
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    return path


def test_a_learned_spam_phrase_makes_a_spam_score_rule_fire_in_backtest(cli, tmp_path):
    assert Detector.default().check(VARIANT).score < 0.7  # the shipped model alone lets it through
    cli("import", "jsonl", str(_history(tmp_path)), "--community", "开源学习营")
    pb = tmp_path / "pb.yaml"
    pb.write_text(PLAYBOOK, encoding="utf-8")

    before = cli.json("backtest", str(pb), "--json")
    assert before["events"] == 2 and before["members"] == [] and all(r["fired"] == 0 for r in before["rules"] if r["rule"] == "疑似广告")

    marked = tmp_path / "spam.txt"
    marked.write_text("\n".join(MARKED) + "\n", encoding="utf-8")
    cli("moderation", "learn", "--spam", str(marked), "--folds", "0")

    after = cli.json("backtest", str(pb), "--json")
    [member] = after["members"]
    assert member["name"] == "老王" and member["warnings"] == 1 and member["actions"] == {"delete": 1, "warn": 1}
    [why] = {r["reason"] for r in member["reasons"]}
    assert why.startswith("疑似广告 / looks like an ad: spam score ") and "similarity" in why, why

    # the shipped model is what `--shipped` checks with: the backtest's verdict really came from the learned one
    shipped = json.loads(cli("moderation", "check", "--shipped", "-", input=VARIANT + "\n").stdout)
    learned = json.loads(cli("moderation", "check", "-", input=VARIANT + "\n").stdout)
    assert shipped["score"] < 0.7 <= learned["score"]
    assert f"spam score {learned['score']:.2f}" in why


def test_live_rules_use_the_learned_model(engine, tmp_path):
    from datetime import datetime, timedelta, timezone

    from shequn.domain.events import Author, Event, EventKind, GroupRef
    from shequn.engine.live import LiveIngest
    from shequn.moderation.learning import add_samples, retrain
    from shequn.playbook.loader import parse_playbook

    pb = parse_playbook(PLAYBOOK, "pb.yaml")
    group = GroupRef("wechat", "闲聊群", "闲聊群")
    t0 = datetime(2024, 5, 6, 2, tzinfo=timezone.utc)

    def say(i: int, who: str, text: str) -> Event:
        return Event(group, f"m{i}", EventKind.MESSAGE, t0 + timedelta(minutes=i), Author(who, who), text=text)

    first = LiveIngest(engine, pb).receive([say(1, "老王", VARIANT)])
    assert first.actions == []
    with engine.begin() as conn:
        add_samples(conn, MARKED, spam=True, source="test")
        retrain(conn, folds=0)
    # a new run (a restarted live process) loads the newly learned model
    live = LiveIngest(engine, pb)
    out = live.receive([say(2, "老王", VARIANT), say(3, "小李", ORDINARY)])
    assert [(a.kind.value, a.rule) for a in out.actions] == [("delete", "疑似广告"), ("warn", "疑似广告")]
    assert "similarity" in out.actions[0].reason
