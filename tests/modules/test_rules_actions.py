"""Each rule action: what it asks the platform to do, with the rule and a reason a member can read."""

from __future__ import annotations

from shequn.domain.actions import ActionKind

from modules.conftest import kinds

PLAYBOOK = """rules:
  rules:
    - name: 禁止广告
      reason: 本群禁止发广告
      when: {keywords: [广告]}
      do:
        - delete
        - warn
        - mute: 10m
        - kick
        - ban
        - notify_admins
        - reply: "{name}，{group} 禁止广告（{rule}）：{reason}"
        - tag: 广告嫌疑
"""


def test_every_action_kind_with_rule_reason_and_payload(make_run):
    run = make_run(PLAYBOOK)
    out = run.send("广告", name="小明", member=7)
    assert kinds(out) == ["delete", "warn", "mute", "kick", "ban", "notify_admins", "reply", "tag"]
    assert {a.rule for a in out} == {"禁止广告"}
    assert {a.reason for a in out} == {"本群禁止发广告: keyword '广告'"}
    assert all(a.member_id == 7 and a.group_id == run.group_id("g1") and a.event_id == 1 for a in out)
    by = {a.kind: a.payload for a in out}
    assert by[ActionKind.DELETE] == {"message": "m1"}
    assert by[ActionKind.WARN]["text"] == "小明，请遵守群规 / please follow the group rules: 本群禁止发广告: keyword '广告'"
    assert by[ActionKind.MUTE] == {"seconds": 600, "duration": "10 minutes"}
    assert by[ActionKind.NOTIFY_ADMINS]["text"] == "小明 in g1: 禁止广告: 本群禁止发广告: keyword '广告'"
    assert by[ActionKind.REPLY]["text"] == "小明，g1 禁止广告（禁止广告）：本群禁止发广告: keyword '广告'"
    assert by[ActionKind.TAG] == {"tag": "广告嫌疑"}
    assert run.people.tags(7) == {"广告嫌疑"}  # the tag is stored (here in the backtest overlay)
    assert run.people.added == {7: {"广告嫌疑": "rule:禁止广告"}}


def test_custom_warning_text_and_admin_note(make_run):
    run = make_run("rules:\n  rules:\n    - name: r\n      when: {shorter_than: 3}\n      do:\n        - warn: '{name} 请不要刷屏'\n        - notify_admins: '看看 {name}'\n")
    out = run.send("嗯", name="阿强")
    assert [a.payload["text"] for a in out] == ["阿强 请不要刷屏", "看看 阿强"]


def test_the_first_rule_that_fires_stops_the_rest_unless_stop_false(make_run):
    run = make_run(
        "rules:\n  rules:\n"
        "    - {name: a, when: {shorter_than: 5}, do: [delete], stop: false}\n"
        "    - {name: b, when: {shorter_than: 5}, do: [warn]}\n"
        "    - {name: c, when: {shorter_than: 5}, do: [kick]}\n"
    )
    assert [(a.rule, a.kind.value) for a in run.send("hi")] == [("a", "delete"), ("b", "warn")]


def test_non_messages_and_authorless_events_are_not_judged(make_run):
    run = make_run("rules:\n  rules:\n    - {name: r, when: {shorter_than: 5}, do: [delete]}\n")
    assert run.send(None, kind="join") == []
    assert run.send("x", kind="emote")  # /me actions are messages too
    assert run.send("hi", kind="reaction") == []
