"""The escalation ladder: warnings add up within windows, the harshest step reached fires, old ones expire."""

from __future__ import annotations

from modules.conftest import DAY, HOUR, kinds

PLAYBOOK = """rules:
  rules:
    - name: no-ads
      when: {keywords: [广告]}
      do: [delete, warn]
  escalation:
    expire_after: 30d
    ladder:
      - warnings: 3
        within: 7d
        do: [{mute: 1d}]
      - warnings: 5
        within: 30d
        do: [kick, notify_admins]
"""


def test_three_warnings_in_a_week_mute_and_five_in_a_month_kick(make_run):
    run = make_run(PLAYBOOK)
    assert kinds(run.send("广告")) == ["delete", "warn"]
    assert kinds(run.later(DAY).send("广告")) == ["delete", "warn"]
    third = run.later(DAY).send("广告")
    assert kinds(third) == ["delete", "warn", "mute"]
    mute = third[-1]
    assert mute.rule == "escalation"
    assert mute.reason == "3rd warning in 7 days -> mute 1 day (latest: no-ads: keyword '广告')"
    assert mute.payload["seconds"] == 86_400
    # days 10 and 17: the first warnings left the 7-day window, the ladder counts only those inside it
    assert kinds(run.later(8 * DAY).send("广告")) == ["delete", "warn"]
    fifth = run.later(7 * DAY).send("广告")
    assert kinds(fifth) == ["delete", "warn", "kick", "notify_admins"]
    assert fifth[-2].reason.startswith("5th warning in 30 days -> kick + notify admins")
    summary = run.summary()[1]
    assert summary["rules_broken"] == {"no-ads": 5}
    assert summary["escalations"] == ["3rd warning in 7 days -> mute 1 day", "5th warning in 30 days -> kick + notify admins"]


def test_warnings_expire(make_run):
    run = make_run(PLAYBOOK.replace("expire_after: 30d", "expire_after: 2d"))
    run.send("广告")
    run.later(DAY).send("广告")
    # 3 days later both earlier warnings expired: this is warning 1 again, not the 3rd
    assert kinds(run.later(3 * DAY).send("广告")) == ["delete", "warn"]
    assert kinds(run.later(HOUR).send("广告")) == ["delete", "warn"]
    assert kinds(run.later(HOUR).send("广告")) == ["delete", "warn", "mute"]
    assert run.summary()[1]["active_warnings"] == 3


def test_members_are_counted_separately(make_run):
    run = make_run(PLAYBOOK)
    for m in (1, 2, 3):
        run.send("广告", member=m)
        run.send("广告", member=m)
    assert all("mute" not in kinds(run.send("正常", member=m)) for m in (1, 2, 3))
    assert kinds(run.send("广告", member=2)) == ["delete", "warn", "mute"]


def test_a_ladder_must_climb(make_run):
    import pytest

    from shequn.playbook.errors import PlaybookError

    with pytest.raises(PlaybookError) as err:
        make_run(PLAYBOOK.replace("warnings: 5", "warnings: 2"))
    assert "rules.escalation.ladder: Value error, ladder[1]: steps must need more warnings than the one before (2 <= 3)" in str(err.value)


def test_a_kick_settles_the_warnings(make_run):
    run = make_run(PLAYBOOK.replace("warnings: 5\n        within: 30d", "warnings: 4\n        within: 30d"))
    for _ in range(3):
        run.later(HOUR).send("广告")
    assert kinds(run.later(HOUR).send("广告"))[-2:] == ["kick", "notify_admins"]
    # back after the kick: the ladder starts again instead of kicking on every message
    assert kinds(run.later(HOUR).send("广告")) == ["delete", "warn"]
    assert run.summary()[1]["active_warnings"] == 1
