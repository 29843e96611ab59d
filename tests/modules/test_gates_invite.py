"""Invite-only gate: a code in the join (payload invite_code) or a first message, with uses and expiry."""

from __future__ import annotations

from modules.conftest import DAY, MIN, T0

PLAYBOOK = """gates:
  invite:
    groups: [VIP]
    within: 10m
    codes:
      - {code: SPRING24, max_uses: 2}
      - {code: OLD-CODE, expires: 2024-04-30}
"""


def test_codes_in_the_join_or_a_message_with_limited_uses(make_run):
    run = make_run(PLAYBOOK)
    assert run.send(None, kind="join", group="VIP", member=1, payload={"invite_code": "spring24"}) == []
    run.send(None, kind="join", group="VIP", member=2)
    assert run.later(MIN).send("我的邀请码 ＳＰＲＩＮＧ２４", group="VIP", member=2) == []  # full-width, any case
    run.send(None, kind="join", group="VIP", member=3, payload={"invite_code": "SPRING24"})
    [kick] = run.later(MIN).send("SPRING24", group="VIP", member=3)
    assert kick.kind.value == "kick" and kick.reason == "invite code SPRING24 is used up (2 uses)"
    assert run.tick(run.now + DAY) == []
    assert run.summary()[1]["gates"] == {"invite": "passed: code SPRING24"}


def test_expired_missing_and_late_codes(make_run):
    run = make_run(PLAYBOOK)
    assert run.at(T0).send(None, kind="join", group="VIP", member=4, payload={"invite_code": "OLD-CODE"}) == []
    [kick] = run.later(MIN).send("OLD-CODE", group="VIP", member=4)
    assert kick.reason == "invite code OLD-CODE expired on 2024-04-30"
    run.send(None, kind="join", group="VIP", member=5)
    run.later(MIN).send("我没有邀请码", group="VIP", member=5)
    [late] = run.tick(run.now + 10 * MIN)
    assert late.member_id == 5 and late.reason == "did not post a valid invite code within 10 minutes"


def test_without_a_window_the_join_must_carry_the_code(make_run):
    run = make_run(PLAYBOOK.replace("    within: 10m\n", ""))
    [kick] = run.send(None, kind="join", group="VIP", member=6)
    assert kick.kind.value == "kick" and kick.reason == "joined without an invite code"
    [bad] = run.send(None, kind="join", group="VIP", member=7, payload={"invite_code": "guess"})
    assert bad.reason == "invite code 'guess' is not valid"
    assert run.send(None, kind="join", group="public", member=8) == []
