"""Paid gate: an order event by the member before joining or within the time limit after."""

from __future__ import annotations

from modules.conftest import DAY, HOUR

PLAYBOOK = """gates:
  paid:
    groups: [会员群]
    within: 1d
    products: [年卡]
    min_amount: 99
    on_fail: [{reply: "{name}，未查到订单，已移出"}, kick]
"""


def test_orders_before_or_after_joining(make_run):
    run = make_run(PLAYBOOK)
    run.send(None, kind="order", group="商城", member=1, payload={"product": "年卡", "amount": 199})
    assert run.later(HOUR).send(None, kind="join", group="会员群", member=1) == []
    run.send(None, kind="join", group="会员群", member=2)
    run.later(HOUR).send(None, kind="order", group="商城", member=2, payload={"product": "年卡", "amount": "99"})
    assert run.tick(run.now + 2 * DAY) == []
    assert run.summary()[1]["gates"] == {"paid": "passed: ordered before joining"}
    assert run.summary()[2]["gates"] == {"paid": "passed: order m4 (年卡)"}


def test_no_or_wrong_order_in_time_removes(make_run):
    run = make_run(PLAYBOOK)
    run.send(None, kind="join", group="会员群", member=3, name="Kim")
    run.later(HOUR).send(None, kind="order", member=3, payload={"product": "月卡", "amount": 500})
    run.later(HOUR).send(None, kind="order", member=3, payload={"product": "年卡", "amount": 9})
    out = run.tick(run.now + DAY)
    assert [(a.kind.value, a.reason) for a in out] == [("reply", "no order within 1 day of joining"), ("kick", "no order within 1 day of joining")]
    assert out[0].payload["text"] == "Kim，未查到订单，已移出"
