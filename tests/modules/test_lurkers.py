"""Lurker policy: silent N days -> reminder -> removal after M more days; speaking up resets; exemptions."""

from __future__ import annotations

from modules.conftest import DAY, HOUR, MIN, T0

PLAYBOOK = """lurkers:
  remind_after: 14d
  remove_after: 7d
  grace: 30d
  check_at: "10:00"
  exempt: {roles: [admin], tags: [VIP]}
  reminder: "{name}，{days} 天内不发言将被移出 {group}"
"""


def day(n: int, hour: int = 0) -> int:
    return T0 + n * DAY + hour * HOUR  # T0 is 10:00 Asia/Shanghai


def test_reminder_then_removal_explained(make_run):
    run = make_run(PLAYBOOK.replace("  grace: 30d\n", ""))
    run.send("hello", member=1, name="潜水员")
    run.send("hello", member=2)
    assert run.tick(day(13, 1)) == []  # day 13: silent 13 days
    run.at(day(13, 2)).send("still here", member=2)
    [remind] = run.tick(day(14, 1))  # the daily sweep (10:00 local, due) on day 14
    assert remind.kind.value == "reply" and remind.member_id == 1 and remind.rule == "lurkers"
    assert remind.payload["text"] == "潜水员，7 天内不发言将被移出 g1"
    assert remind.reason == "no message for 14 days (reminder after 14 days)"
    assert run.tick(day(20, 1)) == []  # 6 days after the reminder
    [kick] = run.tick(day(21, 1))
    assert kick.kind.value == "kick" and kick.member_id == 1
    assert kick.reason == "no message in 7 days after the lurker reminder (silent since 14 days before it)"
    assert run.summary()[1] == {"lurker": "removed: " + kick.reason}
    assert [(a.member_id, a.kind.value) for a in run.tick(day(60, 1))] == [(2, "reply")]  # 1 is gone; 2 went quiet on day 13


def test_speaking_after_the_reminder_resets(make_run):
    run = make_run(PLAYBOOK.replace("  grace: 30d\n", ""))
    run.send("hi", member=1)
    assert len(run.tick(day(14, 1))) == 1
    run.at(day(16)).send("我还在", member=1)
    assert run.tick(day(25, 1)) == []
    assert len(run.tick(day(30, 1))) == 1  # 14 days after speaking up: a fresh reminder


def test_exempt_roles_tags_and_new_members_grace(make_run):
    run = make_run(PLAYBOOK)
    run.people.set_role(1, "admin")
    run.people.add_tag(2, "VIP", "operator")
    run.send(None, kind="join", member=3)
    for m in (1, 2, 3):
        run.later(MIN).send("hi", member=m)
    assert run.tick(day(20, 1)) == []  # member 3 joined 20 days ago: inside the 30-day grace
    out = run.tick(day(31, 1))
    assert [a.member_id for a in out] == [3]


def test_leaving_and_other_groups(make_run):
    run = make_run(PLAYBOOK.replace("  grace: 30d\n", "  groups: [大群]\n"))
    run.send("hi", member=1, group="大群")
    run.send("hi", member=2, group="小群")
    run.later(HOUR).send(None, kind="leave", member=1, group="大群")
    assert run.tick(day(40, 1)) == []
