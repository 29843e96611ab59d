"""Tiered groups (阶梯群): joining needs a level, points or a tag; everyone else is turned away at once."""

from __future__ import annotations

from shequn.points import MODULE, member_key
from shequn.points.ledger import MemoryLedger

PLAYBOOK = """gates:
  tiered:
    - group: 进阶群
      min_level: 2
      min_points: 100
      reply: "{name}：{reason}"
    - group: 会员群
      tags: [会员, 年卡]
"""


def test_level_and_points_from_the_points_standing(make_run):
    run = make_run(PLAYBOOK)
    run.ctx.ledger = MemoryLedger()
    run.state.set(MODULE, member_key(1), {"lv": 1, "ln": "新手"})
    out = run.send(None, kind="join", group="进阶群", member=1, name="Lee")
    assert [a.kind.value for a in out] == ["reply", "kick"]
    assert out[1].reason == "进阶群 requires level 2 (member is level 1 新手) and 100 points (member has 0)"
    assert out[0].payload["text"] == "Lee：" + out[1].reason
    run.state.set(MODULE, member_key(2), {"lv": 3, "ln": "达人"})
    run.ctx.ledger.post(member_id=2, amount=150, rule="test", reason="seed", key="seed-2", at_ms=run.now)
    assert run.send(None, kind="join", group="进阶群", member=2) == []
    assert run.summary()[2]["gates"] == {"tiered": "passed"}


def test_a_tag_opens_the_group(make_run):
    run = make_run(PLAYBOOK)
    run.people.add_tag(3, "年卡", "operator")
    assert run.send(None, kind="join", group="会员群", member=3) == []
    [kick] = run.send(None, kind="join", group="会员群", member=4)
    assert kick.reason == "会员群 requires one of the tags 会员, 年卡"
    assert run.send(None, kind="join", group="闲聊群", member=4) == []
    assert run.summary()[4]["gates"] == {"tiered": "failed: 会员群 requires one of the tags 会员, 年卡"}


def test_points_earned_in_the_same_replay_open_the_tier(make_run):
    from modules.conftest import MIN

    run = make_run(
        "points:\n  message: {award: 10, cooldown: 60s, daily_cap: 100, min_length: 2, duplicate_window: 5}\n"
        "gates:\n  tiered:\n    - {group: VIP, min_points: 30}\n"
    )
    run.ctx.ledger = MemoryLedger()  # what the backtest gives the points module
    for i in range(3):
        run.later(2 * MIN).send(f"hello number {i}", group="chat")
    assert run.send(None, kind="join", group="VIP") == []
    [kick] = run.send(None, kind="join", group="VIP", member=2)
    assert kick.reason == "VIP requires 30 points (member has 0)"
